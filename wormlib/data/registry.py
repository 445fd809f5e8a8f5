"""Every data file the book reads: where it is published, pinned in code (issue 49).

A GitHub file is pinned by repository, commit and path, with its SHA-256 and size; an OSF file
by project and file id (or name), with its SHA-256 where one is known. These pins are the
trusted record: a ``SHA256SUMS`` beside the files is derived from them
(:func:`wormlib.data.download.write_sha256sums`), never trusted over them. The three GitHub
commits were checked byte for byte against the team's copy (issue 49's table).
"""

from __future__ import annotations

from dataclasses import dataclass

GITHUB_RAW = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"
OSF_API = "https://api.osf.io/v2"


@dataclass(frozen=True)
class Source:
    """A public repository at one commit, and the study it holds files of."""

    repository: str
    commit: str
    licence: str

    def url(self, path: str) -> str:
        return GITHUB_RAW.format(repository=self.repository, commit=self.commit, path=path)


NC_MCM = Source("moritzgw/nc-mcm", "429cfce5dfc7757210c09d64e10cb6e10be3f6e1", "GPL-3.0")
NC_MCM_VISUALIZER = Source("DriftKing1998/NC-MCM-Visualizer", "e5ae18ddfd174bccb156f16e1c9332499432a2f2", "MIT")
"""The Kato labels exist at this commit only: later commits deleted ``data/csv/``."""
FLAVELL = Source("flavell-lab/NSM_5HTR_analysis", "47bc3704c13b389d58946e3e76df359c412b8716",
                 "see the repository")


@dataclass(frozen=True)
class RemoteFile:
    """One published file.

    ``url``: the direct download of a GitHub file (None for OSF files, whose download link the
    OSF API gives: :func:`wormlib.data.download.osf_file`). ``osf``: (project, file id or None).
    ``sha256``/``size``: pinned, or None where no pin exists (the OSF API's hash is used then).
    ``optional``: the book runs without it (its sections say so).
    """

    study: str
    name: str
    sha256: str | None
    size: int | None
    url: str | None = None
    osf: tuple[str, str | None] | None = None
    optional: bool = False

    @property
    def where(self) -> str:
        """The file's public address, for messages and the 'Get the data' page."""
        if self.url:
            return self.url
        project, file_id = self.osf
        return f"https://osf.io/download/{file_id}/" if file_id else f"https://osf.io/{project}/ (file {self.name})"


def _github(study: str, source: Source, folder: str, pins: dict[str, tuple[int, str]]) -> list[RemoteFile]:
    return [RemoteFile(study, name, sha, size, url=source.url(f"{folder}/{name}"))
            for name, (size, sha) in pins.items()]


_KATO_TRACES = {
    "raw_full_data_worm_1.npz": (2735728, "703069cd0de1dc4a9d49775947c870d4ea0e0e52b51d750379dade552ce960e7"),
    "raw_full_data_worm_2.npz": (3384984, "01c3888d0f6ef11ffb84005601d1bc1c904472baa11176d240bad878672820c7"),
    "raw_full_data_worm_3.npz": (3206096, "8c8f69e8f5a23ea9428960cd7d5fd02f011f3786fa0fe401c2acc79721cf954f"),
    "raw_full_data_worm_4.npz": (3311264, "05091c33611d01a2c2f2f5622eaa604c257c5cf5fb507ec49c6115dfd8043dcb"),
    "raw_full_data_worm_5.npz": (3117936, "30cf8a68c0eccaf64306b19ff78b8744eee9977af8eb406b67f2c27798f40d74"),
}
_KATO_LABELS = {
    "worm_0_neurons.csv": (406, "087bcef73430360bf19d2ab9d51444969d885b71fa20a98f1b071cb03d850456"),
    "worm_0_states.csv": (40, "6c2329bfd75bdeeb3ecdde625915e09ed701b7129bc9c31641c5a32ed001c77f"),
    "worm_0_y.csv": (6274, "01c2efca6c6698eb79e4988591240cd371b63e4ad63696a92315df288896db00"),
    "worm_1_neurons.csv": (515, "a9853c9d8ba6222fd918cae6da86b7fab2c9429fb6e81e65563f09d13fd288c8"),
    "worm_1_y.csv": (6268, "29931d947edf6604fae420bc571760daeb41d45b6accc79242ee3912cb6660df"),
    "worm_2_neurons.csv": (475, "e7c1e0c66abc45d63092fae9a9da42f91be13b2f03479e822f3a740df9a0886a"),
    "worm_2_y.csv": (6118, "cfd05bed5740f12c5f09b509bf9ee4782327184d42c64dc940e61addcf2cd179"),
    "worm_3_neurons.csv": (484, "714046cc795d77a87fd9e5d8647c58ce39c97fec6f94b2560bd23442b45ad7b2"),
    "worm_3_y.csv": (6622, "d408df8f4f48ff4765129215171666c11b0f23eadf86cfb0f40219d36b96c292"),
    "worm_4_neurons.csv": (465, "2d6116d3a32cad631d4d9483a76c2146065c0eae01c6c55015c20a193b419148"),
    "worm_4_y.csv": (6042, "cdf959765eac033ad2a7683af8c273c12c710ae7a64cc125b21cb8fe5a8f832b"),
}
_DAG_RECORDINGS = {
    "2022-07-26-31-data.h5": (3922184, "91ad390c64909aaab9626cac4068395eab771c7e749d291880f1797d6c8cf339"),
    "2022-07-26-38-data.h5": (3862200, "7c79e42330a697d189cacf50c58586511d6653f3cd2032d4cf56a2417f06c5bf"),
    "2022-07-27-31-data.h5": (3905144, "308767b4a97af1339426d3a37facab6ee98fdbb44f11781c74819c6caaa913e4"),
    "2022-07-27-38-data.h5": (3695720, "7c52ac34984b36ad59e5624ddfd472a171b025729337ef18bfe0628efa2022e0"),
    "2022-07-27-45-data.h5": (3727080, "ff1b886b43e4ad09b9c01e122a7bfeffeb525965dd3d84221757d93c6d153be8"),
    "2022-08-02-31-data.h5": (3567752, "99cfd0e6ba506c3635a28c3402ebbfd191ef219db8005250d5f2e6fdadbf981b"),
    "2022-08-02-38-data.h5": (3671776, "9f21ff94da259d8938b13cdcd6f8714a28b6d70345797ddaeab4b0fb71c6d601"),
}
_DAG_LABELS = {
    "NeuroPAL_labels_dict.jld2": (2092963, "0c626a299f2110aecaf1eacdff4d5ebbf1f03689cacc5faa6f077ce0542f9286"),
}

REGISTRY: dict[tuple[str, str], RemoteFile] = {
    (f.study, f.name): f
    for f in [
        *_github("kato2015", NC_MCM, "precomputed_results", _KATO_TRACES),
        *_github("kato2015", NC_MCM_VISUALIZER, "data/csv", _KATO_LABELS),
        *_github("dag2023", FLAVELL, "data/swf702_with_id", _DAG_RECORDINGS),
        *_github("dag2023", FLAVELL, "data/receptor_expression", _DAG_LABELS),
        # Kato's official file: hash from OSF_LAYOUTS §2.1; its OSF file id is not published in
        # any code we found, so the resolver finds it by name in the project.
        RemoteFile("kato2015", "WT_NoStim.mat", "7531811c1718e26a0455f59cb2f8188cf25809278cfea85770dfe03315a0098a",
                   None, osf=("2395t", None), optional=True),
        # Nichols et al. 2017: no pin; the OSF API's SHA-256 is the reference (issue 49).
        RemoteFile("nichols2017", "n2_prelet.mat", None, None, osf=("kbf38", "5d24867945253a001939ac2c"), optional=True),
        RemoteFile("nichols2017", "npr1_prelet.mat", None, None, osf=("kbf38", "5d24866f1c5b4a001b9bde6e"), optional=True),
        RemoteFile("nichols2017", "n2_let.mat", None, None, osf=("kbf38", "5d248679a26b340016064333"), optional=True),
        RemoteFile("nichols2017", "npr1_let.mat", None, None, osf=("kbf38", "5d248670114a420019020fd1"), optional=True),
    ]
}

BOOK_FILES: dict[str, tuple[str, ...]] = {
    "kato2015": (*_KATO_TRACES, *_KATO_LABELS),
    "dag2023": (*_DAG_RECORDINGS, *_DAG_LABELS),
    "nichols2017": ("n2_prelet.mat", "npr1_prelet.mat"),
    "kato2015-official": ("WT_NoStim.mat",),
}
"""What ``python -m wormlib.data`` fetches, by name: the files the book reads. The first two are
required (every chapter); the Nichols pre-lethargus files (the paper's 21 worms, Section 4.1) and
Kato's official MAT file are optional: the sections that read them say when they are absent."""
REQUIRED = ("kato2015", "dag2023")

PINNED_SHA256: dict[tuple[str, str], str] = {key: f.sha256 for key, f in REGISTRY.items() if f.sha256}
"""(study, file) → SHA-256 pinned in code: trusted over any SHA256SUMS file."""


def book_files(name: str) -> list[RemoteFile]:
    """The registry files of one entry of :data:`BOOK_FILES`."""
    if name not in BOOK_FILES:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(BOOK_FILES)}")
    study = name.removesuffix("-official")
    return [REGISTRY[(study, n)] for n in BOOK_FILES[name]]

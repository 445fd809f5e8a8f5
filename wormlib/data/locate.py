"""Where the data live: one setting, checksums, and downloads (pooch).

The setting is the environment variable ``WORMLIB_DATA``: one directory, or several separated
by ``os.pathsep`` (``:`` on Linux), searched in order. Unset, wormlib searches
``<repository>/../shared/data`` and ``<cwd>/../shared/data`` (the team's read-only copy) and
then ``<repository>/data`` (where downloads go). Each dataset lives in a sub-folder named after
its study: ``kato2015/``, ``nichols2017/``, ``dag2023/``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumError, DataNotFoundError

ENV_VAR = "WORMLIB_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dirs() -> list[Path]:
    """The data directories, in search order (``WORMLIB_DATA`` first when it is set)."""
    setting = os.environ.get(ENV_VAR, "").strip()
    if setting:
        return [Path(p).expanduser().resolve() for p in setting.split(os.pathsep) if p]
    candidates = [REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
                  REPO_ROOT / "data"]
    unique: list[Path] = []
    for c in candidates:
        c = c.resolve()
        if c not in unique:
            unique.append(c)
    return unique


def study_dir(study: str) -> Path:
    """The first data directory that has a folder for ``study``.

    Raises DataNotFoundError, listing where it looked and how to point wormlib at the data.
    """
    searched = data_dirs()
    for d in searched:
        if (d / study).is_dir():
            return d / study
    raise DataNotFoundError(
        f"No '{study}' data folder in any of: {', '.join(map(str, searched))}. "
        f"Set {ENV_VAR} to the directory that holds '{study}/' "
        f"(e.g. export {ENV_VAR}=/path/to/shared/data), or download it with "
        f"wormlib.data.fetch('{study}', ...) where the study can be downloaded."
    )


def download_dir() -> Path:
    """Where downloads go: the first writable data directory (created if needed)."""
    for d in data_dirs():
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(d, os.W_OK):
            return d
    raise DataNotFoundError(
        f"None of the data directories is writable ({', '.join(map(str, data_dirs()))}); "
        f"add a writable one to {ENV_VAR}."
    )


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ChecksumError when ``path``'s SHA-256 is not ``expected``."""
    actual = sha256(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{path}: SHA-256 is {actual}, expected {expected}. The file is damaged or a "
            "different version: delete it and download it again."
        )


def verify_sha256sums(folder: Path, names: list[str] | None = None) -> None:
    """Check files against the folder's ``SHA256SUMS`` (``sha256sum`` format), when it exists.

    Only the files listed in ``names`` are checked (all listed files when ``names`` is None).
    """
    sums = folder / "SHA256SUMS"
    if not sums.exists():
        return
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        name = name.lstrip("*")
        if names is None or name in names:
            path = folder / name
            if not path.exists():
                raise DataNotFoundError(f"{path} is listed in {sums} but missing: copy it again.")
            verify_sha256(path, digest)


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else DataNotFoundError saying what the file is."""
    if not path.is_file():
        raise DataNotFoundError(f"Missing {what}: {path}. Check {ENV_VAR} (now: {data_dirs()}).")
    return path


# --------------------------------------------------------------------------------------------
# Downloads (OSF). The book build never downloads: call fetch() yourself, once.
# --------------------------------------------------------------------------------------------

OSF_FILE_URL = "https://files.de-1.osf.io/v1/resources/{project}/providers/osfstorage/{file_id}"


@dataclass(frozen=True)
class RemoteFile:
    """A file of the registry: where it lives on OSF and its SHA-256 when known."""

    study: str
    name: str
    project: str
    file_id: str | None
    sha256: str | None
    size_mb: float | None = None

    @property
    def url(self) -> str | None:
        if self.file_id is None:
            return None
        return OSF_FILE_URL.format(project=self.project, file_id=self.file_id)


# Ids and hashes from ../shared/data/OSF_LAYOUTS.md (§2.1, §3.1). Nichols hashes are not
# published anywhere we could find: pooch then downloads without checking, and says so.
REGISTRY: dict[tuple[str, str], RemoteFile] = {
    (f.study, f.name): f
    for f in [
        RemoteFile("kato2015", "WT_NoStim.mat", "2395t", None,
                   "7531811c1718e26a0455f59cb2f8188cf25809278cfea85770dfe03315a0098a", 56),
        RemoteFile("nichols2017", "n2_prelet.mat", "kbf38", "5d24867945253a001939ac2c", None),
        RemoteFile("nichols2017", "n2_let.mat", "kbf38", "5d248679a26b340016064333", None),
        RemoteFile("nichols2017", "npr1_prelet.mat", "kbf38", "5d24866f1c5b4a001b9bde6e", None),
        RemoteFile("nichols2017", "npr1_let.mat", "kbf38", "5d248670114a420019020fd1", None),
        RemoteFile("nichols2017", "readme_Nichols2017.txt", "kbf38", "5d24879645253a001b3994a8", None),
    ]
}


def local_path(study: str, name: str) -> Path:
    """Path of a registry file if some data directory has it (hash verified when known)."""
    remote = REGISTRY[(study, name)]
    for d in data_dirs():
        path = d / study / name
        if path.is_file():
            if remote.sha256:
                verify_sha256(path, remote.sha256)
            return path
    hint = (f"run wormlib.data.fetch('{study}', '{name}')" if remote.url else
            f"download it by hand from https://osf.io/{remote.project}/ (no direct URL is "
            f"published)")
    raise DataNotFoundError(
        f"{study}/{name} is not in any data directory ({', '.join(map(str, data_dirs()))}): "
        f"{hint} and place it in <data dir>/{study}/."
    )


def fetch(study: str, name: str) -> Path:
    """Download a registry file into the first writable data directory (pooch, hash-checked)."""
    import pooch

    try:
        return local_path(study, name)
    except DataNotFoundError:
        pass
    remote = REGISTRY[(study, name)]
    if remote.url is None:
        raise DataNotFoundError(
            f"{study}/{name} has no published download URL: download it by hand from "
            f"https://osf.io/{remote.project}/ into <data dir>/{study}/ (its SHA-256 "
            f"{remote.sha256} is checked on load)."
        )
    known_hash = f"sha256:{remote.sha256}" if remote.sha256 else None
    target = download_dir() / study
    return Path(pooch.retrieve(remote.url, known_hash=known_hash, fname=name, path=target,
                               progressbar=True))

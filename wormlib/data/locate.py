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
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumError, CorruptFileError, DataNotFoundError
from .files import os_error, read_bytes, require_file

ENV_VAR = "WORMLIB_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _resolve(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop: RuntimeError before Python 3.13
        raise DataNotFoundError(
            f"{path}: cannot be resolved ({exc}); a data directory in {ENV_VAR} is a symbolic "
            f"link loop. Point {ENV_VAR} at a real directory.") from exc


def data_dirs() -> list[Path]:
    """The data directories, in search order (``WORMLIB_DATA`` first when it is set)."""
    setting = os.environ.get(ENV_VAR, "").strip()
    if setting:
        return [_resolve(Path(p)) for p in setting.split(os.pathsep) if p]
    candidates = [REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
                  REPO_ROOT / "data"]
    unique: list[Path] = []
    for c in candidates:
        c = _resolve(c)
        if c not in unique:
            unique.append(c)
    return unique


def display_path(path: Path) -> str:
    """``path`` for a page of the book: relative to the repository (or to its parent, for the
    team's ``../shared``), so that no executed page holds a machine's absolute folders."""
    path = Path(path)
    for base, prefix in ((REPO_ROOT, ""), (REPO_ROOT.parent, "../")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def study_dir(study: str) -> Path:
    """The first data directory that has a folder for ``study``.

    Raises DataNotFoundError, listing where it looked and how to point wormlib at the data.
    """
    searched = data_dirs()
    for d in searched:
        try:
            found = (d / study).is_dir()
            if found:
                os.listdir(d / study)
        except OSError as exc:
            raise os_error(exc, d / study, f"'{study}' data folder") from exc
        if found:
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
    require_file(path, "data file")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                digest.update(block)
    except OSError as exc:
        raise os_error(exc, path, "data file") from exc
    return digest.hexdigest()


VERIFIED: dict[str, str] = {}
"""``<study folder>/<file>`` → SHA-256 of every data file this process verified: the data an
experiment's store entry and a page's provenance record (``wormlib.store.data_read``)."""


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ChecksumError when ``path``'s SHA-256 is not ``expected``; record it as read."""
    actual = sha256(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{path}: SHA-256 is {actual}, expected {expected}. The file is damaged or a "
            "different version: delete it and download it again."
        )
    key = f"{Path(path).parent.name}/{Path(path).name}"
    if VERIFIED.get(key) != actual:
        VERIFIED[key] = actual
        from ..store import log_use

        log_use("data", key, actual)


_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *]?(\S.*)$")


def read_sha256sums(folder: Path) -> dict[str, str]:
    """File name → SHA-256 from ``folder/SHA256SUMS`` (``sha256sum`` format).

    Only plain names of files in ``folder`` itself are accepted: a listed path that is absolute
    or contains a separator or ``..`` makes the whole sums file invalid (it is never followed).
    """
    sums = folder / "SHA256SUMS"
    text = read_bytes(sums, "SHA256SUMS checksum list")
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{sums}: not UTF-8 text; regenerate it with "
                               f"`sha256sum * > SHA256SUMS` in {folder}.") from exc
    listed: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line.rstrip("\r"))
        if not match:
            raise CorruptFileError(f"{sums}, line {number}: not '<64 hex digits>  <file name>'; "
                                   "regenerate it with sha256sum.")
        digest, name = match.group(1).lower(), match.group(2)
        if name in (".", "..") or "/" in name or "\\" in name or name != Path(name).name:
            raise CorruptFileError(f"{sums}, line {number}: '{name}' is not a plain file name in "
                                   f"{folder}; a sums file may only list files beside it.")
        if listed.get(name, digest) != digest:
            raise CorruptFileError(f"{sums}: '{name}' is listed twice with different hashes.")
        listed[name] = digest
    return listed


def verify_sha256sums(folder: Path, names: list[str]) -> None:
    """Check each of ``names`` (files in ``folder``) against a trusted SHA-256.

    The trusted hash is the one pinned in code (:data:`PINNED_SHA256`) or, else, the folder's
    ``SHA256SUMS``. A file with no trusted hash, a folder without ``SHA256SUMS`` (when some file
    needs it) and a mismatch are all ``ChecksumError``: ``verify=True`` never skips a file.
    """
    study = folder.name
    for name in names:
        require_file(folder / name, f"{study} data file")
    needs_sums = [n for n in names if (study, n) not in PINNED_SHA256]
    listed = read_sha256sums(folder) if needs_sums and (folder / "SHA256SUMS").exists() else {}
    if needs_sums and not (folder / "SHA256SUMS").exists():
        raise ChecksumError(
            f"{folder} has no SHA256SUMS, so {', '.join(needs_sums)} cannot be verified. Copy the "
            "study's SHA256SUMS beside the files, or load with verify=False to skip the check "
            "(your own, unverified data).")
    for name in names:
        expected = PINNED_SHA256.get((study, name)) or listed.get(name)
        if expected is None:
            raise ChecksumError(
                f"{folder / name} is not listed in {folder / 'SHA256SUMS'}, so it cannot be "
                "verified. Add its line (sha256sum) if you trust the file, or load with verify=False.")
        if (study, name) in PINNED_SHA256 and name in listed and listed[name] != expected:
            raise ChecksumError(f"{folder / 'SHA256SUMS'} lists {name} with a hash that differs "
                                "from the one pinned in wormlib: the sums file was edited.")
        verify_sha256(folder / name, expected)


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


# Ids and hashes from ../shared/data/OSF_LAYOUTS.md (§2.1, §3.1). The Nichols files' SHA-256
# values are not published anywhere we could find (OSF_LAYOUTS §3.1): fetch() refuses them until
# the caller passes the hash shown on the file's OSF page (see fetch).
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

PINNED_SHA256: dict[tuple[str, str], str] = {key: f.sha256 for key, f in REGISTRY.items() if f.sha256}
"""(study, file) → SHA-256 pinned in code: trusted over any SHA256SUMS file."""


def local_path(study: str, name: str, verify: bool = True) -> Path:
    """Path of a registry file if some data directory has it.

    ``verify`` checks it against its pinned hash or, for a file without one, against the
    ``SHA256SUMS`` beside it (which :func:`fetch` writes); a file with neither is refused.
    """
    remote = REGISTRY[(study, name)]
    for d in data_dirs():
        path = d / study / name
        try:
            exists = path.exists() or path.is_symlink()
        except OSError as exc:
            raise os_error(exc, path, f"{study} file") from exc
        if exists:
            require_file(path, f"{study} file")
            if verify:
                verify_sha256sums(path.parent, [name])
            return path
    hint = (f"run wormlib.data.fetch('{study}', '{name}'{'' if remote.sha256 else ', sha256=...'})"
            if remote.url else
            f"download it by hand from https://osf.io/{remote.project}/ (no direct URL is published)")
    raise DataNotFoundError(
        f"{study}/{name} is not in any data directory ({', '.join(map(str, data_dirs()))}): "
        f"{hint} and place it in <data dir>/{study}/."
    )


def fetch(study: str, name: str, sha256: str | None = None) -> Path:
    """Download a registry file into the first writable data directory with pooch, verified.

    The expected SHA-256 is the one pinned in :data:`REGISTRY`; for a file without one (the
    Nichols files) pass ``sha256`` yourself, copied from the file's OSF page
    (``https://osf.io/<file id>/``, "Show more" lists its SHA-256). An unverifiable download is
    refused (``ChecksumError``), and so is a download whose hash differs. The hash you pass is
    recorded in the folder's ``SHA256SUMS`` so that later loads verify against it.
    """
    import pooch

    if (study, name) not in REGISTRY:
        raise DataNotFoundError(f"{study}/{name} is not a file wormlib can download; known files: "
                                f"{sorted(f'{s}/{n}' for s, n in REGISTRY)}")
    remote = REGISTRY[(study, name)]
    expected = (remote.sha256 or sha256 or "").lower()
    if remote.sha256 and sha256 and sha256.lower() != remote.sha256:
        raise ChecksumError(f"{study}/{name}: the SHA-256 you passed differs from the one pinned "
                            f"in wormlib ({remote.sha256}).")
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise ChecksumError(
            f"{study}/{name} has no SHA-256 pinned in wormlib, and wormlib does not download "
            f"unverifiable files. Open https://osf.io/{remote.file_id or remote.project}/, copy the "
            f"SHA-256 the page lists, and call fetch('{study}', '{name}', sha256='<64 hex digits>').")
    try:
        return local_path(study, name)
    except DataNotFoundError:
        pass
    if remote.url is None:
        raise DataNotFoundError(
            f"{study}/{name} has no published download URL: download it by hand from "
            f"https://osf.io/{remote.project}/ into <data dir>/{study}/ (its SHA-256 "
            f"{expected} is checked on load)."
        )
    target = download_dir() / study
    try:
        path = Path(pooch.retrieve(remote.url, known_hash=f"sha256:{expected}", fname=name,
                                   path=target, progressbar=True))
    except ValueError as exc:  # pooch's hash mismatch
        raise ChecksumError(f"{study}/{name} downloaded from {remote.url} has a different SHA-256 "
                            f"than {expected}; nothing was kept ({exc}).") from exc
    if not remote.sha256:
        _record_sha256(target, name, expected)
    return path


def _record_sha256(folder: Path, name: str, digest: str) -> None:
    """Add (or replace) ``name``'s line in ``folder/SHA256SUMS``, atomically."""
    from ..atomic import write_text_atomic

    sums = folder / "SHA256SUMS"
    listed = read_sha256sums(folder) if sums.exists() else {}
    listed[name] = digest
    write_text_atomic(sums, "".join(f"{d}  {n}\n" for n, d in sorted(listed.items())))

"""Where the data live: one setting, and the checks against the pinned SHA-256 values.

The setting is the environment variable ``WORMLIB_DATA``: one directory, or several separated
by ``os.pathsep`` (``:`` on Linux), searched in order. Unset, wormlib searches
``<repository>/../shared/data`` and ``<cwd>/../shared/data`` (the team's read-only copy) and
then ``<repository>/data`` (where downloads go: :mod:`.download`). Each dataset lives in a sub-folder named after
its study: ``kato2015/``, ``nichols2017/``, ``dag2023/``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .errors import ChecksumError, CorruptFileError, DataNotFoundError
from .files import os_error, read_bytes, require_file
from .registry import PINNED_SHA256, REGISTRY

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
        f"(e.g. export {ENV_VAR}=/path/to/data), or download it: `make data` "
        f"(python -m wormlib.data {study})."
    )


def download_dir() -> Path:
    """Where downloads go: the first writable directory of ``WORMLIB_DATA`` when it is set (created
    if needed), else ``<repository>/data``; never a folder outside the clone that nobody named."""
    if not os.environ.get(ENV_VAR, "").strip():
        return REPO_ROOT / "data"
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
            "different version: delete it and run `make data` (python -m wormlib.data) again."
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

    The trusted hash is the one pinned in code (:data:`PINNED_SHA256`, every file the book reads
    but the Nichols files) or, else, the folder's ``SHA256SUMS``; a ``SHA256SUMS`` that is present
    is always read, and one that contradicts a pin is refused. A file with no trusted hash, a folder without ``SHA256SUMS`` (when some file
    needs it) and a mismatch are all ``ChecksumError``: ``verify=True`` never skips a file.
    """
    study = folder.name
    for name in names:
        require_file(folder / name, f"{study} data file")
    needs_sums = [n for n in names if (study, n) not in PINNED_SHA256]
    listed = read_sha256sums(folder) if (folder / "SHA256SUMS").exists() else {}
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


def local_path(study: str, name: str, verify: bool = True) -> Path:
    """Path of a registry file if some data directory has it (checked against its pin, or the
    ``SHA256SUMS`` a download wrote beside it, under ``verify``); else DataNotFoundError saying how
    to download it."""
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
    raise DataNotFoundError(
        f"{study}/{name} is not in any data directory ({', '.join(map(str, data_dirs()))}): download it "
        f"with `python -m wormlib.data {study}` (or wormlib.data.fetch('{study}', '{name}')), or by hand "
        f"from {remote.where} into <data dir>/{study}/."
    )


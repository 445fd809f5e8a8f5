"""The one way every loader opens a file.

Operating-system, Unicode, zip and HDF5 failures become the named errors of
:mod:`wormlib.data.errors`, each naming the file and saying what to do; a permission problem is
reported as a permission problem (never as a corrupt file). HDF5 files are refused when they
reach outside themselves (external links, virtual datasets, external raw storage): a file's
checksum must cover every byte that is read from it.
"""

from __future__ import annotations

import errno
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from .errors import (CorruptFileError, DataError, DataNotFoundError, DataPermissionError, LayoutError,
                     UnsafeFileError)


def os_error(exc: OSError, path: Path, what: str) -> DataError:
    """The named error for an OSError met while opening ``path`` (a ``what``)."""
    if isinstance(exc, PermissionError):
        return DataPermissionError(
            f"{path}: permission denied reading this {what}. Make it readable "
            f"(chmod u+r, or check the folder's permissions) and try again.")
    if isinstance(exc, IsADirectoryError):
        return LayoutError(f"{path} is a directory, but a {what} file is expected here: "
                           "remove or rename the directory and put the file in its place.")
    if isinstance(exc, FileNotFoundError):
        return DataNotFoundError(f"Missing {what}: {path}.")
    if exc.errno == errno.ELOOP:
        return DataNotFoundError(f"{path}: symbolic link loop; fix the link to point at the {what}.")
    return CorruptFileError(f"{path}: cannot read this {what} ({exc.strerror or exc}).")


def require_file(path: Path, what: str) -> Path:
    """``path`` if it is a readable file, else a named error saying what the file is."""
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
        if not path.is_file():
            raise DataNotFoundError(
                f"Missing {what}: {path}. Check WORMLIB_DATA, or download the study "
                "(see the book's 'Get the data' page).")
        with open(path, "rb"):
            pass
    except OSError as exc:
        if isinstance(exc, DataError):
            raise
        raise os_error(exc, path, what) from exc
    return path


def read_bytes(path: Path, what: str) -> bytes:
    require_file(path, what)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise os_error(exc, path, what) from exc


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file (a leading byte-order mark is dropped); other encodings are refused."""
    raw = read_bytes(path, what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(
            f"{path}: this {what} is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}). "
            "Re-save it as UTF-8 or copy the original again.") from exc


def read_npz_array(path: Path, key: str, what: str) -> np.ndarray:
    """Array ``key`` of an ``.npz`` archive (no pickles)."""
    require_file(path, what)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise CorruptFileError(f"{path}: a bare .npy array, not an .npz archive ({what}).")
            if key not in archive.files:
                raise LayoutError(f"{path}: no array '{key}' in this {what} (has {archive.files}).")
            return archive[key]
    except OSError as exc:
        raise os_error(exc, path, what) from exc
    except (zipfile.BadZipFile, ValueError, EOFError, TypeError) as exc:
        raise CorruptFileError(
            f"{path}: not a readable .npz {what} ({type(exc).__name__}: {exc}). "
            "Copy the file again.") from exc


def _refuse_outside_references(handle: h5py.File) -> None:
    """UnsafeFileError if any object of ``handle`` lives or points outside the file."""
    path = handle.filename

    def visit(name: str, link) -> str | None:  # a non-None return stops the visit
        if isinstance(link, h5py.ExternalLink):
            return f"'{name}' is an external link to {link.filename}"
        if isinstance(link, h5py.SoftLink):
            return None
        obj = handle.get(name)
        if isinstance(obj, h5py.Dataset) and (obj.is_virtual or obj.external):
            return f"dataset '{name}' is " + ("a virtual dataset" if obj.is_virtual
                                               else "stored in external raw files")
        return None

    problem = handle.visititems_links(visit)
    if problem:
        raise UnsafeFileError(f"{path}: {problem}; refusing data that the file's checksum does "
                              "not cover.")


@contextmanager
def open_hdf5(path: Path, what: str) -> Iterator[h5py.File]:
    """Open an HDF5 file (MATLAB v7.3, JLD2, Dag .h5) read-only, refusing outside references."""
    require_file(path, what)
    try:
        handle = h5py.File(path, "r")
    except PermissionError as exc:
        raise os_error(exc, path, what) from exc
    except OSError as exc:
        raise CorruptFileError(
            f"{path} cannot be opened as HDF5 ({exc}); this {what} is truncated or not the "
            "published file: delete it and copy or download it again.") from exc
    with handle:
        _refuse_outside_references(handle)
        yield handle

"""The errors a loader raises. Each names the file (and the field) and says what to do."""

from __future__ import annotations


class DataError(Exception):
    """Base class of every data problem wormlib reports."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data directory or file is missing."""


class DataPermissionError(DataError, PermissionError):
    """A data directory or file exists but this user may not read it."""


class ChecksumError(DataError):
    """A file's SHA-256 differs from the one recorded for it, or no trusted hash exists for it."""


class CorruptFileError(DataError):
    """A file cannot be opened or parsed (truncated, not HDF5, bad CSV, bad encoding)."""


class LayoutError(DataError):
    """A file opens but does not have the documented layout (missing field, wrong kind)."""


class UnsafeFileError(LayoutError):
    """An HDF5 file points outside itself (external links, virtual datasets, external storage):
    its content is not covered by its own checksum, so it is refused."""


class ShapeMismatchError(DataError):
    """Traces, labels, states or time disagree in length."""


class InvalidValuesError(DataError):
    """A field holds values it must not (NaN, infinite, state codes out of range, wrong dtype)."""


class TaskError(DataError):
    """The recordings cannot support the analysis asked of them: a training set with one class,
    a fold without test frames, a worm without the neurons asked for, a derivative window longer
    than the recording."""

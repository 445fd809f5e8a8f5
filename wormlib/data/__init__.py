"""Recordings in, one :class:`Recording` shape out (issue: the walking skeleton, §2).

Studies: Kato 2015 (:func:`load_kato2015`), Nichols 2017 (:func:`load_nichols2017`),
Dag 2023 (:func:`load_dag2023`), and any lab's recordings in NWB (:func:`load_nwb`). Data are found through ``WORMLIB_DATA`` (see :mod:`.locate`) and
downloaded from their pinned public sources by ``python -m wormlib.data`` (:mod:`.download`,
:mod:`.registry`).
"""

from .dag import load_dag2023
from .errors import (ChecksumError, CorruptFileError, DataError, DataNotFoundError, DataPermissionError,
                     InvalidValuesError, LayoutError, ShapeMismatchError, TaskError, UnsafeFileError)
from .kato import load_kato2015
from .download import DownloadError, fetch
from .locate import data_dirs, display_path, local_path, study_dir
from .nichols import load_nichols2017
from .nwb import load_nwb, read_nwb, write_nwb
from .recording import UNLABELLED, Recording, clean_label
from .registry import PINNED_SHA256, REGISTRY


def load_if_present(loader, *args, **kwargs) -> list[Recording] | None:
    """``loader(*args, **kwargs)``, or None — saying which file is missing and how to get it —
    when the study's files are absent: for the book's sections that run only where their data
    are (e.g. the Nichols evaluation). Corrupt files still raise."""
    try:
        return loader(*args, **kwargs)
    except DataNotFoundError as missing:
        message = str(missing)
        for folder in sorted(data_dirs(), key=lambda d: -len(str(d))):  # no machine paths on a page
            shown = display_path(folder)
            message = message.replace(str(folder), "$WORMLIB_DATA" if shown == str(folder) else shown)
        print(f"Data absent — this section cannot run here.\n{message}")
        return None


__all__ = [
    "Recording", "UNLABELLED", "clean_label", "load_if_present", "load_kato2015", "load_nichols2017", "load_dag2023",
    "fetch", "local_path", "study_dir", "data_dirs", "REGISTRY", "DataError", "DataNotFoundError",
    "ChecksumError", "CorruptFileError", "LayoutError", "ShapeMismatchError", "InvalidValuesError",
    "DataPermissionError", "UnsafeFileError", "PINNED_SHA256", "display_path", "DownloadError", "TaskError", "load_nwb", "read_nwb", "write_nwb",
]

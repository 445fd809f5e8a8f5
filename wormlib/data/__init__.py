"""Recordings in, one :class:`Recording` shape out (issue: the walking skeleton, §2).

Studies: Kato 2015 (:func:`load_kato2015`), Nichols 2017 (:func:`load_nichols2017`),
Dag 2023 (:func:`load_dag2023`). Data are found through ``WORMLIB_DATA`` (see :mod:`.locate`).
"""

from .dag import load_dag2023
from .errors import (ChecksumError, CorruptFileError, DataError, DataNotFoundError, InvalidValuesError,
                     LayoutError, ShapeMismatchError)
from .kato import load_kato2015
from .locate import REGISTRY, data_dirs, fetch, local_path, study_dir
from .nichols import load_nichols2017
from .recording import UNLABELLED, Recording, clean_label

__all__ = [
    "Recording", "UNLABELLED", "clean_label", "load_kato2015", "load_nichols2017", "load_dag2023",
    "fetch", "local_path", "study_dir", "data_dirs", "REGISTRY", "DataError", "DataNotFoundError",
    "ChecksumError", "CorruptFileError", "LayoutError", "ShapeMismatchError", "InvalidValuesError",
]

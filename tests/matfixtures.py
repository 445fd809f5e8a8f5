"""Writers of tiny MATLAB v7.3 files with the exact layout of the OSF files (OSF_LAYOUTS §6):
a 512-byte MAT header, ``#refs#``, a root struct of per-animal cells (object references),
byte-string ``MATLAB_class`` attributes, uint16 chars, uint64 empties, reversed dimensions."""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np

_names = (f"r{i}" for i in itertools.count())


def _cls(obj, name: str) -> None:
    obj.attrs["MATLAB_class"] = np.bytes_(name)


def _fields_attr(group: h5py.Group, fields: list[str]) -> None:
    vlen = h5py.vlen_dtype(np.dtype("S1"))
    names = np.empty(len(fields), dtype=object)
    names[:] = [np.array(list(f), dtype="S1") for f in fields]
    group.attrs.create("MATLAB_fields", names, dtype=vlen)


class MatWriter:
    def __init__(self, handle: h5py.File):
        self.f = handle
        self.refs = handle.create_group("#refs#")
        empty = self.refs.create_dataset("a", data=np.zeros(2, dtype=np.uint64))
        _cls(empty, "canonical empty")
        empty.attrs["MATLAB_empty"] = np.uint8(1)

    def value(self, v):
        """Write ``v`` under #refs# and return its reference. ``v``: None (empty), str (char),
        list (cell), dict (struct), or a numpy array given in MATLAB orientation."""
        name = next(_names)
        if isinstance(v, dict):
            group = self.refs.create_group(name)
            self.fill_struct(group, v)
            return group.ref
        if v is None:
            ds = self.refs.create_dataset(name, data=np.zeros(2, dtype=np.uint64))
            _cls(ds, "double")
            ds.attrs["MATLAB_empty"] = np.uint8(1)
        elif isinstance(v, str):
            ds = self.refs.create_dataset(name, data=np.array([[ord(c)] for c in v], dtype=np.uint16))
            _cls(ds, "char")
            ds.attrs["MATLAB_int_decode"] = np.int32(2)
        elif isinstance(v, list):
            ds = self.cell(self.refs, name, v)
        else:
            arr = np.atleast_2d(np.asarray(v))
            logical = arr.dtype == bool
            ds = self.refs.create_dataset(name, data=arr.T.astype(np.uint8 if logical else np.float64))
            _cls(ds, "logical" if logical else "double")
            if logical:
                ds.attrs["MATLAB_int_decode"] = np.int32(1)
        return ds.ref

    def cell(self, parent: h5py.Group, name: str, items: list):
        refs = [self.value(item) for item in items]
        ds = parent.create_dataset(name, shape=(len(refs), 1), dtype=h5py.ref_dtype)
        for i, r in enumerate(refs):
            ds[i, 0] = r
        _cls(ds, "cell")
        return ds

    def fill_struct(self, group: h5py.Group, fields: dict) -> None:
        _cls(group, "struct")
        _fields_attr(group, list(fields))
        for key, v in fields.items():
            if isinstance(v, dict):
                self.fill_struct(group.create_group(key), v)
            elif isinstance(v, list):
                self.cell(group, key, v)
            else:
                arr = np.atleast_2d(np.asarray(v, dtype=np.float64))
                _cls(group.create_dataset(key, data=arr.T), "double")


def write_mat(path: Path, root: str, fields: dict[str, list]) -> Path:
    """A v7.3 MAT file whose one variable ``root`` is a struct of per-animal cells."""
    with h5py.File(path, "w", userblock_size=512) as handle:
        writer = MatWriter(handle)
        writer.fill_struct(handle.create_group(root), fields)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as fh:
        fh.write(header)
    return path


def kato_fields(recordings, *, column_states: bool = True, logical_states: bool = False,
                zero_frame: int | None = None, nested_last_name: bool = False) -> dict[str, list]:
    """WT_NoStim fields from Recording objects (with the variants of OSF_LAYOUTS §6.2)."""
    from wormlib.data.kato import STATE_NAMES

    fields = {k: [] for k in ("NeuronNames", "deltaFOverF_bc", "deltaFOverF", "tv", "fps", "dataset", "States")}
    for i, rec in enumerate(recordings):
        names = [lab if lab is not None else str(j + 1) for j, lab in enumerate(rec.labels)]
        if nested_last_name and i == len(recordings) - 1:
            names[-1] = [names[-1], "AVBR"]
        fields["NeuronNames"].append(names)
        fields["deltaFOverF_bc"].append(rec.traces)
        fields["deltaFOverF"].append(rec.traces * 1.1)
        fields["tv"].append(rec.time[:, None])
        fields["fps"].append(np.array([[rec.fps]]))
        fields["dataset"].append(rec.name)
        onehot = {}
        for code, state in enumerate(STATE_NAMES):
            v = (rec.states == code)
            if zero_frame is not None:
                v = v.copy()
                v[zero_frame] = False
            v = v if logical_states else v.astype(float)
            shape = (-1, 1) if (column_states or i % 2) else (1, -1)
            onehot[state] = v.reshape(shape)
        fields["States"].append(onehot)
    return fields


def nichols_fields(with_names_member: bool = False, seed: int = 0) -> dict[str, list]:
    """Two animals as in OSF_LAYOUTS §6.3 (T=50,N=4 and T=45,N=3; fps 3)."""
    rng = np.random.default_rng(seed)
    ids = [[["AVAL"], None, ["SMDVL", "SMDVR"], ["---"]], [None, ["RIML"], [None, "AIBL"]]]
    fields = {k: [] for k in ("IDs", "traces", "timeVectorSeconds", "fps", "FourStates")}
    for (T, N), labels in zip([(50, 4), (45, 3)], ids):
        fields["IDs"].append(labels)
        fields["traces"].append(rng.random((T, N)))
        fields["timeVectorSeconds"].append((np.arange(T) / 3.0)[:, None])
        fields["fps"].append(np.array([[3.0]]))
        states = {"fourStates": rng.integers(1, 5, size=(T, 1)).astype(float)}
        if with_names_member:
            states = {"aNames": ["Reversal", "Forward", "Quiescence", "Turn"], **states}
        fields["FourStates"].append(states)
    return fields

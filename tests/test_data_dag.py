"""Dag 2023 loader: the README's indexing rule on the real files."""

import numpy as np
import pytest

from wormlib.data import load_dag2023
from wormlib.data.dag import column_labels


@pytest.fixture(scope="module")
def dag():
    return load_dag2023()


def test_shapes_and_states(dag):
    assert len(dag) == 7
    for rec in dag:
        assert rec.n_frames == 800 and 130 <= rec.n_neurons <= 146
        assert rec.fps == pytest.approx(1 / 0.6, rel=0.02)
        share = rec.states.mean()
        assert 0.10 <= share <= 0.32
        assert (rec.extra["velocity"][rec.states == 1] < 0).all()  # reversal ⇒ moving backwards


def test_indexing_rule_gives_physiology(dag):
    """Key k labels column k-1: then AVAL and AVAR traces correlate strongly in every recording."""
    for rec in dag:
        a, b = rec.column("AVAL"), rec.column("AVAR")
        assert a is not None and b is not None
        assert np.corrcoef(rec.traces[:, a], rec.traces[:, b])[0, 1] > 0.9


def test_column_labels_drop_uncertain_and_repeated():
    records = {1: {"label": "AVAL"}, 3: {"label": "RIM?"}, 4: {"label": "AIBL"}, 5: {"label": "AIBL"},
               2: {"label": "AVAR"}}
    assert column_labels(records, 6) == ["AVAL", "AVAR", None, None, None, None]


def _jld2_labels(path, records, raw=None, raw_top=None):
    """A label file in the JLD2 layout the loader reads: ``NeuroPAL_labels`` → Dict of
    ``first``/``second`` pairs (each an HDF5 object reference), ``dict_match_dict`` → recording
    → (Dict key → record struct, …). Records may share a label dataset, as JLD2 writes them.
    ``raw``: a file to store the labels other than AVAL in, outside the HDF5 file; ``raw_top``:
    one to store the top-level Dict's pairs in."""
    import h5py

    ref_dt = h5py.ref_dtype
    pair_dt = np.dtype([("first", ref_dt), ("second", ref_dt)])
    with h5py.File(path, "w") as f:
        n = iter(range(10**6))

        def put(value, dtype=None):
            name = f"_obj{next(n)}"
            f.create_dataset(name, data=value, dtype=dtype)
            return f[name].ref

        def put_outside(value, raw_file):  # a 1-element dataset whose bytes live in raw_file
            offset = raw_file.stat().st_size if raw_file.exists() else 0
            with raw_file.open("ab") as out:
                out.write(bytes(value.dtype.itemsize))  # HDF5 writes only into an existing file
            name = f"_obj{next(n)}"
            f.create_dataset(name, shape=(1,), dtype=value.dtype,
                             external=[(str(raw_file), offset, value.dtype.itemsize)])
            f[name][0] = value
            return f[name].ref

        def dict_of(items, raw_file=None):
            pairs = [put(np.array((k, v), dtype=pair_dt)) if raw_file is None
                     else put_outside(np.array((k, v), dtype=pair_dt), raw_file) for k, v in items]
            return put(np.array(pairs, dtype=ref_dt))

        shared = put(np.bytes_(b"AVAL"))
        def record(label):  # a struct with one field, a reference to its label string (stored
            # outside as a 1-element array: HDF5 keeps no external storage for a scalar)
            text = (shared if label == "AVAL" else put_outside(np.bytes_(label.encode()), raw) if raw is not None
                    else put(np.bytes_(label.encode())))
            return put(np.array((text,), dtype=[("label", ref_dt)]))

        recs = {rec: dict_of([(put(np.int64(k)), record(lab)) for k, lab in labels.items()])
                for rec, labels in records.items()}
        tuples = {rec: put(np.array((d, dict_of([])), dtype=[("1", ref_dt), ("2", ref_dt)])) for rec, d in recs.items()}
        unused = put(np.arange(3.0))  # stands for the unused, large list_match_dict
        top = dict_of([(put(np.bytes_(b"list_match_dict")), unused),
                       (put(np.bytes_(b"dict_match_dict")), dict_of([(put(np.bytes_(r.encode())), t)
                                                                    for r, t in tuples.items()]))],
                      raw_top)
        f.create_dataset("NeuroPAL_labels", data=top, dtype=ref_dt)


def test_label_file_reads_only_the_labels_it_needs_and_shares_repeated_objects(tmp_path, monkeypatch):
    from wormlib.data import dag

    path = tmp_path / "labels.jld2"
    _jld2_labels(path, {"rec-a": {1: "AVAL", 3: "RIML"}, "rec-b": {2: "AVAL"}})
    read, real = [], dag._read_dataset
    monkeypatch.setattr(dag, "_read_dataset", lambda *a: read.append(real(*a)) or read[-1])
    labels = dag._read_labels(path)
    assert not any(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in read)  # list_match_dict
    assert sum(isinstance(v, bytes) and v == b"AVAL" for v in read) == 1  # one object, read once
    assert {r: {k: v["label"] for k, v in recs.items()} for r, recs in labels.items()} == \
        {"rec-a": {1: "AVAL", 3: "RIML"}, "rec-b": {2: "AVAL"}}
    assert column_labels(labels["rec-a"], 3) == ["AVAL", None, "RIML"]


def test_label_walk_refuses_a_referenced_dataset_stored_outside_the_file(tmp_path):
    """JLD2's objects are unnamed, so ``open_hdf5``'s check of the file's links never sees them;
    the walk itself refuses one stored in an external raw file. (This file's objects have names,
    so the link check would refuse it first: the walk is called directly.)"""
    import h5py

    from wormlib.data import dag
    from wormlib.data.errors import UnsafeFileError

    path = tmp_path / "labels.jld2"
    _jld2_labels(path, {"rec-a": {1: "RIML"}}, raw=tmp_path / "raw.bin")
    with h5py.File(path) as f:
        assert [b"RIML"] in [list(f[k][()]) for k in f if f[k].external]  # the label, from outside
        with pytest.raises(UnsafeFileError, match="outside the file"):
            dag._jld2_dict_entry(f, f["NeuroPAL_labels"][()], "dict_match_dict")
        with pytest.raises(UnsafeFileError):  # and the file as a whole, by the link check
            dag._read_labels(path)


def test_label_walk_refuses_a_top_level_pair_stored_outside_the_file(tmp_path):
    """The top-level Dict's own ``first``/``second`` pairs are checked like every object below them."""
    import h5py

    from wormlib.data import dag
    from wormlib.data.errors import UnsafeFileError

    path = tmp_path / "labels.jld2"
    _jld2_labels(path, {"rec-a": {1: "RIML"}}, raw_top=tmp_path / "raw.bin")
    with h5py.File(path) as f:
        assert sum(bool(f[k].external) for k in f) == 2  # the two pairs, from outside
        with pytest.raises(UnsafeFileError, match="outside the file"):
            dag._jld2_dict_entry(f, f["NeuroPAL_labels"][()], "dict_match_dict")

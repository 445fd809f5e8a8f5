"""NWB recordings (issue 52): the round trip Kato/Dag → NWB → Recording is exact, files in the
layouts the collections use are read, and every bad input is a named error."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from datetime import datetime, timezone

import h5py
import numpy as np
import pytest

from wormlib.data import (ChecksumError, CorruptFileError, InvalidValuesError, LayoutError, ShapeMismatchError,
                          UnsafeFileError, load_dag2023, load_nwb, read_nwb, write_nwb)
from wormlib.data.dag import STATE_NAMES as DAG_STATES
from wormlib.data.kato import STATE_NAMES as KATO_STATES


def same(a, b) -> bool:
    """Every field a loader fills, compared exactly."""
    return (np.array_equal(a.traces, b.traces) and a.labels == b.labels and np.array_equal(a.states, b.states)
            and a.state_names == b.state_names and np.array_equal(a.time, b.time) and a.fps == b.fps
            and (a.study, a.worm, a.name) == (b.study, b.worm, b.name) and a.extra.keys() == b.extra.keys()
            and all(np.array_equal(a.extra[k], b.extra[k]) for k in a.extra))


@pytest.fixture(scope="module")
def dag_worms():
    return load_dag2023()


def test_the_round_trip_is_exact_for_every_kato_and_dag_worm(kato, dag_worms, tmp_path):
    for recs, names in ((kato, KATO_STATES), (dag_worms, DAG_STATES)):
        for rec in recs:
            back = read_nwb(write_nwb(rec, tmp_path / f"{rec.study}-{rec.worm}.nwb"), study=rec.study,
                            state_names=names)
            assert same(rec, back), (rec.study, rec.worm)


def test_a_folder_is_read_in_name_order_and_partial_writes_are_ignored(dag_worms, tmp_path):
    for rec in dag_worms[:2][::-1]:
        write_nwb(rec, tmp_path / f"{rec.worm}.nwb")
    (tmp_path / ".2022-07-27-31.part.nwb").write_bytes(b"half a file")
    assert [r.worm for r in load_nwb(tmp_path, study="dag2023")] == [r.worm for r in dag_worms[:2]]


# ----- the layouts the collections use, written with pynwb itself ---------------------------

def collection_file(path, **layout):
    with warnings.catch_warnings():  # hdmf's note on building an ROI region before the file, as pynwb's tutorial does
        warnings.filterwarnings("ignore", message="The linked table for DynamicTableRegion")
        return _collection_file(path, **layout)


def _collection_file(path, *, container="DfOverF", label_column="ID_labels", labels=("AVAL", "", "RIML", "AVAR"),
                    behaviour=(("forward", 0.0, 3.0), ("reversal", 3.0, 6.0)), state_column="behavior",
                    rate=None, velocity_times=None, n=20, extra_series=False):
    """An NWB file as the WormID/Flavell exports lay it out: traces in a DfOverF (or Fluorescence)
    container, identities in a text column of the ROI table, states as labelled intervals."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    rng = np.random.default_rng(0)
    nwb = NWBFile(session_description="test", identifier="worm-A", subject=Subject(subject_id="A", species="C. elegans"),
                  session_start_time=datetime(2023, 1, 1, tzinfo=timezone.utc))
    plane = nwb.create_imaging_plane(name="plane", description="", device=nwb.create_device(name="scope"),
                                     optical_channel=OpticalChannel(name="c", description="", emission_lambda=525.0),
                                     excitation_lambda=488.0, indicator="GCaMP", location="head")
    ophys = nwb.create_processing_module(name="ophys", description="")
    seg = ImageSegmentation()
    ophys.add(seg)
    rois = seg.create_plane_segmentation(name="rois", description="", imaging_plane=plane)
    if label_column:
        rois.add_column(name=label_column, description="NeuroPAL identity")
    for label in labels:
        rois.add_roi(voxel_mask=[(0, 0, 0, 1.0)], **({label_column: label} if label_column else {}))
    region = rois.create_roi_table_region(region=list(range(len(labels))), description="")
    time = np.arange(n) * 0.5
    timing = dict(rate=rate, starting_time=0.0) if rate else dict(timestamps=time)
    series = [RoiResponseSeries(name="dff", data=rng.random((n, len(labels))), rois=region, unit="n.a.", **timing)]
    if extra_series:
        series.append(RoiResponseSeries(name="raw", data=rng.random((n, len(labels))), rois=region, unit="n.a.", **timing))
    box = (DfOverF if container == "DfOverF" else Fluorescence)(roi_response_series=series)
    ophys.add(box)
    if behaviour:
        table = TimeIntervals(name="behavior_states", description="")
        table.add_column(name=state_column, description="")
        for state, start, stop in behaviour:
            table.add_row(start_time=start, stop_time=stop, **{state_column: state})
        nwb.add_time_intervals(table)
    if velocity_times is not None:
        nwb.create_processing_module(name="behavior", description="").add(
            TimeSeries(name="velocity", data=rng.normal(size=len(velocity_times)), unit="mm/s", timestamps=velocity_times))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


def test_a_collection_layout_is_read(tmp_path):
    rec = read_nwb(collection_file(tmp_path / "a.nwb", velocity_times=np.arange(20) * 0.5))
    assert rec.labels == ("AVAL", None, "RIML", "AVAR") and rec.worm == "A" and rec.name == "worm-A"
    assert rec.state_names == ("forward", "reversal") and rec.fps == 2.0
    assert (rec.states[:6] == 0).all() and (rec.states[6:12] == 1).all() and (rec.states[12:] == -1).all()
    assert rec.extra["velocity"].shape == (20,)
    by_rate = read_nwb(collection_file(tmp_path / "b.nwb", container="Fluorescence", rate=2.0, label_column="label",
                                       state_column="state"))
    assert np.array_equal(by_rate.time, rec.time) and by_rate.fps == 2.0


def test_several_calcium_series_must_be_chosen_by_name(tmp_path):
    path = collection_file(tmp_path / "a.nwb", extra_series=True)
    with pytest.raises(LayoutError, match=r"2 calcium series.*traces=<path>"):
        read_nwb(path)
    assert read_nwb(path, traces="processing/ophys/DfOverF/raw").n_neurons == 4


# ----- bad inputs: a named error each ---------------------------------------------------------

def test_missing_neuron_labels(tmp_path):
    with pytest.raises(LayoutError, match="no neuron label column"):
        read_nwb(collection_file(tmp_path / "a.nwb", label_column=None))


def test_no_behaviour(tmp_path):
    path = collection_file(tmp_path / "a.nwb", behaviour=())
    with pytest.raises(LayoutError, match="no behaviour"):
        read_nwb(path)
    assert (read_nwb(path, require_states=False).states == -1).all()


def test_behaviour_on_other_timestamps(tmp_path):
    with pytest.raises(ShapeMismatchError, match="behavior/velocity is not on the traces' timestamps"):
        read_nwb(collection_file(tmp_path / "a.nwb", velocity_times=np.arange(20) * 0.25))
    with pytest.raises(InvalidValuesError, match="no interval covers any frame"):
        read_nwb(collection_file(tmp_path / "b.nwb", behaviour=(("forward", 100.0, 110.0),)))


def test_overlapping_or_reversed_intervals(tmp_path):
    with pytest.raises(InvalidValuesError, match="overlap"):
        read_nwb(collection_file(tmp_path / "a.nwb", behaviour=(("forward", 0.0, 3.0), ("reversal", 2.0, 6.0))))
    with pytest.raises(InvalidValuesError, match="stops before it starts"):
        read_nwb(collection_file(tmp_path / "b.nwb", behaviour=(("forward", 3.0, 1.0),)))


def test_timestamps_of_the_wrong_length_or_unit(tmp_path):
    path = collection_file(tmp_path / "a.nwb")
    stamps = "processing/ophys/DfOverF/dff/timestamps"
    with h5py.File(path, "r+") as handle:
        handle[stamps].attrs["unit"] = "milliseconds"
    with pytest.raises(InvalidValuesError, match="milliseconds"):
        read_nwb(path)
    path = collection_file(tmp_path / "b.nwb")
    with h5py.File(path, "r+") as handle:
        attrs = dict(handle[stamps].attrs)
        del handle[stamps]
        handle[stamps] = np.arange(15) * 0.5
        handle[stamps].attrs.update(attrs)
    with pytest.raises(ShapeMismatchError, match="15 timestamps for 20 frames"):
        read_nwb(path)


def test_an_external_link_is_refused(tmp_path):
    path = collection_file(tmp_path / "a.nwb")
    with h5py.File(tmp_path / "elsewhere.h5", "w") as other:
        other["x"] = np.zeros(3)
    with h5py.File(path, "r+") as handle:
        handle["acquisition/outside"] = h5py.ExternalLink("elsewhere.h5", "/x")
    with pytest.raises(UnsafeFileError, match="external link"):
        read_nwb(path)


def test_files_that_are_not_nwb(tmp_path):
    with h5py.File(tmp_path / "plain.nwb", "w") as handle:
        handle["x"] = np.zeros(3)
    with pytest.raises(LayoutError, match="not NWB"):
        read_nwb(tmp_path / "plain.nwb")
    (tmp_path / "text.nwb").write_text("not HDF5")
    with pytest.raises(CorruptFileError, match="text.nwb"):
        read_nwb(tmp_path / "text.nwb")


def test_a_folder_with_sums_is_verified(dag_worms, tmp_path):
    path = write_nwb(dag_worms[0], tmp_path / "w.nwb")
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  w.nwb\n")
    assert read_nwb(path).n_frames == 800
    shutil.copy(collection_file(tmp_path / "other.nwb"), path)
    with pytest.raises(ChecksumError, match="w.nwb"):
        read_nwb(path)


def test_a_shifted_numeric_label_is_named(tmp_path):
    with pytest.warns(UserWarning, match="column 2 is '7'"):
        rec = read_nwb(collection_file(tmp_path / "a.nwb", labels=("AVAL", "7", "RIML", "AVAR")))
    assert rec.labels[1] is None

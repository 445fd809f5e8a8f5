"""Kato 2015 loaders: the real derived files, and the official MAT layout on fixtures."""

import numpy as np
import pytest
import scipy.io

from matfixtures import kato_fields, write_mat
from wormlib.data import Recording, load_kato2015
from wormlib.data.kato import STATE_NAMES, read_mat
from wormlib.preprocess import PAPER_NEURONS

# From ../shared/data/kato2015/README.md (worm index table and checks)
EXPECTED = {"1": (3137, 109, 38), "2": (3134, 135, 44), "3": (3059, 131, 32),
            "4": (3311, 125, 47), "5": (3021, 129, 31)}


def test_real_shapes_and_named_counts(kato):
    assert [r.worm for r in kato] == list(EXPECTED)
    for rec in kato:
        frames, neurons, named = EXPECTED[rec.worm]
        assert rec.traces.shape == (frames, neurons)
        assert len(rec.identified) == named
        assert rec.fps == pytest.approx(frames / 1080)
        assert rec.time[-1] == pytest.approx((frames - 1) / rec.fps)
        assert rec.name.endswith("_1080s")


def test_real_state_totals(kato):
    totals = {s: sum(r.state_counts()[s] for r in kato) for s in STATE_NAMES}
    assert totals == {"fwd": 1448, "slow": 5200, "rev1": 537, "rev2": 619, "revsus": 5323,
                      "dt": 802, "vt": 1557, "nostate": 176}
    assert sum(totals.values()) == 15662


def test_paper_neurons_named_except_vb01_in_worm5(kato):
    for rec in kato:
        missing = [n for n in PAPER_NEURONS if rec.column(n) is None]
        assert missing == (["VB01"] if rec.worm == "5" else [])


def test_real_physiology_matches_labels(kato):
    """AVAL is highest in sustained reversal and lowest in forward/slowing, in every worm."""
    for rec in kato:
        aval = rec.traces[:, rec.column("AVAL")]
        means = {s: aval[rec.states == STATE_NAMES.index(s)].mean() for s in ("fwd", "slow", "revsus")}
        assert means["revsus"] > max(means["fwd"], means["slow"]) + 0.2


def _same(a: Recording, b: Recording):
    assert (a.study, a.worm, a.name, a.labels, a.state_names) == (b.study, b.worm, b.name, b.labels, b.state_names)
    np.testing.assert_array_equal(a.traces, b.traces)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_allclose(a.time, b.time)
    assert a.fps == pytest.approx(b.fps)


def test_osf_layout_gives_identical_recordings(kato, tmp_path):
    """WT_NoStim.mat written with the documented layout from the real worms reads back equal."""
    path = write_mat(tmp_path / "WT_NoStim.mat", "WT_NoStim", kato_fields(kato[:2]))
    assert scipy.io.matlab.matfile_version(str(path)) == (2, 0)
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(str(path))  # v7.3: only h5py can read it
    for a, b in zip(kato[:2], read_mat(path)):
        _same(a, b)


def test_osf_source_through_the_data_setting(kato, data_dir, monkeypatch):
    (data_dir / "kato2015").mkdir()
    write_mat(data_dir / "kato2015" / "WT_NoStim.mat", "WT_NoStim", kato_fields(kato[:2]))
    recs = load_kato2015("osf", worms=("2",), verify=False)
    _same(recs[0], kato[1])


@pytest.mark.parametrize("variant", [dict(column_states=False), dict(logical_states=True)])
def test_osf_state_vector_variants(kato, tmp_path, variant):
    """Row or column state vectors, double or logical: same codes."""
    small = [Recording(r.study, r.worm, r.name, r.traces[:60, :5], r.labels[:5], r.states[:60],
                       r.state_names, r.fps, r.time[:60]) for r in kato[:2]]
    recs = read_mat(write_mat(tmp_path / "k.mat", "WT_NoStim", kato_fields(small, **variant)))
    for a, b in zip(small, recs):
        np.testing.assert_array_equal(a.states, b.states)


def test_osf_all_zero_frame_is_nostate_and_nested_name_takes_first(kato, tmp_path):
    small = [Recording(r.study, r.worm, r.name, r.traces[:40, :4], ["AVAL", None, "SMDVR", "RIML"],
                       r.states[:40], r.state_names, r.fps, r.time[:40]) for r in kato[:2]]
    recs = read_mat(write_mat(tmp_path / "k.mat", "WT_NoStim",
                              kato_fields(small, zero_frame=7, nested_last_name=True)))
    assert recs[0].states[7] == STATE_NAMES.index("nostate")
    assert recs[1].labels == ("AVAL", None, "SMDVR", "RIML")  # nested {RIML, AVBR} → RIML

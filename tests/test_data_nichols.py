"""Nichols 2017 loader on fixtures with the OSF layout (the real files are not reachable here)."""

import hashlib

import numpy as np
import pytest

from matfixtures import nichols_fields, write_mat
from wormlib.data import ChecksumError, CorruptFileError, DataNotFoundError, LayoutError, load_nichols2017
from wormlib.data.nichols import STATE_NAMES, read_mat


def test_reads_animals_labels_and_states(tmp_path):
    fields = nichols_fields()
    recs = read_mat(write_mat(tmp_path / "n2_let.mat", "n2_let", fields))
    assert [r.traces.shape for r in recs] == [(50, 4), (45, 3)]
    assert recs[0].labels == ("AVAL", None, "SMDVL", None)  # empty, '---' → None; first candidate
    assert recs[1].labels == (None, "RIML", "AIBL")          # first non-empty candidate
    assert [r.worm for r in recs] == ["n2_let/1", "n2_let/2"]
    assert recs[0].state_names == STATE_NAMES
    expected = fields["FourStates"][0]["fourStates"].ravel().astype(int) - 1
    np.testing.assert_array_equal(recs[0].states, expected)
    np.testing.assert_allclose(recs[0].traces, fields["traces"][0])
    assert recs[0].fps == 3.0


def test_state_vector_found_by_content_with_names_member(tmp_path):
    recs = read_mat(write_mat(tmp_path / "n2_let.mat", "n2_let", nichols_fields(with_names_member=True)))
    assert recs[1].state_names == ("Reversal", "Forward", "Quiescence", "Turn")
    assert set(np.unique(recs[1].states)) <= {0, 1, 2, 3}


def test_missing_state_vector_is_a_layout_error(tmp_path):
    fields = nichols_fields()
    fields["FourStates"] = [{"fourStates": np.full((50, 1), 9.0)}, {"fourStates": np.ones((45, 1))}]
    with pytest.raises(LayoutError, match="1..4"):
        read_mat(write_mat(tmp_path / "n2_let.mat", "n2_let", fields))


def test_load_without_download_says_how_to_fetch(data_dir):
    with pytest.raises(DataNotFoundError, match=r"python -m wormlib.data nichols2017"):
        load_nichols2017()


def write_study(folder):
    """The two pre-lethargus fixture files and the SHA256SUMS that a download writes (the hashes
the OSF API lists)."""
    folder.mkdir()
    for stem in ("n2_prelet", "npr1_prelet"):
        write_mat(folder / f"{stem}.mat", stem, nichols_fields())
    (folder / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((folder / f'{s}.mat').read_bytes()).hexdigest()}  {s}.mat\n"
        for s in ("n2_prelet", "npr1_prelet")))


def test_load_through_the_data_setting(data_dir):
    write_study(data_dir / "nichols2017")
    recs = load_nichols2017()
    assert [r.worm for r in recs] == ["n2_prelet/1", "n2_prelet/2", "npr1_prelet/1", "npr1_prelet/2"]


def test_optional_sections_get_none_when_the_files_are_absent(data_dir, capsys):
    from wormlib.data import load_if_present

    assert load_if_present(load_nichols2017) is None
    out = capsys.readouterr().out
    assert "cannot run here" in out and str(data_dir) not in out  # no machine path on a page
    write_study(data_dir / "nichols2017")
    assert len(load_if_present(load_nichols2017)) == 4
    (data_dir / "nichols2017" / "npr1_prelet.mat").write_bytes(b"not a MAT file")
    with pytest.raises(ChecksumError, match="npr1_prelet"):  # a damaged file is not "absent"
        load_if_present(load_nichols2017)
    with pytest.raises(CorruptFileError, match="npr1_prelet"):
        load_if_present(load_nichols2017, verify=False)

"""Bad input never yields silent garbage: each case raises its specific error, naming the file."""

import shutil

import h5py
import numpy as np
import pytest

from matfixtures import kato_fields, nichols_fields, write_mat
from wormlib.data import (ChecksumError, CorruptFileError, DataNotFoundError, InvalidValuesError,
                          LayoutError, Recording, ShapeMismatchError, data_dirs, load_kato2015,
                          local_path, study_dir)
from wormlib.data import kato as kato_module
from wormlib.data.kato import read_mat
from wormlib.data.nichols import read_mat as read_nichols



@pytest.fixture(scope="session")
def kato_source():
    return study_dir("kato2015")


@pytest.fixture
def kato_copy(kato_source, data_dir):
    """A writable copy of worm 1's derived files (and the SHA256SUMS) under WORMLIB_DATA."""
    dst = data_dir / "kato2015"
    dst.mkdir()
    for name in ["raw_full_data_worm_1.npz", "worm_0_neurons.csv", "worm_0_y.csv", "worm_0_states.csv", "SHA256SUMS"]:
        shutil.copy(kato_source / name, dst / name)
    return dst


def test_setting_is_searched_first(data_dir):
    assert data_dirs() == [data_dir.resolve()]


def test_missing_data_directory(data_dir):
    with pytest.raises(DataNotFoundError, match="WORMLIB_DATA"):
        load_kato2015()


def test_missing_file(kato_copy):
    (kato_copy / "worm_0_y.csv").unlink()
    with pytest.raises(DataNotFoundError, match="worm_0_y.csv"):
        load_kato2015(worms=("1",))


def test_checksum_mismatch(kato_copy):
    path = kato_copy / "worm_0_y.csv"
    path.write_text(path.read_text().replace("6", "5", 1))
    with pytest.raises(ChecksumError, match="worm_0_y.csv"):
        load_kato2015(worms=("1",))


def test_states_of_different_length(kato_copy):
    path = kato_copy / "worm_0_y.csv"
    path.write_text(path.read_text().rstrip().rsplit(",", 1)[0] + "\n")
    with pytest.raises(ShapeMismatchError, match="3136 frame states"):
        load_kato2015(worms=("1",), verify=False)


def test_labels_of_different_length(kato_copy):
    path = kato_copy / "worm_0_neurons.csv"
    path.write_text(path.read_text().rstrip() + ",EXTRA\n")
    with pytest.raises(ShapeMismatchError, match="110 neuron labels for 109"):
        load_kato2015(worms=("1",), verify=False)


def test_nan_traces(kato_copy):
    path = kato_copy / "raw_full_data_worm_1.npz"
    traces = np.load(path)["arr_0"]
    traces[10, 3] = np.nan
    np.savez(path, traces)
    with pytest.raises(InvalidValuesError, match="NaN"):
        load_kato2015(worms=("1",), verify=False)


def test_corrupt_npz(kato_copy):
    (kato_copy / "raw_full_data_worm_1.npz").write_bytes(b"not a zip file")
    with pytest.raises(CorruptFileError, match="raw_full_data_worm_1.npz"):
        load_kato2015(worms=("1",), verify=False)


def test_out_of_range_state_codes(kato_copy):
    path = kato_copy / "worm_0_y.csv"
    path.write_text(path.read_text().replace("6", "9", 1))
    with pytest.raises(InvalidValuesError, match="state codes"):
        load_kato2015(worms=("1",), verify=False)


def _small_kato(kato, n=30):
    return [Recording(r.study, r.worm, r.name, r.traces[:n, :3], r.labels[:3], r.states[:n],
                      r.state_names, r.fps, r.time[:n]) for r in kato[:2]]


def test_truncated_hdf5(kato, tmp_path):
    path = write_mat(tmp_path / "WT_NoStim.mat", "WT_NoStim", kato_fields(_small_kato(kato)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated"):
        read_mat(path)


def test_not_hdf5(tmp_path):
    path = tmp_path / "WT_NoStim.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(CorruptFileError):
        read_mat(path)


def test_wrong_layout_missing_field(kato, tmp_path):
    fields = kato_fields(_small_kato(kato))
    del fields["States"]
    with pytest.raises(LayoutError, match="States"):
        read_mat(write_mat(tmp_path / "k.mat", "WT_NoStim", fields))


def test_wrong_layout_two_roots(tmp_path):
    path = tmp_path / "k.mat"
    with h5py.File(path, "w") as f:
        f.create_group("a"), f.create_group("b")
    with pytest.raises(LayoutError, match="one top-level struct"):
        read_mat(path)


def test_nichols_file_read_as_kato_is_a_layout_error(tmp_path):
    path = write_mat(tmp_path / "n2_let.mat", "n2_let", nichols_fields())
    with pytest.raises(LayoutError):
        read_mat(path)


def test_traces_time_mismatch_in_mat(tmp_path):
    fields = nichols_fields()
    fields["timeVectorSeconds"][0] = fields["timeVectorSeconds"][0][:-3]
    with pytest.raises(LayoutError, match="neither axis matches"):
        read_nichols(write_mat(tmp_path / "n2_let.mat", "n2_let", fields))


def test_official_mat_hash_is_checked(data_dir, kato):
    (data_dir / "kato2015").mkdir()
    write_mat(data_dir / "kato2015" / "WT_NoStim.mat", "WT_NoStim", kato_fields(_small_kato(kato)))
    with pytest.raises(ChecksumError, match="7531811c"):
        local_path("kato2015", "WT_NoStim.mat")


def test_a_missing_official_file_says_how_to_download_it(data_dir):
    with pytest.raises(DataNotFoundError, match=r"python -m wormlib.data kato2015.*osf.io/2395t"):
        local_path("kato2015", "WT_NoStim.mat")


def test_wrong_state_names_file(kato_copy):
    (kato_copy / "worm_0_states.csv").write_text("fwd,rev\n")
    with pytest.raises(LayoutError, match="worm_0_states.csv"):
        kato_module.read_derived(kato_copy, "1", verify=False)

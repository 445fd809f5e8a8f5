"""Attacks on the loaders, as a careful user meets them (issue: nothing lost, nothing garbage).

Every attack is one row of ``ATTACKS``: how the data are damaged, the named error that must
come out, and a piece of the file name that the message must contain. The book's files are
pinned by SHA-256 in code, so a damaged file is caught by its checksum first; attacks on the
parsers therefore load with ``verify=False``, as a user with their own data does, so that the
parse-level check is what is tested. Attacks on the checksum files load with ``verify=True``.
Add new attacks to the list.
"""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from matfixtures import kato_fields, nichols_fields, write_mat
from wormlib.data import (ChecksumError, CorruptFileError, DataNotFoundError, DataPermissionError,
                          InvalidValuesError, LayoutError, Recording, ShapeMismatchError, UnsafeFileError,
                          data_dirs, load_dag2023, load_kato2015, load_nichols2017, study_dir)
from wormlib.data.kato import read_mat as read_kato_mat
from wormlib.data.nichols import read_mat as read_nichols_mat

KATO_FILES = ["raw_full_data_worm_1.npz", "worm_0_neurons.csv", "worm_0_y.csv", "worm_0_states.csv"]
DAG_REC = "2022-07-26-31"


def resum(folder: Path) -> None:
    """Rewrite ``folder/SHA256SUMS`` for the files now there (as ``sha256sum *`` would)."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != "SHA256SUMS"]
    (folder / "SHA256SUMS").write_text("".join(lines))


@pytest.fixture
def kato_dir(data_dir):
    dst = data_dir / "kato2015"
    dst.mkdir()
    for name in KATO_FILES:
        shutil.copy(study_dir_real("kato2015") / name, dst / name)
    resum(dst)
    return dst


@pytest.fixture
def dag_dir(data_dir):
    dst = data_dir / "dag2023"
    dst.mkdir()
    for name in (f"{DAG_REC}-data.h5", "NeuroPAL_labels_dict.jld2"):
        shutil.copy(study_dir_real("dag2023") / name, dst / name)
        os.chmod(dst / name, 0o644)
    resum(dst)
    return dst


_REAL: dict[str, Path] = {}


def study_dir_real(study: str) -> Path:
    if study not in _REAL:
        _REAL[study] = study_dir(study)
    return _REAL[study]


@pytest.fixture(scope="module", autouse=True)
def _locate_real_data():
    study_dir_real("kato2015"), study_dir_real("dag2023")


def load_kato(folder, verify):
    return load_kato2015(worms=("1",), verify=verify)


def load_dag(folder, verify):
    return load_dag2023(recordings=(DAG_REC,), verify=verify)


def forge_sums_line(name):
    """Edit ``name`` and write its new hash into SHA256SUMS: what issue 49 found passing before
    the files were pinned in code."""
    def damage(folder):
        (folder / name).write_bytes((folder / name).read_bytes() + b"\n")
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        sums = folder / "SHA256SUMS"
        sums.write_text("".join(f"{digest}  {name}\n" if l.endswith(f"  {name}\n") else l
                                for l in sums.read_text().splitlines(True)))
    return damage


# ----- damage to the Kato derived files ---------------------------------------------------

def npz_traces(dtype):
    def damage(folder):
        path = folder / "raw_full_data_worm_1.npz"
        traces = np.load(path)["arr_0"]
        np.savez(path, (traces * 10).astype(dtype))
    return damage


def npy_named_npz(folder):
    path = folder / "raw_full_data_worm_1.npz"
    traces = np.load(path)["arr_0"]
    with open(path, "wb") as fh:
        np.save(fh, traces)


def edit_csv(name, edit, encoding="utf-8"):
    def damage(folder):
        path = folder / name
        path.write_bytes(edit(path.read_text()).encode(encoding))
    return damage


def duplicate_label(text):
    labels = text.strip().split(",")
    first = labels.index("AVAL")
    second = labels.index("AVAR")
    labels[second] = labels[first]
    return ",".join(labels) + "\n"


def latin1_label(text):
    return text.replace("AVAL", "AVAL\u00e9", 1)


def minus_one_state(text):
    return "-1" + text[text.index(","):]


# ----- damage to a Dag recording ------------------------------------------------------------

def dag_dataset(name, make):
    def damage(folder):
        with h5py.File(folder / f"{DAG_REC}-data.h5", "r+") as handle:
            old = handle[name][()]
            del handle[name]
            make(handle, name, old)
    return damage


def replace(value_of):
    return lambda handle, name, old: handle.create_dataset(name, data=value_of(old))


def as_group(handle, name, old):
    handle.create_group(name).create_dataset("x", data=old)


def external_link(handle, name, old):
    other = Path(handle.filename).with_name("elsewhere.h5")
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=old)
    handle[name] = h5py.ExternalLink(other.name, "x")


def virtual_dataset(handle, name, old):
    other = Path(handle.filename).with_name("elsewhere.h5")
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=old)
    layout = h5py.VirtualLayout(shape=old.shape, dtype=old.dtype)
    layout[...] = h5py.VirtualSource(other.name, "x", shape=old.shape)
    handle.create_virtual_dataset(name, layout)


def external_storage(handle, name, old):
    raw = Path(handle.filename).with_name("raw.bin")
    raw.write_bytes(old.astype(old.dtype).tobytes())
    handle.create_dataset(name, shape=old.shape, dtype=old.dtype, external=[(raw.name, 0, old.nbytes)])


ATTACKS = [
    # id, study, damage, loader, error, name in message
    ("int8 traces", "kato", npz_traces(np.int8), load_kato, InvalidValuesError, "raw_full_data_worm_1.npz"),
    ("bool traces", "kato", npz_traces(bool), load_kato, InvalidValuesError, "raw_full_data_worm_1.npz"),
    ("float16 traces", "kato", npz_traces(np.float16), load_kato, InvalidValuesError, "raw_full_data_worm_1.npz"),
    ("str traces", "kato", npz_traces(str), load_kato, InvalidValuesError, "raw_full_data_worm_1.npz"),
    (".npy named .npz", "kato", npy_named_npz, load_kato, CorruptFileError, "raw_full_data_worm_1.npz"),
    ("duplicate neuron label", "kato", edit_csv("worm_0_neurons.csv", duplicate_label), load_kato,
     InvalidValuesError, "AVAL"),
    ("latin-1 neurons csv", "kato", edit_csv("worm_0_neurons.csv", latin1_label, "latin-1"), load_kato,
     CorruptFileError, "worm_0_neurons.csv"),
    ("state code -1", "kato", edit_csv("worm_0_y.csv", minus_one_state), load_kato, InvalidValuesError,
     "worm_0_y.csv"),
    ("SHA256SUMS is a directory", "kato",
     lambda f: ((f / "SHA256SUMS").unlink(), (f / "SHA256SUMS").mkdir()), load_kato, LayoutError, "SHA256SUMS"),
    ("malformed SHA256SUMS", "kato", lambda f: (f / "SHA256SUMS").write_text("not a sums line\n"), load_kato,
     CorruptFileError, "SHA256SUMS"),
    ("non-UTF-8 SHA256SUMS", "kato", lambda f: (f / "SHA256SUMS").write_bytes(b"\xff\xfe\x00junk"), load_kato,
     CorruptFileError, "SHA256SUMS"),
    ("a file and its SHA256SUMS line edited together", "kato", forge_sums_line("worm_0_y.csv"), load_kato,
     ChecksumError, "worm_0_y.csv"),
    ("a Dag file and its SHA256SUMS line edited together", "dag", forge_sums_line(f"{DAG_REC}-data.h5"),
     load_dag, ChecksumError, f"{DAG_REC}-data.h5"),
    ("SHA256SUMS points outside its folder", "kato",
     lambda f: (f / "SHA256SUMS").write_text((f / "SHA256SUMS").read_text() + f"{'0' * 64}  ../../etc/hostname\n"),
     load_kato, CorruptFileError, "SHA256SUMS"),
    ("directory instead of the .h5", "dag",
     lambda f: ((f / f"{DAG_REC}-data.h5").unlink(), (f / f"{DAG_REC}-data.h5").mkdir()), load_dag,
     LayoutError, f"{DAG_REC}-data.h5"),
    ("1-D trace_array", "dag", dag_dataset("gcamp/trace_array", replace(lambda a: a[:, 0])), load_dag,
     LayoutError, f"{DAG_REC}-data.h5"),
    ("trace_array is a group", "dag", dag_dataset("gcamp/trace_array", as_group), load_dag, LayoutError,
     f"{DAG_REC}-data.h5"),
    ("byte-string trace_array", "dag", dag_dataset("gcamp/trace_array", replace(lambda a: a.astype("S8"))),
     load_dag, LayoutError, f"{DAG_REC}-data.h5"),
    ("int8 trace_array", "dag", dag_dataset("gcamp/trace_array", replace(lambda a: a.astype(np.int8))),
     load_dag, InvalidValuesError, f"{DAG_REC}-data.h5"),
    ("constant timestamps", "dag", dag_dataset("timing/timestamp_confocal", replace(lambda a: np.zeros_like(a))),
     load_dag, InvalidValuesError, f"{DAG_REC}-data.h5"),
    ("NaN timestamp", "dag", dag_dataset("timing/timestamp_confocal",
                                         replace(lambda a: np.where(np.arange(a.size) == 5, np.nan, a))),
     load_dag, InvalidValuesError, f"{DAG_REC}-data.h5"),
    ("reversal_vec 7", "dag", dag_dataset("behavior/reversal_vec", replace(lambda a: np.where(a > 0, 7, a))),
     load_dag, InvalidValuesError, "reversal_vec"),
    ("reversal_vec -3", "dag", dag_dataset("behavior/reversal_vec", replace(lambda a: a - 3)),
     load_dag, InvalidValuesError, "reversal_vec"),
    ("reversal_vec NaN", "dag", dag_dataset("behavior/reversal_vec",
                                            replace(lambda a: np.where(np.arange(a.size) == 3, np.nan, a))),
     load_dag, InvalidValuesError, "reversal_vec"),
    ("velocity of 100 frames", "dag", dag_dataset("behavior/velocity", replace(lambda a: a[:100])),
     load_dag, ShapeMismatchError, "velocity"),
    ("external link", "dag", dag_dataset("gcamp/trace_array", external_link), load_dag, UnsafeFileError,
     f"{DAG_REC}-data.h5"),
    ("virtual dataset", "dag", dag_dataset("gcamp/trace_array", virtual_dataset), load_dag, UnsafeFileError,
     f"{DAG_REC}-data.h5"),
    ("external raw storage", "dag", dag_dataset("gcamp/trace_array", external_storage), load_dag,
     UnsafeFileError, f"{DAG_REC}-data.h5"),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_on_files_gives_named_error(attack, request):
    _, study, damage, loader, error, name = attack
    folder = request.getfixturevalue(f"{study}_dir")
    damage(folder)
    with pytest.raises(error) as caught:
        loader(folder, verify="SHA256SUMS" in attack[0])
    assert name in str(caught.value)


def test_checksum_catches_damage_even_when_the_sums_file_is_rewritten(kato_dir):
    npz_traces(np.int8)(kato_dir)
    with pytest.raises(ChecksumError, match="raw_full_data_worm_1.npz"):
        load_kato2015(worms=("1",))
    resum(kato_dir)  # SHA256SUMS now agrees with the damaged file; the pin in code does not
    with pytest.raises(ChecksumError, match="raw_full_data_worm_1.npz.*pinned"):
        load_kato2015(worms=("1",))


def test_pinned_files_need_no_sums_file(kato_dir):
    (kato_dir / "SHA256SUMS").unlink()
    assert load_kato2015(worms=("1",))[0].n_frames == 3137


def test_bom_is_not_part_of_a_name(kato_dir):
    path = kato_dir / "worm_0_neurons.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"1,", b"TESTN,", 1))
    (rec,) = load_kato2015(worms=("1",), verify=False)
    assert rec.labels[0] == "TESTN" and not any("\ufeff" in (l or "") for l in rec.labels)


def test_dag_recording_missing_from_labels_file(dag_dir, monkeypatch):
    from wormlib.data import dag

    real = dag.read_labels
    monkeypatch.setattr(dag, "read_labels", lambda path: {k: v for k, v in real(path).items() if k != DAG_REC})
    with pytest.raises(LayoutError, match=f"{DAG_REC}"):
        load_dag2023(recordings=(DAG_REC,))


# ----- permissions (simulated: CI runs as root, for whom chmod 000 still reads) --------------

def deny(monkeypatch, target: Path):
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)


def test_unreadable_file_is_a_permission_error(kato_dir, monkeypatch):
    deny(monkeypatch, kato_dir / "worm_0_y.csv")
    with pytest.raises(DataPermissionError, match="worm_0_y.csv"):
        load_kato2015(worms=("1",), verify=False)


def test_unreadable_mat_is_not_called_corrupt(kato, data_dir, monkeypatch):
    path = write_mat(data_dir / "WT_NoStim.mat", "WT_NoStim", kato_fields(small_kato(kato)))
    deny(monkeypatch, path)
    with pytest.raises(DataPermissionError, match="WT_NoStim.mat") as caught:
        read_kato_mat(path)
    assert "delete" not in str(caught.value)


def test_unreadable_study_folder(kato_dir, monkeypatch):
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda p=".": (_ for _ in ()).throw(PermissionError(13, "denied", str(p)))
                        if Path(p) == kato_dir else real(p))
    with pytest.raises(DataPermissionError, match="kato2015"):
        load_kato2015(worms=("1",))


def test_symlink_loop_in_the_data_setting(tmp_path, monkeypatch):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    monkeypatch.setenv("WORMLIB_DATA", str(loop / "data"))
    with pytest.raises(DataNotFoundError, match="link loop"):
        data_dirs()


# ----- MATLAB files (parse path: a fixture file cannot carry the published hash) -----------

def small_kato(kato, n=30):
    return [Recording(r.study, r.worm, r.name, r.traces[:n, :40], r.labels[:40], r.states[:n],
                      r.state_names, r.fps, r.time[:n]) for r in kato[:2]]


def onehot_values(value):
    def edit(fields):
        fields["States"][0]["fwd"] = np.where(fields["States"][0]["fwd"] == 0, value, 1.0)
        fields["States"][0]["dt"] = np.full_like(fields["States"][0]["dt"], value)
    return edit


def time_values(edit_time):
    def edit(fields):
        fields["tv"][0] = edit_time(fields["tv"][0].copy())
    return edit


MAT_ATTACKS = [
    ("one-hot 0.5/0.5", onehot_values(0.5), InvalidValuesError),
    ("one-hot NaN", onehot_values(np.nan), InvalidValuesError),
    ("one-hot -1", onehot_values(-1.0), InvalidValuesError),
    ("NaN time", time_values(lambda t: np.where(np.arange(t.shape[0])[:, None] == 4, np.nan, t)), InvalidValuesError),
    ("decreasing time", time_values(lambda t: t[::-1]), InvalidValuesError),
    ("empty fps", lambda f: f["fps"].__setitem__(0, None), LayoutError),
    ("fps of two numbers", lambda f: f["fps"].__setitem__(0, np.array([[3.0, 3.0]])), LayoutError),
]


@pytest.mark.parametrize("attack", MAT_ATTACKS, ids=[a[0] for a in MAT_ATTACKS])
def test_attack_on_mat_gives_named_error(attack, kato, tmp_path):
    _, edit, error = attack
    fields = kato_fields(small_kato(kato))
    edit(fields)
    path = write_mat(tmp_path / "WT_NoStim.mat", "WT_NoStim", fields)
    with pytest.raises(error, match="WT_NoStim.mat"):
        read_kato_mat(path)


def test_mat_with_two_worms_under_the_default_worms(kato, data_dir):
    (data_dir / "kato2015").mkdir()
    write_mat(data_dir / "kato2015" / "WT_NoStim.mat", "WT_NoStim", kato_fields(small_kato(kato)))
    with pytest.raises(LayoutError, match=r"WT_NoStim.mat.*\['3', '4', '5'\]"):
        load_kato2015("osf", verify=False)


def test_nichols_two_candidate_state_vectors(tmp_path):
    fields = nichols_fields()
    for animal in fields["FourStates"]:
        animal["other"] = 5 - animal["fourStates"]
    with pytest.raises(LayoutError, match="ambiguous"):
        read_nichols_mat(write_mat(tmp_path / "n2_prelet.mat", "n2_prelet", fields))


def test_nichols_duplicate_ids(tmp_path):
    fields = nichols_fields()
    fields["IDs"][0] = [["AVAL"], ["AVAL"], None, None]
    with pytest.raises(InvalidValuesError, match="AVAL"):
        read_nichols_mat(write_mat(tmp_path / "n2_prelet.mat", "n2_prelet", fields))


def test_unlisted_nichols_file_is_refused_under_verify(data_dir):
    (data_dir / "nichols2017").mkdir()
    for stem in ("n2_prelet", "npr1_prelet"):
        write_mat(data_dir / "nichols2017" / f"{stem}.mat", stem, nichols_fields())
    with pytest.raises(ChecksumError, match="SHA256SUMS"):
        load_nichols2017()
    assert len(load_nichols2017(verify=False)) == 4


# ----- attacks on the analyses (issue 49): a named error or a warning, never a raw crash ----

def test_a_shifted_numeric_label_is_reported_with_its_column(kato_dir):
    path = kato_dir / "worm_0_neurons.csv"
    path.write_text(path.read_text().replace("AVAL", "7", 1))  # AVAL's column is 36
    with pytest.warns(UserWarning, match="column 36 is '7'"):
        (rec,) = load_kato2015(worms=("1",), verify=False)
    assert rec.column("AVAL") is None


def test_the_real_labels_raise_no_label_warning(kato_dir, recwarn):
    load_kato2015(worms=("1",))
    assert not [w for w in recwarn if "numeric neuron label" in str(w.message)]


def test_a_constant_neuron_is_named_and_gives_zero_features(kato):
    from dataclasses import replace

    from wormlib.preprocess import neuron_features

    traces = kato[0].traces.copy()
    column = kato[0].column("AVAL")
    traces[:, column] = 0.7
    with pytest.warns(UserWarning, match="constant trace.*AVAL"):
        rec = replace(kato[0], traces=traces)
    features = neuron_features(rec, ("AVAL", "AVAR"))
    assert np.all(features.values[:, 0] == 0) and features.values[:, 1].max() == 1.0
    with pytest.raises(InvalidValuesError, match="every trace is constant"):
        replace(kato[0], traces=np.ones_like(traces))


def test_an_fps_that_contradicts_the_time_vector_is_refused(kato):
    from dataclasses import replace

    with pytest.raises(InvalidValuesError, match="fps is 2904.* Hz but the time vector"):
        replace(kato[0], fps=kato[0].fps * 1000)


def test_a_recording_shorter_than_the_derivative_window_is_named(kato):
    from dataclasses import replace

    from wormlib.data import TaskError
    from wormlib.preprocess import neuron_features

    short = replace(kato[0], traces=kato[0].traces[:4], states=kato[0].states[:4], time=kato[0].time[:4])
    with pytest.raises(TaskError, match="7 frames.*recording's 4 frames"):
        neuron_features(short, ("AVAL", "AVAR"))


def test_neurons_missing_from_a_worm(kato):
    from dataclasses import replace

    from wormlib.data import TaskError
    from wormlib.preprocess import PAPER_NEURONS, neuron_features, shared_neurons

    anonymous = replace(kato[0], labels=tuple(None if l in PAPER_NEURONS else l for l in kato[0].labels))
    with pytest.raises(TaskError, match="worm 1 has none of them"):
        shared_neurons([anonymous, kato[1]])
    keep_one = replace(kato[0], labels=tuple(None if l in PAPER_NEURONS and l != "AVAL" else l
                                             for l in kato[0].labels))
    with pytest.raises(TaskError, match="only 1 of the 15 neurons.*missing: AIBL, AIBR"):
        neuron_features(keep_one)


def test_one_state_only_or_too_short_for_the_folds(kato):
    from dataclasses import replace

    from wormlib.data import TaskError
    from wormlib.experiments import seen_splits, unseen_splits
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData

    forward = replace(kato[0], states=np.full_like(kato[0].states, kato[0].state_names.index("fwd")))
    one_state = TaskData.build([forward, kato[1]], "2-state", PAPER_NEURONS[:4])
    with pytest.raises(TaskError, match="training frames hold forward only"):
        seen_splits(one_state, "contiguous-blocks", 10)
    with pytest.raises(TaskError, match="training frames hold forward only"):
        unseen_splits(one_state, 1)
    n = 40
    short = replace(kato[1], traces=kato[1].traces[:n], states=kato[1].states[:n], time=kato[1].time[:n])
    with pytest.raises(TaskError, match="too (few states|short)"):
        seen_splits(TaskData.build([short], "2-state", PAPER_NEURONS[:4]), "shuffled-windows", 10)


def test_worms_at_different_frame_rates_in_one_task_are_refused_where_frames_are_time(kato):
    """Frame lags or rollout steps in one task mean the same seconds only when the worms share a
    frame rate: Kato (≈ 2.9 Hz) beside Dag (1.67 Hz) is refused, naming both rates; each worm's
    own lags (as the cross-lab chapter gives them) pass; the Kato worms alone (2.80–3.07 Hz) pass."""
    from wormlib.crosslab import window_lags
    from wormlib.data import TaskError
    from wormlib.experiments import LAGS, unseen_splits
    from wormlib.train import TaskData
    from wormlib.trajectories import run as run_trajectories

    dag = load_dag2023()[:1]
    neurons = ("AVAL", "AVAR", "RIML")
    mixed = TaskData.build(kato[:2] + dag, "2-state", neurons)
    assert mixed.fps == pytest.approx((kato[0].fps, kato[1].fps, dag[0].fps))
    with pytest.raises(TaskError, match=r"1\.67 Hz.*different seconds"):
        mixed.with_lags(LAGS)
    own = mixed.with_lags(window_lags(list(mixed.fps), float(np.mean(mixed.fps[:2])), 2))
    assert own.window == len(LAGS)
    with pytest.raises(TaskError, match="Trajectory steps"):
        run_trajectories(("persistence",), mixed, unseen_splits(mixed, 2, 1, classify=False), 4, None)
    assert TaskData.build(kato, "2-state", neurons).with_lags(LAGS).window == len(LAGS)

"""Chapter 6's generalisation test on any dataset (issue 52): parameters, neurons, state names,
and that a lab's run writes nowhere the book reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wormlib import preprocess, yourworms
from wormlib.data import TaskError, load_dag2023


@pytest.fixture(scope="module")
def example():
    return yourworms.load(yourworms.EXAMPLE, yourworms.DEFAULT_STATES)


def test_the_worked_example_reads_the_dag_worms_through_nwb(example):
    recordings, name = example
    dag = load_dag2023()
    assert name == "example" and [r.worm for r in recordings] == [r.worm for r in dag]
    for nwb, h5 in zip(recordings, dag):
        assert nwb.study == "nwb" and nwb.state_names == ("forward", "reverse")
        assert np.array_equal(nwb.traces, h5.traces) and nwb.labels == h5.labels
        assert np.array_equal(preprocess.task_labels(nwb, "2-state"), preprocess.task_labels(h5, "2-state"))


def test_neurons_by_name_or_by_rule(example):
    recordings, _ = example
    assert yourworms.choose_neurons(recordings, "paper") == ("AIBL", "AIBR", "AVAL", "AVAR", "AVER", "RID", "RMEL")
    assert len(yourworms.choose_neurons(recordings, "all")) == 39
    assert yourworms.choose_neurons(recordings, "AVAL, AVAR") == ("AVAL", "AVAR")
    with pytest.raises(TaskError, match="lacks VB01"):
        yourworms.choose_neurons(recordings, "AVAL,VB01")


def test_states_are_mapped_by_the_parameter_and_checked(example):
    recordings, _ = example
    dag = load_dag2023()[0]
    only_reversals = preprocess.relabel(dag, "2-state", {"reverse": ["reversal"]})
    assert set(np.unique(only_reversals.states)) == {-1, 1}
    with pytest.raises(TaskError, match="no state 'pause'"):
        preprocess.relabel(dag, "2-state", {"forward": ["pause"]})
    with pytest.raises(TaskError, match="not turning"):
        preprocess.relabel(dag, "2-state", {"turning": ["reversal"]})
    with pytest.raises(TaskError, match="two classes"):
        preprocess.relabel(dag, "2-state", {"forward": ["reversal"], "reverse": ["reversal"]})
    with pytest.raises(ValueError, match="states must be JSON"):
        yourworms.parse_states("forward=non-reversal")
    assert yourworms.parse_states(json.dumps(yourworms.DEFAULT_STATES)) == yourworms.DEFAULT_STATES
    from dataclasses import replace

    with pytest.raises(ValueError, match="relabel"):  # a study without a state map, not relabelled
        preprocess.task_labels(replace(recordings[0], state_names=("a", "b")), "2-state")


def test_a_lab_dataset_writes_its_own_files_only(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from wormlib import store

    configured = {}
    monkeypatch.setattr(store, "configure", lambda root, stage, device: configured.update(root=root, stage=stage))
    results = yourworms.outputs("my-lab", SimpleNamespace(profile="full", device="cpu"))
    assert configured["root"] == yourworms.USER_RESULTS / "store" / "my-lab" and configured["stage"] is None
    assert results.chapter == "your-worms/my-lab"
    assert yourworms.outputs("example", SimpleNamespace(profile="full", device="cpu")).chapter == "your_worms"


def test_a_folder_of_nwb_files_is_a_dataset(tmp_path):
    from wormlib.data import write_nwb

    for rec in load_dag2023()[:3]:
        write_nwb(rec, tmp_path / f"{rec.worm}.nwb")
    recordings, name = yourworms.load(f"nwb:{tmp_path}", {"forward": ["non-reversal"], "reverse": ["reversal"]})
    assert len(recordings) == 3 and name == tmp_path.name.lower()
    (tmp_path / f"{recordings[2].worm}.nwb").unlink()
    with pytest.raises(TaskError, match="at least 3"):
        yourworms.load(f"nwb:{tmp_path}", yourworms.DEFAULT_STATES)

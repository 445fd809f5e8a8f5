"""The experiment store (wormlib.store): keys from the code that ran, the arguments and the
environment; values kept exactly; an edited entry never becomes a number."""

import json
import math
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from wormlib import store


def _module(tmp_path, monkeypatch, source: str, name: str = "toy"):
    """A module of a stand-in package (``store.PACKAGE_DIR``), imported afresh."""
    package = tmp_path / "pkg"
    package.mkdir(exist_ok=True)
    (package / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.setattr(store, "PACKAGE_DIR", package.resolve())
    monkeypatch.syspath_prepend(str(package))
    sys.modules.pop(name, None)
    return __import__(name)


TOY = """
    '''A toy module.'''
    from wormlib.store import cached

    SCALE = 2
    calls = []


    def helper(x):
        '''Doubles.'''
        return x * SCALE


    def unused(x):
        return -x


    class Box:
        offset = 1

        def add(self, x):
            return x + self.offset


    @cached
    def experiment(x, flag=False):
        calls.append(x)
        return pd_frame(helper(x) + Box().add(0))


    def pd_frame(v):
        import pandas as pd
        return pd.DataFrame({"v": [float(v)], "n": [int(v)], "s": ["a"]})
"""


@pytest.fixture
def active_store(tmp_path, monkeypatch):
    root = tmp_path / "results" / "store" / "toy"
    monkeypatch.delenv("WORMLIB_RESULTS_STAGE", raising=False)
    store.configure(root, None, "cpu")
    yield root
    monkeypatch.delenv(store.STORE_ENV, raising=False)


def test_code_hash_ignores_comments_docstrings_and_formatting(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text("X = 1\n\ndef f(x):\n    '''Doc.'''\n    return x + X\n")
    b.write_text("# comment\nX = (1)\n'''What X is: an attribute docstring.'''\n\n\ndef f( x ):\n    '''Another doc.'''\n"
                 "    # why\n    return (x +\n            X)\n")
    c.write_text("X = 1\n\ndef f(x):\n    return x - X\n")
    assert store.module_hashes(a) == store.module_hashes(b)
    assert store.module_hashes(a)["f"] != store.module_hashes(c)["f"]
    assert store.module_hashes(a)[store.SKELETON] == store.module_hashes(c)[store.SKELETON]  # constants alike


def test_an_entry_records_the_code_that_ran_and_only_that(tmp_path, monkeypatch, active_store):
    toy = _module(tmp_path, monkeypatch, TOY)
    value = toy.experiment(3)
    assert value.v.tolist() == [7.0] and toy.calls == [3]
    (entry_path,) = active_store.rglob("*.json")
    code = json.loads(entry_path.read_text())["code"]
    assert {"toy.py:experiment", "toy.py:helper", "toy.py:Box.add", "toy.py:pd_frame", "toy.py:<module>"} <= set(code)
    assert "toy.py:unused" not in code
    # a second call comes from the store: same frame, exactly, and the function does not run
    again = toy.experiment(3)
    pd.testing.assert_frame_equal(again, value, check_exact=True)
    assert toy.calls == [3]


def test_a_run_from_scratch_computes_each_entry_once(tmp_path, monkeypatch, active_store):
    """``--fresh``: an entry written before the run began is computed again; one the run wrote (for
    another page of it) is read, so nothing is trained twice."""
    import time

    toy = _module(tmp_path, monkeypatch, TOY)
    toy.experiment(3)
    time.sleep(0.05)                                                      # file times are coarse
    monkeypatch.setenv(store.FRESH_ENV, repr(time.time()))
    toy.experiment(3)
    assert toy.calls == [3, 3]
    toy.experiment(3)
    assert toy.calls == [3, 3]
    monkeypatch.setenv(store.FRESH_ENV, "yes")
    with pytest.raises(ValueError, match="UNIX time"):
        toy.experiment(3)


def test_an_entry_records_its_work_apart_from_waiting(tmp_path, monkeypatch, active_store):
    """``seconds`` is wall time, ``cpu_seconds`` the process's CPU time: a call that waits (as an
    entry does while another process holds its core) takes seconds but little CPU time."""
    toy = _module(tmp_path, monkeypatch, TOY.replace("calls.append(x)", "calls.append(x); __import__('time').sleep(0.4)"))
    toy.experiment(3)
    (entry_path,) = active_store.rglob("*.json")
    entry = json.loads(entry_path.read_text())
    assert entry["seconds"] >= 0.4
    assert 0 <= entry["cpu_seconds"] < 0.2


@pytest.mark.parametrize("edit, reruns", [
    ("return -x", False),                                          # code that never ran
    ("'''Doubles.'''", False),                                     # a docstring
    ("return x * SCALE", True),                                    # code that ran …
    ("SCALE = 2", True),                                           # … a constant it reads
    ("offset = 1", True),                                          # … a class attribute
])
def test_only_a_change_to_code_that_ran_recomputes(tmp_path, monkeypatch, active_store, edit, reruns):
    toy = _module(tmp_path, monkeypatch, TOY)
    toy.experiment(3)
    changed = {"return -x": "return -x - 1", "'''Doubles.'''": "'''Doubles, twice.'''",
               "return x * SCALE": "return x * SCALE + 0", "SCALE = 2": "SCALE = 2.0", "offset = 1": "offset = 1.0"}
    toy = _module(tmp_path, monkeypatch, TOY.replace(edit, changed[edit]))
    toy.experiment(3)
    assert toy.calls == ([3] if reruns else [])


def test_arguments_and_environment_are_in_the_key(tmp_path, monkeypatch, active_store):
    toy = _module(tmp_path, monkeypatch, TOY)
    toy.experiment(3), toy.experiment(4), toy.experiment(3, flag=True)
    assert toy.calls == [3, 4, 3]
    real = store.environment
    monkeypatch.setattr(store, "environment", lambda device: {**real(device), "torch": "0.0"})
    toy.experiment(3)
    assert toy.calls == [3, 4, 3, 3]


def test_an_edited_entry_is_an_error_not_a_number(tmp_path, monkeypatch, active_store):
    toy = _module(tmp_path, monkeypatch, TOY)
    toy.experiment(3)
    (path,) = active_store.rglob("*.json")
    path.write_text(path.read_text().replace("7.0", "0.7"))
    with pytest.raises(store.StoreError, match="does not match its SHA-256"):
        toy.experiment(3)


def test_argument_digests_see_contents():
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    same = x.clone()
    other = x.clone()
    other[1, 2] += 1e-6
    assert store.digest(x) == store.digest(same) != store.digest(other)
    assert store.digest(x) != store.digest(x.double())
    assert store.digest((1, "a")) != store.digest([1, "a"]) != store.digest((1, "b"))
    assert store.digest({"a": 1, "b": 2}) == store.digest({"b": 2, "a": 1})
    with pytest.raises(store.UncacheableError, match="object"):
        store.digest(object())


def test_where_a_recording_was_read_from_is_not_part_of_its_digest(kato):
    """Recording.source is provenance: the same worm read from another folder (a fresh clone's
    ./data, a lab's mirror) is the same argument; any change to what it holds is not."""
    from dataclasses import replace

    moved = replace(kato[0], source="/elsewhere/raw_full_data_worm_1.npz")
    assert store.digest(moved) == store.digest(kato[0])
    assert store.digest(replace(kato[0], name="other")) != store.digest(kato[0])
    traces = kato[0].traces.copy()
    traces[0, 0] += 1e-9
    assert store.digest(replace(kato[0], traces=traces)) != store.digest(kato[0])


def test_values_survive_the_store_exactly():
    frame = pd.DataFrame({"model": ["gnn", "mlp", "lr"], "n": np.array([1, 2, 3], np.int64),
                          "acc": [0.1 + 0.2, math.nan, 1e-300], "ok": [True, False, True],
                          "train": ["0,1", "2", "3"], "skipped": [1.0, math.nan, 0.0]})
    value = (frame, {"w": torch.randn(3, 4), "i": torch.tensor([1, 2], dtype=torch.int64),
                     "empty": torch.zeros(0, 3)}, [np.arange(6, dtype=np.int32).reshape(2, 3), 7, "x"],
             np.float64(0.3), {1: "non-string key"}, complex(0.5, -2.0), np.complex128(1j),
             np.exp(1j * np.arange(3.0)))
    back = store.decode(json.loads(store.canonical(store.encode(value))))
    assert store._same(value, back)
    pd.testing.assert_frame_equal(back[0], frame, check_exact=True)
    assert not store._same(value, (frame.assign(acc=[0.3, math.nan, 1e-300]), *value[1:]))
    with pytest.raises(store.UncacheableError, match="default index"):
        store.encode(frame.set_index("model"))


def test_without_a_chapter_run_the_function_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.delenv(store.STORE_ENV, raising=False)
    toy = _module(tmp_path, monkeypatch, TOY)
    toy.experiment(3), toy.experiment(3)
    assert toy.calls == [3, 3] and not (tmp_path / "results").exists()


def test_a_change_to_one_model_recomputes_exactly_the_experiments_that_ran_it(kato, tmp_path, monkeypatch,
                                                                              active_store):
    # the book's real unit: one model family on one protocol (experiments.scores_of). TAVRNN's
    # entry holds TAVRNN's code; the MLP's and logistic regression's do not, so a change to
    # TAVRNN's cell leaves theirs valid
    from wormlib import experiments
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData, TrainConfig

    data = TaskData.build(kato, "2-state", PAPER_NEURONS)
    splits = experiments.unseen_splits(data, 4, 1)
    cfg = TrainConfig(steps=2)
    for name in ("tavrnn", "mlp-concat", "logistic-regression"):
        experiments.scores_of(name, data, *splits, 8, cfg)
    entries = {json.loads(p.read_text())["arguments_sha256"]: json.loads(p.read_text()) for p in active_store.rglob("*.json")}
    by_model = {name: next(e for e in entries.values() if e["arguments_sha256"] == store.digest(
        (f"{experiments.scores_of.__module__}.{experiments.scores_of.__qualname__}", (name, data, *splits, 8, cfg), {})))
        for name in ("tavrnn", "mlp-concat", "logistic-regression")}
    assert "tavrnn.py:TAVRNN.forward" in by_model["tavrnn"]["code"]
    assert not any(k.startswith("tavrnn.py") for k in by_model["mlp-concat"]["code"])
    assert "models.py:MLPClassifier.forward" in by_model["mlp-concat"]["code"]
    assert not any(k.startswith("models.py") for k in by_model["logistic-regression"]["code"])
    env = store.environment("cpu")
    real = store.code_hash
    monkeypatch.setattr(store, "code_hash", lambda module, name: "changed" if (
        str(module).endswith("tavrnn.py") and name == "TAVRNN.forward") else real(module, name))
    valid = {name: store.still_valid(e, e["arguments_sha256"], env) for name, e in by_model.items()}
    assert valid == {"tavrnn": False, "mlp-concat": True, "logistic-regression": True}


def test_code_run_on_worker_processes_counts_for_a_traced_call():
    # wormlib.jobs hands a traced call's jobs to workers, which trace themselves and send the code back
    from wormlib import jobs

    value, code = store.traced(jobs.run_jobs, store.digest, [(1,), (2,)], 2)
    assert value == [store.digest(1), store.digest(2)]
    assert "store.py:digest" not in code  # plumbing never enters a key …
    from wormlib import variability

    states = [(np.array([0, 0, 1, 1, 0]),), (np.array([2, 2, 2]),)]
    value, code = store.traced(jobs.run_jobs, variability.episodes, states, 2)
    assert value == [variability.episodes(*s) for s in states]
    assert "variability.py:episodes" in code  # … what the workers ran does

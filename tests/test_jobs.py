"""Training jobs on worker processes (wormlib.jobs): the same bits as one after another."""

import math
import os

import pandas as pd
import pytest
import torch

from wormlib import experiments, jobs
from wormlib.train import TaskData, TrainConfig

MODELS = ("logistic-regression-lagged", "mlp-concat-window", "gnn-inferred-static-gru-window", "tavrnn")
REPLICATED = ("gnn-inferred-static-gru-window", "tavrnn")                   # the others once, seed 0


@pytest.fixture
def one_thread():
    """This process on one thread (torch and the BLAS/OpenMP pools already loaded), as its workers
    and as ``tools/execute_chapters.py`` runs a chapter: the lagged logistic regression's solver, on
    NumPy's BLAS, gives other last bits on two threads."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


def test_time_context_on_two_workers_gives_the_bits_of_one_process(kato, one_thread):
    settings = [("causal", "4-state", 3, MODELS, REPLICATED), ("centred", "2-state", 4, MODELS[:2])]
    args = (kato, settings, 8, TrainConfig(steps=3), 1, 2)                  # hidden 8, one subset, 2 seeds
    alone = experiments.time_context(*args, workers=1)
    pooled = experiments.time_context(*args, workers=2)
    pd.testing.assert_frame_equal(pooled, alone, check_exact=True)
    assert alone.groupby("derivative").model.unique().map(len).to_dict() == {"causal": 4, "centred": 2}
    lagged = alone[alone.model == "logistic-regression-lagged"]
    assert set(lagged.seed) == {0} and set(alone[alone.model == "tavrnn"].seed) == {0, 1}


def test_jobs_assemble_the_table_run_models_gives(kato):
    data = TaskData.build(kato, "2-state", experiments.PAPER_NEURONS)
    splits = experiments.unseen_splits(data, 4, 2)
    cfg = TrainConfig(steps=3)
    models, nets = ("mlp-concat", "logistic-regression", "gnn-inferred-static"), ("mlp-concat", "gnn-inferred-static")
    expected = pd.concat([
        experiments.run_models(nets, data, experiments.replicate(splits, 2), 8, cfg)[0],
        experiments.run_models(("logistic-regression",), data, splits, 8, cfg)[0].assign(seed=0),
    ], ignore_index=True)
    got = experiments.run_replicated(models, nets, data, splits, 2, 8, cfg)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_a_worker_has_one_thread_whatever_its_parent_has(monkeypatch):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "2")
    counts = jobs.run_jobs(jobs.thread_counts, [(), ()], workers=2)
    assert counts == [dict(torch=1, blas=1)] * 2
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"                          # the parent's, as it was


def test_a_failing_job_raises_in_the_caller():
    with pytest.raises(ValueError, match="math domain error"):
        jobs.run_jobs(math.sqrt, [(4.0,), (-1.0,), (9.0,)], workers=2)


def test_a_worker_ends_when_the_run_that_started_it_is_killed(tmp_path):
    """A killed chapter run (its kernel gone) leaves no worker training on a core."""
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "worker.pid"
    (tmp_path / "long_job.py").write_text(
        "import os, time\n\n\ndef run(path):\n"
        "    with open(path, 'a') as fh:\n        fh.write(f'{os.getpid()}\\n')\n    time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", "import long_job\nfrom wormlib import jobs\n"
                               f"jobs.run_jobs(long_job.run, [({str(pid_file)!r},)] * 2, workers=2)"], env=env)
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().count("\n") == 2) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [int(p) for p in pid_file.read_text().split()]
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(3)                                                          # the watch looks every second
    alive = [p for p in workers if os.path.exists(f"/proc/{p}") and "Z" not in
             open(f"/proc/{p}/stat").read().split(")")[-1].split()[0]]
    for p in alive:                                                        # no orphan outlives a failure
        os.kill(p, signal.SIGKILL)
    assert not alive


def test_worker_count_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.setenv(jobs.WORKERS_ENV, "3")
    assert jobs.worker_count("cuda") == 3
    monkeypatch.delenv(jobs.WORKERS_ENV)
    assert jobs.worker_count("cuda") == 1                                    # one accelerator: no workers
    assert jobs.worker_count("cpu") >= 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(jobs.WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=jobs.WORKERS_ENV):
            jobs.worker_count("cpu")


def _first_time_context_setting_of_chapter_3() -> tuple:
    """The first setting of chapter 3's ``experiments.time_context`` call, evaluated from the
    chapter's source (with the ``window_nets`` it defines before the call)."""
    import ast

    from wormlib.provenance import chapter_source

    tree = ast.parse(chapter_source("03_time_context").read_text())
    namespace = {"experiments": experiments}
    assign = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "window_nets" for t in n.targets))
    exec(compile(ast.Module([assign], []), "chapter 3", "exec"), namespace)
    call = next(n for n in ast.walk(tree)
                if isinstance(n, ast.Call) and ast.unparse(n.func) == "experiments.time_context")
    settings = call.args[1]
    return eval(compile(ast.Expression(settings.elts[0]), "chapter 3", "eval"), namespace)


def test_the_time_context_benchmark_times_chapter_3s_first_setting(load_tool):
    chapter = _first_time_context_setting_of_chapter_3()
    assert chapter[:3] == ("causal", "7-state", 4) and "tavrnn" in chapter[3]   # the parse found the setting
    assert load_tool("benchmark_time_context").first_setting() == chapter


def test_jobs_on_a_dask_cluster_give_the_bits_of_one_process(kato, one_thread, monkeypatch):
    """WORMLIB_SCHEDULER=local:2: a LocalCluster of two one-thread worker processes (issue 51)."""
    data = TaskData.build(kato, "2-state", experiments.PAPER_NEURONS)
    splits = experiments.unseen_splits(data, 4, 2)
    args = (("mlp-concat", "logistic-regression", "gnn-inferred-static"), ("mlp-concat", "gnn-inferred-static"),
            data, splits, 2, 8, TrainConfig(steps=3))
    alone = experiments.run_replicated(*args, workers=1)
    monkeypatch.setenv(jobs.SCHEDULER_ENV, "local:2")
    assert jobs.run_jobs(jobs.thread_counts, [(), ()]) == [dict(torch=1, blas=1)] * 2
    on_dask = experiments.run_replicated(*args, workers=1)   # the scheduler, not the worker count, decides
    pd.testing.assert_frame_equal(on_dask, alone, check_exact=True)
    with pytest.raises(ValueError, match="math domain error"):
        jobs.run_jobs(math.sqrt, [(4.0,), (-1.0,)])

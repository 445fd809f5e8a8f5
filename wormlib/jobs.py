"""Independent training jobs on one-thread worker processes, with the bits of one after another.

More threads per op change the last bits of large element-wise ops (HISTORY.md, "Tried and
reverted: idle cores for the last chapter"; ``benchmarks/thread_invariance.py``); more *jobs* do not.
A job here is one model trained on its splits (``wormlib.experiments.run``), which seeds itself,
so its scores are the same whether it runs in this process after other jobs or alone in a worker
process, whatever the schedule: each worker has one thread, as every chapter has (torch's and the
BLAS/OpenMP pools', whatever the calling process has), and the settings
``provenance.seed_everything`` gives the chapter's process. ``benchmarks/benchmark_jobs.py``
measures the speed-up and checks the bits; a test checks them on a tiny setting.

The number of workers is not a chapter parameter (it cannot change a result): ``WORMLIB_WORKERS``,
or by default every core this process may use on the CPU, and 1 (no workers: models on one
accelerator would compete for its memory) on a GPU.

**More than one machine** (issue 51): with ``WORMLIB_SCHEDULER`` set, the jobs go to a Dask
cluster instead (``dask.distributed``): ``local`` or ``local:<n>`` starts a ``LocalCluster`` of
one-thread worker processes on this machine; any other value is the address of a running
scheduler (``tcp://host:8786``, e.g. a dask-jobqueue ``SLURMCluster``'s, whose workers run with one
thread each, ``OMP_NUM_THREADS=1``, and see this repository at the same path). Each job seeds
itself and runs on one thread there too, so the results are the bits of a local run.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context

from tqdm import tqdm

from . import store

WORKERS_ENV = "WORMLIB_WORKERS"
SCHEDULER_ENV = "WORMLIB_SCHEDULER"
ONE_THREAD_ENV = {var: "1" for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
"""What a worker process starts with: its BLAS and OpenMP libraries read it when they load."""


def worker_count(device: str = "cpu") -> int:
    """How many one-thread worker processes to train jobs on: ``WORMLIB_WORKERS`` if set, else
    the cores this process may use (``device`` ``"cpu"``) or 1 (an accelerator)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{WORKERS_ENV} must be a whole number ≥ 1, not {value!r}")
        return int(value)
    if device != "cpu":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe(workers: int) -> str:
    """Where a page's independent models train, for its set-up cell (``worker_count``)."""
    if workers > 1:
        return f"independent models trained on {workers} one-thread worker processes"
    return "models trained one after another in this process"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set (processes started meanwhile inherit them), then as it was."""
    before = {var: os.environ.get(var) for var in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for var, value in before.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def thread_counts() -> dict[str, int]:
    """This process's threads per op: torch's and the most any loaded BLAS/OpenMP pool has."""
    import numpy  # noqa: F401  (loads NumPy's BLAS, so that it is counted)
    import torch
    from threadpoolctl import threadpool_info

    return dict(torch=torch.get_num_threads(), blas=max(p["num_threads"] for p in threadpool_info()))


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """End this worker once the process that started it is gone (a chapter run killed): left
    alone, it would train on unseen until its job ends, holding a core."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


def _start_worker() -> None:
    """A worker's set-up: torch on one thread (its BLAS pools have one from ``ONE_THREAD_ENV``),
    deterministic algorithms, freed memory kept (as a chapter's process); it ends with its parent."""
    import torch

    from .runtime import keep_freed_memory

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    keep_freed_memory()


def run_jobs(fn: Callable, jobs: Sequence[tuple], workers: int = 1, desc: str = "jobs") -> list:
    """``[fn(*job) for job in jobs]``, on ``workers`` one-thread processes when more than one
    (``fn`` must be importable: a module-level function). Jobs start in the order given (put the
    longest first), results come back in that order; on a Dask cluster when ``WORMLIB_SCHEDULER``
    is set (:func:`_on_dask`)."""
    scheduler = os.environ.get(SCHEDULER_ENV, "").strip()
    if (workers <= 1 and not scheduler) or len(jobs) <= 1:
        return [fn(*job) for job in tqdm(jobs, desc=desc, disable=None)]
    # jobs the experiment store holds are read here: no worker is started for them
    results = ([store.lookup(fn, job, threads=1) for job in jobs] if hasattr(fn, "uncached")
               else [store.MISS] * len(jobs))
    todo = [i for i, value in enumerate(results) if value is store.MISS]
    if todo:  # on workers even when one is left: the one-thread bits of every job
        runner = (lambda *a: _on_dask(scheduler, *a)) if scheduler else _on_workers
        for i, value in zip(todo, runner(fn, [jobs[i] for i in todo], workers, desc)):
            results[i] = value
    return results


def _on_workers(fn: Callable, jobs: Sequence[tuple], workers: int, desc: str) -> list:
    """``[fn(*job) for job in jobs]`` on ``workers`` one-thread processes, in the jobs' order."""
    # a traced call (wormlib.store) counts the code its jobs run on the workers as its own
    traced = store.tracing()
    env = {**ONE_THREAD_ENV, store.DATA_READ_ENV: json.dumps(store.data_read())}
    with _environment(env), ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn"),
                                                initializer=_start_worker) as pool:
        call = (store.traced, fn) if traced else (fn,)
        futures = {pool.submit(*call, *job): i for i, job in enumerate(jobs)}
        try:
            return _gathered(as_completed(futures), futures, traced, desc)
        except BaseException:  # a job failed (or an interrupt): start no other
            for future in futures:
                future.cancel()
            raise


def _gathered(done, index: dict, traced: bool, desc: str) -> list:
    """The values of the futures in ``index`` (future → job number) as ``done`` yields them,
    in the jobs' order; a traced job's code merged into this process's trace."""
    results = [None] * len(index)
    for future in tqdm(done, total=len(index), desc=desc, disable=None):
        value = future.result()
        if traced:
            value, code = value
            store.merge(code)
        results[index[future]] = value
    return results


def _on_dask(scheduler: str, fn: Callable, jobs: Sequence[tuple], workers: int, desc: str) -> list:
    """``[fn(*job) for job in jobs]`` on a Dask cluster (``scheduler``: ``local[:n]`` or an
    address; see the module's docstring), every worker set up as ``_start_worker`` sets up a
    local one, in the jobs' order."""
    from distributed import Client, LocalCluster, as_completed as completed

    traced = store.tracing()
    env = {**ONE_THREAD_ENV, store.DATA_READ_ENV: json.dumps(store.data_read())}
    with _environment(env):
        if scheduler == "local" or scheduler.startswith("local:"):
            n = int(scheduler.split(":", 1)[1]) if ":" in scheduler else max(workers, 1)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            cluster, client = None, Client(scheduler)
    try:
        client.run(_start_worker)
        call = (store.traced, fn) if traced else (fn,)
        futures = {client.submit(*call, *job, pure=False): i for i, job in enumerate(jobs)}
        return _gathered(completed(futures), futures, traced, desc)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

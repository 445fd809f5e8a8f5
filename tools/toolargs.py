"""What the command-line tools that run chapter code share: a profile and a thread count, with the
threads pinned as ``execute_chapters.py`` pins them for a chapter (before torch is imported)."""

from __future__ import annotations

import argparse
import os

from wormlib.jobs import ONE_THREAD_ENV  # imports no NumPy or torch

THREAD_VARS = tuple(ONE_THREAD_ENV)
"""The BLAS/OpenMP thread variables: those a training worker starts at one (``wormlib.jobs``)."""

CHAPTER_ENV = {"NUMPY_MADVISE_HUGEPAGE": "0"}
"""The environment every process that runs chapter code gets (unless the caller set a variable).
NumPy madvises each large array for transparent huge pages; where the kernel's THP defrag setting
is ``madvise`` (as on the development machine), faulting such an array in can stall on synchronous
memory compaction (numpy issue 31590). Chapter 1's quick profile, mostly ADMM's large distance
blocks, took 81–84 s with the advice and 55–58 s without, on the 2-core development machine
(HISTORY.md). Where memory comes from changes, not a single number."""


def chapter_environment(env: dict | None = None) -> dict:
    """``env`` (default: this process's ``os.environ``, changed in place) with ``CHAPTER_ENV``'s
    variables set where it has none; call before NumPy is imported for this process to feel it."""
    env = os.environ if env is None else env
    for var, value in CHAPTER_ENV.items():
        env.setdefault(var, value)
    return env


def chapter_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--profile`` and ``--threads``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=("quick", "full"))
    parser.add_argument("--threads", type=int, default=1)
    return parser


def pin_threads(n: int) -> None:
    """Set the BLAS/OpenMP thread counts of this process to ``n`` and the rest of a chapter's
    environment (``CHAPTER_ENV``), as the chapters run (call before importing NumPy or torch)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    chapter_environment()

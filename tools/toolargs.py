"""What the command-line tools that run chapter code share: a profile and a thread count, with the
threads pinned as ``execute_chapters.py`` pins them for a chapter (before torch is imported)."""

from __future__ import annotations

import argparse
import os

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def chapter_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--profile`` and ``--threads``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=("quick", "full"))
    parser.add_argument("--threads", type=int, default=1)
    return parser


def pin_threads(n: int) -> None:
    """Set the BLAS/OpenMP thread counts of this process to ``n`` (call before importing torch)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)

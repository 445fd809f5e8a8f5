"""Process-level settings that make training fast on the CPU without changing any number.

**Memory.** glibc's ``malloc`` hands every block above its mmap threshold (128 KiB, adapting upwards) back to
the operating system when it is freed, so each training step that allocates the same 10 MB
activation tensors again page-faults them in afresh: ≈ 4,600 minor faults per step of the
chapter-3 GNN stack, ≈ 15 % of its time (``tools/benchmark_step.py``). Raising the mmap and trim
thresholds keeps those blocks in the heap, to be reused. Values are unaffected: only where memory
comes from changes.

**Threads.** The chapter runner (``tools/execute_chapters.py``) runs chapters in parallel, one
core each, and once a core falls idle (the short chapters are done, the longest still trains) it
grants the running chapters more threads through a file named by ``$WORMLIB_THREAD_BUDGET``;
training loops follow it (:func:`budgeted`). Only torch's threads change, only while a model
trains: every training step of the chapters' models gives the same bits on one thread or two
(``tests/test_runtime.py``, and the strict comparison of a whole run in HISTORY.md), while
evaluation on whole recordings and NumPy's BLAS (scikit-learn's solvers) do not, and keep the
count the runner pinned.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
_DONE = False
THREAD_BUDGET_ENV = "WORMLIB_THREAD_BUDGET"
_budget_read_at, _granted = -float("inf"), 0  # when last read, what it granted
T = TypeVar("T")


def keep_freed_memory(threshold: int = 1 << 30) -> bool:
    """Tell glibc to serve blocks up to ``threshold`` bytes from the heap and not to return freed
    memory to the system (Linux/glibc only; elsewhere a no-op). Returns whether it applied."""
    global _DONE
    if _DONE:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(min(threshold, 2**31 - 1))) == 1
        ok &= libc.mallopt(M_TRIM_THRESHOLD, ctypes.c_int(2**31 - 1)) == 1
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return False
    _DONE = bool(ok)
    return _DONE


def follow_thread_budget(every_s: float = 1.0) -> int:
    """Set torch's thread count to the one the chapter runner grants this process now (an
    integer in the file ``$WORMLIB_THREAD_BUDGET``, read at most every ``every_s`` seconds; a
    missing, unset or unreadable file leaves the count as it is). Returns the count in force."""
    global _budget_read_at, _granted
    path = os.environ.get(THREAD_BUDGET_ENV)
    if not path:
        return torch.get_num_threads()
    now = time.monotonic()
    if now - _budget_read_at >= every_s:
        _budget_read_at = now
        try:
            _granted = int(Path(path).read_text())
        except (OSError, ValueError):  # not written yet (the runner writes it atomically)
            pass
    if _granted >= 1 and _granted != torch.get_num_threads():
        torch.set_num_threads(_granted)
    return torch.get_num_threads()


def budgeted(steps: Iterable[T]) -> Iterator[T]:
    """``steps`` (a training loop's iterable), following the thread budget before each step;
    the loop over, the thread count is the one before it again. Training steps give the same
    bits on any count; evaluating a whole recording at once does not (a batch-norm statistic
    over thousands of frames is summed in per-thread parts), so it keeps the pinned count."""
    pinned = torch.get_num_threads()
    try:
        for step in steps:
            follow_thread_budget()
            yield step
    finally:
        torch.set_num_threads(pinned)

"""What makes training fast without changing any number: a process-level memory setting, and
host-to-device copies that do not wait for the device (:func:`to_device`).

glibc's ``malloc`` hands every block above its mmap threshold (128 KiB, adapting upwards) back to
the operating system when it is freed, so each training step that allocates the same 10 MB
activation tensors again page-faults them in afresh: ≈ 4,600 minor faults per step of the
chapter-3 GNN stack, ≈ 15 % of its time (``benchmarks/benchmark_step.py``). Raising the mmap and trim
thresholds keeps those blocks in the heap, to be reused. Values are unaffected: only where memory
comes from changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
_DONE = False


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


def to_device(t: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """A host tensor (a training step's batch indices, drawn on the CPU so that every device
    draws the same) on ``device`` without making the host wait: ``t.to("cuda")`` from pageable
    memory synchronises with the GPU on every call, so a training loop could not queue its next
    step while the GPU runs this one (issue 51). On CUDA the tensor is copied from pinned memory,
    asynchronously; elsewhere ``non_blocking`` changes nothing. The values are the same."""
    device = torch.device(device)
    if t.device == device:
        return t
    if device.type == "cuda":
        t = t.pin_memory()
    return t.to(device, non_blocking=True)

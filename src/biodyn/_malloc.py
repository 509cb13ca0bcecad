"""Keep freed heap memory in the process (glibc ``mallopt``), for the CLI and the benchmarks.

glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and gives it
back on free, and trims the heap top beyond the trim threshold: a model whose activations are tens of MiB
then page-faults every activation afresh on every call. With mmap allocations off and trimming off, freed
blocks are reused instead (the seizure detector's edge stream, 171 pair sequences, runs markedly faster on
CPU; ``benchmarks/bench_seizure.py`` measures the whole model with it). The process keeps its peak heap
until it exits, the usual trade of a caching allocator (PyTorch's CUDA allocator does the same on the GPU).
Other C libraries (musl, macOS) are left as they are; ``BIODYN_KEEP_FREED_MEMORY=0`` leaves glibc alone too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc malloc.h
_done: bool | None = None


def keep_freed_memory() -> bool:
    """Switch glibc's malloc to reuse freed memory (no mmap allocations, no trimming); returns whether it
    applied (``False`` on other platforms or C libraries). Idempotent."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux") or os.environ.get("BIODYN_KEEP_FREED_MEMORY", "1") == "0":
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return _done
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; the trim threshold is an int: its largest value switches trimming off
    _done = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _done

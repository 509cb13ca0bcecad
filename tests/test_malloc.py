"""biodyn._malloc: glibc keeps freed memory for reuse; allocation and arithmetic behave as before."""

import ctypes.util
import sys

import pytest
import torch

from biodyn._malloc import keep_freed_memory


def test_keep_freed_memory_applies_on_glibc_and_is_idempotent():
    applied = keep_freed_memory()
    assert keep_freed_memory() is applied
    glibc = sys.platform.startswith("linux") and "libc.so" in (ctypes.util.find_library("c") or "")
    if not glibc:
        pytest.skip("not glibc: keep_freed_memory leaves the C library alone")
    assert applied is True
    # large buffers (above glibc's 32 MiB mmap ceiling) are still allocated, written, freed and reused
    for _ in range(3):
        x = torch.ones(12 * 2**20)  # 48 MiB
        assert float(x.sum()) == 12 * 2**20
        del x


def test_environment_opt_out(monkeypatch):
    import biodyn._malloc as m

    monkeypatch.setattr(m, "_done", None)
    monkeypatch.setenv("BIODYN_KEEP_FREED_MEMORY", "0")
    assert m.keep_freed_memory() is False

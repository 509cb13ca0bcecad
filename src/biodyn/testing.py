"""Test helpers: tolerant comparisons, markers for optional packages/CUDA/data, tiny fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from biodyn.data_root import data_root


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def requires_module(name: str):
    return pytest.mark.skipif(not has_module(name), reason=f"optional package {name!r} is not installed")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


requires_cuda = pytest.mark.skipif(not _cuda_available(), reason="needs a CUDA device")


def shared_data(*parts: str) -> Path:
    """Path under the data root; skips the calling test (with the reason) when it is absent."""
    root = data_root()
    if root is None:
        pytest.skip("sample recordings not found: set BIODYN_DATA_ROOT or provide ../shared/data")
    p = root.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not in the data root")
    return p


def rel_rms_error(actual, expected) -> float:
    """``||a - e||_2 / ||e||_2`` (the relative RMS error flash-linear-attention's tests use)."""
    a = _np(actual).astype(np.float64)
    e = _np(expected).astype(np.float64)
    denom = np.sqrt(np.mean(e**2)) + 1e-30
    return float(np.sqrt(np.mean((a - e) ** 2)) / denom)


def assert_close(actual, expected, *, rtol: float, atol: float = 0.0, name: str = "") -> None:
    """Max-abs and relative-RMS comparison with a readable message."""
    a = _np(actual).astype(np.float64)
    e = _np(expected).astype(np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape} != {e.shape}")
    if not np.all(np.isfinite(a)):
        raise AssertionError(f"{name}: non-finite values in actual")
    err = np.abs(a - e)
    scale = np.abs(e).max() if e.size else 0.0
    if err.size and err.max() > atol + rtol * scale:
        raise AssertionError(
            f"{name}: max abs err {err.max():.3e} > atol {atol:.1e} + rtol {rtol:.1e} * max|expected| "
            f"{scale:.3e} (rel RMS {rel_rms_error(a, e):.3e})"
        )


def check_streaming_and_grads(block, x, rtol: float = 1e-10) -> None:
    """A causal block's ``step`` token by token equals its ``forward`` on ``x`` ``(B, T, D)``, and a finite,
    non-zero gradient reaches every parameter."""
    import torch

    full = block(x)
    state = block.allocate_state(x.shape[0], dtype=x.dtype)
    outs = []
    for t in range(x.shape[1]):
        y, state = block.step(x[:, t], state)
        outs.append(y)
    assert_close(torch.stack(outs, 1), full, rtol=rtol, name="streaming")
    full.square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)

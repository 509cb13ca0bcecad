"""Helpers shared by the kernel tests: one tolerance per dtype, comparisons through
``biodyn.testing.assert_close``, gradients of a random projection of the outputs.

Tests take the session-scoped ``kc`` fixture (``kc.close``, ``kc.grads``, ``kc.same_grads``, ``kc.tol``);
session scope keeps it usable inside hypothesis ``@given`` tests.
"""

from types import SimpleNamespace

import pytest
import torch

from biodyn.testing import assert_close

# rtol is relative to max|expected|; float64 is the exactness check of every fast path against its reference
TOLERANCE = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-12},
    torch.float32: {"rtol": 2e-4, "atol": 1e-6},
    torch.bfloat16: {"rtol": 3e-2, "atol": 1e-3},
    torch.float16: {"rtol": 5e-3, "atol": 1e-4},
}


def tol(dtype: torch.dtype) -> dict:
    """The tolerance for results computed from ``dtype`` inputs (complex: of its real dtype)."""
    return TOLERANCE[dtype.to_real() if dtype.is_complex else dtype]


def close(actual, expected, name: str = "", dtype: torch.dtype | None = None) -> None:
    """``actual`` equals ``expected`` within the tolerance of ``dtype`` (default: ``expected``'s dtype)."""
    if torch.is_tensor(actual) and actual.is_complex():
        actual, expected = torch.view_as_real(actual), torch.view_as_real(expected)
    assert_close(actual, expected, name=name, **tol(dtype or expected.dtype))


def grads(outputs, inputs, seed: int = 1):
    """Gradients of ``sum_i <out_i, R_i>`` (fixed random ``R_i``; ``None`` outputs skipped) w.r.t. ``inputs``."""
    gen = torch.Generator().manual_seed(seed)
    loss = 0
    for o in outputs:
        if o is None:
            continue
        r = o.real if o.is_complex() else o
        loss = loss + (r * torch.randn(r.shape, generator=gen, dtype=r.dtype)).sum()
        if o.is_complex():
            loss = loss + (o.imag * torch.randn(r.shape, generator=gen, dtype=r.dtype)).sum()
    return torch.autograd.grad(loss, inputs)


def same_grads(out_a, out_b, inputs, names, dtype: torch.dtype | None = None) -> None:
    """Every input gradient through ``out_a`` equals the one through ``out_b``."""
    for ga, gb, name in zip(grads(out_a, inputs), grads(out_b, inputs), names, strict=True):
        close(gb, ga, name=f"d{name}", dtype=dtype)


@pytest.fixture(scope="session")
def kc():
    return SimpleNamespace(tol=tol, close=close, grads=grads, same_grads=same_grads)

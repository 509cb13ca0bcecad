"""Differentiable fractional (sub-sample) delays through an FFT phase shift.

``delay(x, tau)`` returns ``y(t) = x(t - tau)`` for real ``tau`` (in samples, or seconds with ``fs``): the
band-limited (sinc) interpolation of ``x``, differentiable in ``x`` and ``tau``. Signals are zero-padded to an
odd FFT length ``n >= T + max|tau| + 1`` so nothing wraps around and there is no Nyquist bin (whose phase
an even-length real FFT cannot represent for a fractional shift).

``lagged_mix(x, weight, tau)`` aggregates delayed channels in :class:`~biodyn.types.LagGraph` orientation,
``y_j(t) = sum_i weight[i, j] x_i(t - tau[i, j])`` (source ``i``, target ``j``), per frequency as one
complex ``(C, C)`` matrix product, so a ``(B, C, C, T)`` tensor never exists; ``lagged_mix_dense`` is the
reference that builds it.
"""

from __future__ import annotations

import math

import torch
from torch.utils.checkpoint import checkpoint


def odd_fast_length(n: int) -> int:
    """The smallest odd number ``>= n`` whose prime factors are 3, 5 and 7 (fast for FFTs)."""
    m = max(int(n), 1)
    while True:
        k = m
        for p in (3, 5, 7):
            while k % p == 0:
                k //= p
        if k == 1 and m % 2 == 1:
            return m
        m += 1


def _fft_len(t: int, tau: torch.Tensor) -> int:
    max_shift = math.ceil(float(tau.detach().abs().max())) if tau.numel() else 0
    return odd_fast_length(t + max_shift + 1)


def _to_samples(tau, fs):
    return tau if fs is None else tau * fs


def delay(x: torch.Tensor, tau: torch.Tensor | float, fs: float | None = None) -> torch.Tensor:
    """Delay ``x`` ``(..., T)`` by ``tau`` (broadcast against ``x.shape[:-1]``; samples, or seconds if ``fs``).

    Positive ``tau`` shifts later in time; samples shifted in from before ``t = 0`` are zero.
    """
    tau = _to_samples(torch.as_tensor(tau, dtype=x.dtype, device=x.device), fs)
    t = x.shape[-1]
    n = _fft_len(t, tau)
    spec = torch.fft.rfft(x, n=n)  # (..., F)
    f = torch.fft.rfftfreq(n, device=x.device, dtype=x.dtype)  # cycles per sample
    phase = torch.polar(torch.ones_like(f), -2 * math.pi * f * tau[..., None])
    return torch.fft.irfft(spec * phase, n=n)[..., :t]


def lagged_mix_dense(
    x: torch.Tensor, weight: torch.Tensor, tau: torch.Tensor, fs: float | None = None
) -> torch.Tensor:
    """Reference: ``y_j = sum_i weight[i, j] delay(x_i, tau[i, j])`` through a ``(B, C, C, T)`` tensor.

    Args:
        x: ``(B, C, T)``; weight, tau: ``(C, C)`` indexed ``[source, target]``.
    """
    tau = _to_samples(tau, fs)
    shifted = delay(x[:, :, None, :].expand(-1, -1, x.shape[1], -1), tau)  # (B, C_src, C_tgt, T)
    return torch.einsum("bijt,ij->bjt", shifted, weight)


def _mix_band(spec: torch.Tensor, f: torch.Tensor, weight: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """``spec`` ``(B, C, F')`` -> ``(B, C, F')`` for one band of frequencies ``f`` ``(F',)``."""
    angle = -2 * math.pi * f * tau[..., None]  # (C_src, C_tgt, F')
    phase = weight[..., None] * torch.polar(torch.ones_like(angle), angle)
    return torch.einsum("bif,ijf->bjf", spec, phase)


def lagged_mix(
    x: torch.Tensor, weight: torch.Tensor, tau: torch.Tensor, fs: float | None = None, band: int = 128
) -> torch.Tensor:
    """Fused ``y_j(t) = sum_i weight[i, j] x_i(t - tau[i, j])``, ``x`` ``(B, C, T)`` -> ``(B, C, T)``.

    Works per band of ``band`` frequencies; each band's ``(C, C, band)`` phase matrix is recomputed in the
    backward pass (activation checkpointing), so memory grows with ``B C T + C^2 band``, not ``B C^2 T``.
    """
    tau = _to_samples(tau, fs)
    t = x.shape[-1]
    n = _fft_len(t, tau)
    spec = torch.fft.rfft(x, n=n)  # (B, C, F)
    f = torch.fft.rfftfreq(n, device=x.device, dtype=x.dtype)
    out = []
    for lo in range(0, f.shape[0], band):
        sl = slice(lo, lo + band)
        if torch.is_grad_enabled() and (weight.requires_grad or tau.requires_grad or x.requires_grad):
            out.append(checkpoint(_mix_band, spec[..., sl], f[sl], weight, tau, use_reentrant=False))
        else:
            out.append(_mix_band(spec[..., sl], f[sl], weight, tau))
    return torch.fft.irfft(torch.cat(out, dim=-1), n=n)[..., :t]


def edge_lagged_mix_spec(
    spec: torch.Tensor,
    n: int,
    t: int,
    source: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    tau: torch.Tensor,
) -> torch.Tensor:
    """:func:`edge_lagged_mix` on a precomputed spectrum ``spec = rfft(x, n)`` ``(B, C, F)`` (``n`` odd and at
    least ``T + max tau + 1``, so nothing wraps); returns ``(B, C, t)``."""
    f = torch.fft.rfftfreq(n, device=spec.device, dtype=tau.dtype)  # (F,)
    angle = -2 * math.pi * tau[:, None] * f  # (E, F)
    phase = weight[:, None] * torch.polar(torch.ones_like(angle), angle)  # (E, F)
    contrib = spec[:, source] * phase  # (B, E, F)
    out = torch.zeros_like(spec).index_add(1, target, contrib)  # (B, C, F)
    return torch.fft.irfft(out, n=n)[..., :t]


def edge_lagged_mix(
    x: torch.Tensor,
    source: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    tau: torch.Tensor,
    fs: float | None = None,
) -> torch.Tensor:
    """Sparse ``y_j(t) = sum_{e: target_e = j} weight_e x_{source_e}(t - tau_e)`` over a list of ``E`` edges.

    The same operator as :func:`lagged_mix` when the graph is sparse: only the ``E`` asserted edges get a
    phase, so the cost grows with ``E F`` rather than ``C^2 F``. ``lagged_mix_dense`` with ``weight`` and
    ``tau`` scattered into ``(C, C)`` matrices is its reference.

    Args:
        x: ``(B, C, T)``.
        source, target: ``(E,)`` int64 channel indices; weight, tau: ``(E,)`` (tau in samples, or seconds
            with ``fs``). Edges may repeat a pair (their contributions add).
    """
    tau = _to_samples(tau, fs)
    t = x.shape[-1]
    n = _fft_len(t, tau)
    spec = torch.fft.rfft(x, n=n)  # (B, C, F)
    return edge_lagged_mix_spec(spec, n, t, source, target, weight.to(spec.real.dtype), tau)

"""Fractional-delay mixing with one lag graph per batch element (amortised lags, CLD-Trans).

``lagged_mix_batched(x, weight, tau)`` computes, for every batch element ``b``,
``y_bj(t) = sum_i weight[b, i, j] x_bi(t - tau[b, i, j])`` (source ``i``, target ``j``, as in
:class:`~biodyn.types.LagGraph`) with band-limited (FFT phase shift) delays. It is the batched form of
:func:`biodyn.ops.fractional_delay.lagged_mix`: per frequency the delay is a complex ``(C, C)`` matrix
product, computed band by band and recomputed in backward, so a ``(B, C, C, T)`` tensor never exists
(memory ``O(B C T + B C^2 band)``). The signal is zero-padded to an odd FFT length
``n >= T + tau_max + 1`` (nothing wraps around; no Nyquist bin). ``tau_max_samples`` bounds ``tau`` so that
the FFT length is known without reading ``tau`` back to the host.

``lagged_mix_batched_dense`` is the reference: it builds every delayed copy ``(B, C, C, T)`` with
:func:`~biodyn.ops.fractional_delay.delay` and sums them.

The FFT always runs in float32 or float64 (under bf16 autocast the inputs are promoted and the result is
returned in float32), since half-precision FFTs are unsupported or inexact.
"""

from __future__ import annotations

import math

import torch

from biodyn.errors import ConfigError
from biodyn.ops.fractional_delay import delay, odd_fast_length


def _check(x: torch.Tensor, weight: torch.Tensor, tau: torch.Tensor) -> None:
    if x.ndim != 3:
        raise ConfigError(f"lagged_mix_batched: x must be (B, C, T), got shape {tuple(x.shape)}")
    b, c, _ = x.shape
    for name, v in (("weight", weight), ("tau", tau)):
        if tuple(v.shape) != (b, c, c):
            raise ConfigError(
                f"lagged_mix_batched: {name} must be (B, C, C) = {(b, c, c)}, got {tuple(v.shape)}"
            )


def _real_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def lagged_mix_batched_dense(x: torch.Tensor, weight: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Reference through a ``(B, C_src, C_tgt, T)`` tensor. ``x`` ``(B, C, T)``; ``weight``, ``tau``
    ``(B, C, C)`` in samples, indexed ``[b, source, target]``. Returns ``(B, C, T)``."""
    _check(x, weight, tau)
    dt = _real_dtype(x)
    with torch.autocast(x.device.type, enabled=False):
        x, weight, tau = x.to(dt), weight.to(dt), tau.to(dt)
        c = x.shape[1]
        shifted = delay(x[:, :, None, :].expand(-1, -1, c, -1), tau)  # (B, C_src, C_tgt, T)
        return torch.einsum("bijt,bij->bjt", shifted, weight)


def _mix_band(
    s_re: torch.Tensor, s_im: torch.Tensor, f: torch.Tensor, weight: torch.Tensor, tau: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One band of frequencies ``f`` ``(F',)`` (radians/sample, negated): the spectrum's real and
    imaginary parts ``(B, F', 1, C_src)`` -> the mixed spectrum's ``(B, F', 1, C_tgt)``.

    The phase matrix ``A_ij exp(i f tau_ij)`` is built in real arithmetic directly in the ``(B, F', C, C)``
    layout of the batched matrix-vector products (no complex temporaries, no permuting copies).
    """
    angle = f[:, None, None] * tau[:, None]  # (B, F', C_src, C_tgt)
    w = weight[:, None]  # (B, 1, C, C)
    p_re = w * torch.cos(angle)
    p_im = w * torch.sin(angle)
    return s_re @ p_re - s_im @ p_im, s_re @ p_im + s_im @ p_re


class _MixBand(torch.autograd.Function):
    """:func:`_mix_band` whose ``(B, F', C, C)`` phase tensors are rebuilt in backward instead of kept
    (activation recomputation without ``torch.utils.checkpoint``, whose first call imports the compiler)."""

    @staticmethod
    def forward(ctx, s_re, s_im, f, weight, tau):
        ctx.save_for_backward(s_re, s_im, f, weight, tau)
        return _mix_band(s_re, s_im, f, weight, tau)

    @staticmethod
    def backward(ctx, g_re, g_im):
        need = ctx.needs_input_grad
        inputs = [t.detach().requires_grad_(n) for t, n in zip(ctx.saved_tensors, need)]
        with torch.enable_grad():
            y_re, y_im = _mix_band(*inputs)
        wrt = [t for t, n in zip(inputs, need) if n]
        grads = iter(torch.autograd.grad((y_re, y_im), wrt, (g_re, g_im), allow_unused=True))
        return tuple(next(grads) if n else None for n in need)


def lagged_mix_batched(
    x: torch.Tensor,
    weight: torch.Tensor,
    tau: torch.Tensor,
    tau_max_samples: float | None = None,
    band: int = 64,
) -> torch.Tensor:
    """Fused ``y[b, j] = sum_i weight[b, i, j] x[b, i](t - tau[b, i, j])``.

    Args:
        x: ``(B, C, T)``.
        weight, tau: ``(B, C, C)``, ``[b, source, target]``; ``tau`` in samples, ``0 <= tau <=
            tau_max_samples`` (a larger ``tau`` would wrap around the padded FFT buffer).
        tau_max_samples: bound on ``tau``; ``None`` reads ``tau.max()`` (one host sync).
        band: frequencies per block; each block's ``(B, C, C, band)`` phase tensor is recomputed in
            backward instead of being kept.

    Returns:
        ``(B, C, T)`` in float32 (float64 for float64 input).
    """
    _check(x, weight, tau)
    if band < 1:
        raise ConfigError(f"lagged_mix_batched: band must be >= 1, got {band}")
    dt = _real_dtype(x)
    t = x.shape[-1]
    if tau_max_samples is None:
        tau_max_samples = float(tau.detach().abs().max()) if tau.numel() else 0.0
    n = odd_fast_length(t + math.ceil(tau_max_samples) + 1)
    with torch.autocast(x.device.type, enabled=False):
        x, weight, tau = x.to(dt), weight.to(dt), tau.to(dt)
        spec = torch.fft.rfft(x, n=n).transpose(1, 2)[:, :, None, :]  # (B, F, 1, C)
        s_re, s_im = spec.real.contiguous(), spec.imag.contiguous()
        f = torch.fft.rfftfreq(n, device=x.device, dtype=dt) * (-2 * math.pi)  # (F,) radians/sample, negated
        need_grad = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or tau.requires_grad)
        re, im = [], []
        for lo in range(0, f.shape[0], band):
            sl = slice(lo, lo + band)
            args = (s_re[:, sl], s_im[:, sl], f[sl], weight, tau)
            if need_grad:
                y_re, y_im = _MixBand.apply(*args)
            else:
                y_re, y_im = _mix_band(*args)
            re.append(y_re)
            im.append(y_im)
        out = torch.complex(torch.cat(re, 1), torch.cat(im, 1))[:, :, 0].transpose(1, 2)  # (B, C, F)
        return torch.fft.irfft(out, n=n)[..., :t]

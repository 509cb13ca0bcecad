"""S4D-complex diagonal state-space layer with an input-dependent step (selective) and ZOH discretisation.

Each of the ``H`` real channels is a single-input single-output system with ``N`` complex modes::

    h_t = exp(dt_t A) * h_{t-1} + expm1(dt_t A) / A * B * u_t        (per channel h, per mode n)
    y_t = 2 Re(sum_n C_n h_{t,n}) + D u_t

Shapes: u ``(B, T, H)`` real, dt ``(B, T, H)`` positive (selective; ``(H,)`` for the FFT path), A ``(H, N)``
complex with negative real part, B and C ``(H, N)`` complex, D ``(H,)`` real or None, state ``(B, H, N)``
complex. (The spec's ``C*`` is a re-parametrisation of ``C``; here ``C`` enters unconjugated.)
Every function returns ``(y (B, T, H), final_state or None)`` like fla / mamba-ssm kernels.

:func:`s4d_chunked` is the token-parallel form: inside a chunk of ``c`` tokens with per-mode log decay
``L_i = sum_{j<=i} dt_j A`` (complex cumulative sum), ``h_i = sum_{j<=i} exp(L_i - L_j) b_j + exp(L_i) h_in``
with the differences taken in log space (never ``exp(L_i) * exp(-L_j)``, which overflows for strong decay);
only the ``T / c`` chunk states are passed sequentially. Its working set is ``B H N T c`` complex numbers,
so keep ``c`` small (default 16).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def s4d_lin_init(h: int, n: int, dtype=torch.complex64) -> torch.Tensor:
    """S4D-Lin initialisation ``A_n = -1/2 + i pi n`` for every channel: ``(H, N)`` complex."""
    real = torch.full((h, n), -0.5)
    imag = torch.pi * torch.arange(n, dtype=torch.float32).expand(h, n)
    return torch.complex(real, imag).to(dtype)


def _check(u, dt, a, b, c, selective=True):
    if u.ndim != 3:
        raise ValueError(f"expected u (B, T, H); got {tuple(u.shape)}")
    want = u.shape if selective else u.shape[2:]
    if tuple(dt.shape) != tuple(want):
        raise ValueError(f"expected dt {tuple(want)}; got {tuple(dt.shape)}")
    if a.ndim != 2 or a.shape[0] != u.shape[2] or b.shape != a.shape or c.shape != a.shape:
        raise ValueError(
            f"expected A, B, C (H, N) with H={u.shape[2]}; got {tuple(a.shape)}, {tuple(b.shape)}, {tuple(c.shape)}"
        )
    if not (a.is_complex() and b.is_complex() and c.is_complex()):
        raise ValueError("A, B and C must be complex tensors")


def _discretise(u, dt, a, b):
    """``dA = dt A`` and ``b_t = expm1(dt A) / A * B * u_t``, both ``(..., H, N)`` complex."""
    da = dt[..., None] * a
    return da, torch.expm1(da) / a * b * u[..., None]


def _readout(h, c, u, d):
    y = 2 * (h * c).real.sum(-1)
    return y if d is None else y + u * d


def s4d_reference(u, dt, A, B, C, D=None, initial_state=None, output_final_state=False):
    """Token-by-token complex recurrence (the definition). Returns ``(y (B, T, H), state (B, H, N) or None)``."""
    _check(u, dt, A, B, C)
    da, bu = _discretise(u, dt, A, B)
    abar = torch.exp(da)
    h = bu.new_zeros(u.shape[0], *A.shape) if initial_state is None else initial_state.to(bu.dtype)
    hs = []
    for a_t, b_t in zip(abar.unbind(1), bu.unbind(1)):
        h = a_t * h + b_t
        hs.append(h)
    y = _readout(torch.stack(hs, 1), C, u, D)
    return y, (h if output_final_state else None)


def s4d_step(u, dt, A, B, C, D=None, state=None):
    """One token: u ``(B, H)``, dt ``(B, H)``, state ``(B, H, N)`` complex; returns ``(y (B, H), state)``."""
    da, bu = _discretise(u, dt, A, B)
    h = bu if state is None else torch.exp(da) * state + bu
    return _readout(h, C, u, D), h


def s4d_chunked(u, dt, A, B, C, D=None, initial_state=None, output_final_state=False, chunk_size=16):
    """Chunked log-space form of :func:`s4d_reference` (same signature and result; any ``T``)."""
    _check(u, dt, A, B, C)
    bsz, t, h = u.shape
    n = A.shape[1]
    c = chunk_size
    pad = (-t) % c
    da, bu = _discretise(u, dt, A, B)  # (B, T, H, N)
    if pad:  # padded tokens: no input, no decay (so the last state equals the state at T - 1)
        da, bu = (F.pad(z, (0, 0, 0, 0, 0, pad)) for z in (da, bu))
    nc = (t + pad) // c

    def chunks(z):  # (B, T, H, N) -> (B, H, N, nc, c)
        return z.reshape(bsz, nc, c, h, n).permute(0, 3, 4, 1, 2)

    lc = chunks(da).cumsum(-1)
    bc = chunks(bu)
    diff = lc[..., :, None] - lc[..., None, :]  # (B, H, N, nc, c, c): L_i - L_j
    causal = torch.ones(c, c, dtype=torch.bool, device=u.device).tril()
    minus_inf = torch.tensor(complex(float("-inf"), 0.0), dtype=diff.dtype, device=u.device)
    decay = torch.where(causal, diff, minus_inf).exp()
    h_intra = (decay @ bc[..., None])[..., 0]  # (B, H, N, nc, c)
    # pass states between chunks (sequential over T / c chunks only)
    s = bu.new_zeros(bsz, h, n) if initial_state is None else initial_state.to(bu.dtype)
    chunk_decay = lc[..., -1].exp()  # (B, H, N, nc)
    ins = []
    for k in range(nc):
        ins.append(s)
        s = chunk_decay[..., k] * s + h_intra[..., k, -1]
    h_in = torch.stack(ins, -1)  # (B, H, N, nc): state entering each chunk
    states = h_intra + lc.exp() * h_in[..., None]
    y = 2 * (states * C[..., None, None]).real.sum(2)  # (B, H, nc, c)
    y = y.reshape(bsz, h, nc * c)[..., :t].transpose(1, 2)
    if D is not None:
        y = y + u * D
    return y, (s if output_final_state else None)


def s4d_kernel(dt, A, B, C, length: int, block: int = 64) -> torch.Tensor:
    """Convolution kernel ``K_k = 2 Re sum_n C_n Bbar_n z_n^k`` ``(H, length)`` for a constant step dt ``(H,)``.

    Powers use the two-level split ``z^(block j + r) = (z^block)^j z^r``: ``block + length / block`` complex
    exponentials per mode instead of ``length``, and the sum over modes becomes one batched matmul.
    """
    da = dt[:, None] * A  # (H, N)
    cb = C * torch.expm1(da) / A * B  # (H, N)
    nb = -(-length // block)
    r = torch.arange(block, device=A.device, dtype=A.real.dtype)
    j = torch.arange(nb, device=A.device, dtype=A.real.dtype) * block
    low = torch.exp(da[..., None] * r) * cb[..., None]  # (H, N, block): C Bbar z^r
    high = torch.exp(j[:, None] * da[:, None, :])  # (H, nb, N): (z^block)^j
    k = 2 * (high @ low).real  # (H, nb, block)
    return k.reshape(A.shape[0], nb * block)[:, :length]


def s4d_fft_conv(u, dt, A, B, C, D=None):
    """Non-selective S4D (dt ``(H,)`` constant over time) as an FFT convolution; zero initial state.

    u ``(B, T, H)`` -> ``(y (B, T, H), None)``; equals :func:`s4d_reference` with dt broadcast over time.
    """
    _check(u, dt, A, B, C, selective=False)
    t = u.shape[1]
    k = s4d_kernel(dt, A, B, C, t)  # (H, T)
    nfft = 2 * t
    y = torch.fft.irfft(torch.fft.rfft(u.transpose(1, 2), n=nfft) * torch.fft.rfft(k, n=nfft), n=nfft)
    y = y[..., :t].transpose(1, 2)
    if D is not None:
        y = y + u * D
    return y, None

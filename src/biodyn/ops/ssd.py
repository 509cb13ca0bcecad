"""Mamba2's state-space duality (SSD) layer (Dao & Gu, 2024): reference recurrence, chunked form, step.

Per head ``h`` with scalar decay ``A_h < 0`` and state ``S`` of shape ``(P, N)``::

    S_t = exp(dt_t A_h) S_{t-1} + dt_t x_t B_t^T,    y_t = S_t C_t + D_h x_t

Shapes follow mamba-ssm: x ``(B, T, H, P)``, dt ``(B, T, H)`` (already positive), A ``(H,)``,
B and C ``(B, T, G, N)`` with ``G`` groups shared by ``H / G`` heads each, D ``(H,)``, state ``(B, H, P, N)``.

Chunked form: inside a chunk with cumulative log decay ``L_i = sum_{j<=i} dt_j A`` the output is a masked
"attention" ``y_i = sum_{j<=i} exp(L_i - L_j) (C_i . B_j) dt_j x_j`` plus the incoming state read out at
``exp(L_i)``; the state passes between chunks in a loop over chunks only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _expand_groups(bc: torch.Tensor, h: int) -> torch.Tensor:
    """``(B, T, G, N) -> (B, T, H, N)``: head ``i`` uses group ``i // (H / G)``."""
    g = bc.shape[2]
    if h % g:
        raise ValueError(f"heads H={h} must be a multiple of groups G={g}")
    return bc.repeat_interleave(h // g, dim=2)


def _check(x, dt, a, b, c):
    if x.ndim != 4 or dt.shape != x.shape[:3] or a.shape != x.shape[2:3]:
        raise ValueError(
            f"expected x (B, T, H, P), dt (B, T, H), A (H,); got {tuple(x.shape)}, {tuple(dt.shape)}, {tuple(a.shape)}"
        )
    if b.shape != c.shape or b.shape[:2] != x.shape[:2]:
        raise ValueError(f"expected B and C (B, T, G, N) equal; got {tuple(b.shape)}, {tuple(c.shape)}")
    if x.shape[1] == 0:
        raise ValueError(f"empty sequence: x has T = 0 steps {tuple(x.shape)}")


def ssd_reference(x, dt, A, B, C, D=None, initial_state=None, output_final_state=False):
    """Token-by-token recurrence (the definition). Returns ``y (B, T, H, P)`` and the final state or None."""
    _check(x, dt, A, B, C)
    bsz, _, h, p = x.shape
    bb, cc = _expand_groups(B, h), _expand_groups(C, h)
    s = x.new_zeros(bsz, h, p, bb.shape[-1]) if initial_state is None else initial_state
    ys = []
    for x_t, dt_t, b_t, c_t in zip(x.unbind(1), dt.unbind(1), bb.unbind(1), cc.unbind(1)):
        s = s * torch.exp(dt_t * A)[..., None, None] + torch.einsum(
            "bhp,bhn->bhpn", x_t * dt_t[..., None], b_t
        )
        ys.append(torch.einsum("bhpn,bhn->bhp", s, c_t))
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + x * D[:, None]
    return y, (s if output_final_state else None)


def ssd_step(x, dt, A, B, C, D=None, state=None):
    """One token: x ``(B, H, P)``, dt ``(B, H)``, B/C ``(B, G, N)``; returns ``(y (B, H, P), state)``."""
    h = x.shape[1]
    b_t = B.repeat_interleave(h // B.shape[1], dim=1)
    c_t = C.repeat_interleave(h // C.shape[1], dim=1)
    if state is None:
        state = x.new_zeros(*x.shape, b_t.shape[-1])
    s = state * torch.exp(dt * A)[..., None, None] + torch.einsum("bhp,bhn->bhpn", x * dt[..., None], b_t)
    y = torch.einsum("bhpn,bhn->bhp", s, c_t)
    if D is not None:
        y = y + x * D[:, None]
    return y, s


def ssd_chunked(x, dt, A, B, C, D=None, initial_state=None, output_final_state=False, chunk_size=64):
    """Chunked SSD; same signature and result as :func:`ssd_reference` (any ``T``).

    B and C stay at group level (broadcast over the ``H / G`` heads of a group, never repeated), and the
    incoming state is read out as ``(C_i S^T) exp(L_i)`` so no per-head copy of C is made.
    """
    _check(x, dt, A, B, C)
    bsz, t, h, p = x.shape
    g, n_state = B.shape[2], B.shape[3]
    if h % g:
        raise ValueError(f"heads H={h} must be a multiple of groups G={g}")
    r = h // g
    c = chunk_size
    pad = (-t) % c
    xd = x * dt[..., None]  # dt_j x_j
    la = dt * A  # (B, T, H) log decay per token
    bb, cc = B, C
    if pad:  # padded tokens: no input, no decay
        xd, bb, cc = (F.pad(z, (0, 0, 0, 0, 0, pad)) for z in (xd, bb, cc))
        la = F.pad(la, (0, 0, 0, pad))
    n = (t + pad) // c
    xc = xd.reshape(bsz, n, c, g, r, p).permute(0, 3, 4, 1, 2, 5)  # (B, G, R, n, C, P)
    bc, ccc = (
        z.reshape(bsz, n, c, g, n_state).permute(0, 3, 1, 2, 4)[:, :, None] for z in (bb, cc)
    )  # (B, G, 1, n, C, N)
    lc = la.reshape(bsz, n, c, g, r).permute(0, 3, 4, 1, 2).cumsum(-1)  # (B, G, R, n, C)
    diff = lc[..., :, None] - lc[..., None, :]
    causal = torch.ones(c, c, dtype=torch.bool, device=x.device).tril()
    decay = torch.where(causal, diff, diff.new_tensor(float("-inf"))).exp()  # (B, G, R, n, C, C)
    scores = (ccc @ bc.transpose(-1, -2)) * decay
    y_diag = scores @ xc  # (B, G, R, n, C, P)
    last = lc[..., -1:]  # (B, G, R, n, 1)
    chunk_states = (xc * (last - lc).exp()[..., None]).transpose(-1, -2) @ bc  # (B, G, R, n, P, N)
    s = x.new_zeros(bsz, h, p, n_state) if initial_state is None else initial_state
    s = s.reshape(bsz, g, r, p, n_state)
    read = lc.exp()[..., None]  # (B, G, R, n, C, 1)
    decay_chunk = last.exp()[..., None]  # (B, G, R, n, 1, 1)
    outs = []
    # unbind (not indexing) so the backward stacks instead of filling a zero tensor per chunk
    for yd, ck, rd, dk, cs in zip(*(z.unbind(3) for z in (y_diag, ccc, read, decay_chunk, chunk_states))):
        outs.append(yd + (ck @ s.transpose(-1, -2)) * rd)
        s = s * dk + cs
    y = torch.stack(outs, dim=3).permute(0, 3, 4, 1, 2, 5).reshape(bsz, n * c, h, p)[:, :t]
    if D is not None:
        y = y + x * D[:, None]
    return y, (s.reshape(bsz, h, p, n_state) if output_final_state else None)

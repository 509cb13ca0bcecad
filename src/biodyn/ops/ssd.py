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

import functools

import torch
import torch.nn.functional as F

from biodyn import branches
from biodyn.ops import _backend


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
    """One token (arguments in the order of :func:`ssd_reference`): x ``(B, H, P)``, dt ``(B, H)``, A ``(H,)``,
    B/C ``(B, G, N)``, D ``(H,)``, state ``(B, H, P, N)`` or None (zeros); returns ``(y (B, H, P), state)``
    with y in x's dtype and the state in the compute dtype."""
    if x.ndim != 3 or dt.shape != x.shape[:2] or A.shape != x.shape[1:2]:
        raise ValueError(
            f"expected x (B, H, P), dt (B, H), A (H,); got {tuple(x.shape)}, {tuple(dt.shape)}, {tuple(A.shape)}"
        )
    if B.ndim != 3 or B.shape != C.shape or B.shape[0] != x.shape[0] or x.shape[1] % B.shape[1]:
        raise ValueError(
            f"expected B and C (B, G, N) equal with G dividing H={x.shape[1]}; "
            f"got {tuple(B.shape)}, {tuple(C.shape)}"
        )
    want = (*x.shape, B.shape[-1])
    if state is not None and tuple(state.shape) != want:
        raise ValueError(f"state must be (B, H, P, N) = {want}; got {tuple(state.shape)}")
    dtype, out_dtype = _backend.compute_dtype(x, dt, A, B, C, D), x.dtype
    x, dt, A, B, C, D, state = (_backend.cast(z, dtype) for z in (x, dt, A, B, C, D, state))
    h = x.shape[1]
    if B.shape[1] > 1:
        branches.hit("ssd.step.grouped")
    b_t = B.repeat_interleave(h // B.shape[1], dim=1)
    c_t = C.repeat_interleave(h // C.shape[1], dim=1)
    if state is None:
        state = x.new_zeros(*x.shape, b_t.shape[-1])
    s = state * torch.exp(dt * A)[..., None, None] + torch.einsum("bhp,bhn->bhpn", x * dt[..., None], b_t)
    y = torch.einsum("bhpn,bhn->bhp", s, c_t)
    if D is not None:
        y = y + x * D[:, None]
    return y.to(out_dtype), s


BLOCK_TOKENS = 1024  # tokens whose chunk-local matrices are formed at once


def ssd_chunked(x, dt, A, B, C, D=None, initial_state=None, output_final_state=False, chunk_size=64):
    """Chunked SSD; same signature and result as :func:`ssd_reference` (any ``T``).

    B and C stay at group level (broadcast over the ``H / G`` heads of a group, never repeated), and the
    incoming state is read out as ``(C_i S^T) exp(L_i)`` so no per-head copy of C is made.
    """
    _check(x, dt, A, B, C)
    bsz, _, h, p = x.shape
    g, n_state = B.shape[2], B.shape[3]
    if h % g:
        raise ValueError(f"heads H={h} must be a multiple of groups G={g}")
    c = chunk_size
    causal = torch.ones(c, c, dtype=torch.bool, device=x.device).tril()
    s = x.new_zeros(bsz, h, p, n_state) if initial_state is None else initial_state
    s = s.reshape(bsz, g, h // g, p, n_state)
    block = functools.partial(_chunks_block, chunk=c, causal=causal)
    ys = []
    # blocks of whole chunks straight from the (B, T, ...) inputs: no (B, T, H, P)-sized intermediate is made
    # (first-touching those dominated T = 16384); split (not indexing) so the backward concatenates once
    for xb, dtb, bb, cb in zip(*(z.split(max(1, BLOCK_TOKENS // c) * c, 1) for z in (x, dt, B, C))):
        yb, s = (
            _Recomputed.apply(block, xb, dtb, bb, cb, A, s)
            if torch.is_grad_enabled()
            else block(xb, dtb, bb, cb, A, s)
        )
        ys.append(yb)
    y = torch.cat(ys, 1)
    if D is not None:
        y = torch.addcmul(y, x, D[:, None])
    return y, (s.reshape(bsz, h, p, n_state) if output_final_state else None)


def _chunks_block(x, dt, bm, cm, a, s, chunk, causal):
    """A block of whole chunks: x ``(B, Tb, H, P)``, dt ``(B, Tb, H)``, B and C ``(B, Tb, G, N)``, A ``(H,)``,
    entering state ``s`` ``(B, G, R, P, N)`` -> ``y`` ``(B, Tb, H, P)`` (without D) and the leaving state."""
    bsz, tb, h, p = x.shape
    g, n_state = bm.shape[2], bm.shape[3]
    r, c = h // g, chunk
    pad = (-tb) % c
    xd = x * dt[..., None]  # dt_j x_j
    la = dt * a  # (B, Tb, H) log decay per token
    if pad:  # padded tokens: no input, no decay
        branches.hit("ssd.pad")
        xd, bm, cm = (F.pad(z, (0, 0, 0, 0, 0, pad)) for z in (xd, bm, cm))
        la = F.pad(la, (0, 0, 0, pad))
    nb = (tb + pad) // c
    xb = xd.reshape(bsz, nb, c, g, r, p).permute(0, 3, 4, 1, 2, 5)  # (B, G, R, nb, C, P)
    bb_, cb = (z.reshape(bsz, nb, c, g, n_state).permute(0, 3, 1, 2, 4)[:, :, None] for z in (bm, cm))
    lb = la.reshape(bsz, nb, c, g, r).permute(0, 3, 4, 1, 2).cumsum(-1)  # (B, G, R, nb, C)
    diff = lb[..., :, None] - lb[..., None, :]
    decay = torch.where(causal, diff, diff.new_tensor(float("-inf"))).exp()  # (B, G, R, nb, C, C)
    y_diag = ((cb @ bb_.transpose(-1, -2)) * decay) @ xb
    last = lb[..., -1:]  # (B, G, R, nb, 1)
    chunk_states = (xb * (last - lb).exp()[..., None]).transpose(-1, -2) @ bb_  # (B, G, R, nb, P, N)
    read = lb.exp()[..., None]  # (B, G, R, nb, C, 1)
    decay_chunk = last.exp()[..., None]  # (B, G, R, nb, 1, 1)
    outs = []
    # unbind (not indexing) so the backward stacks instead of filling a zero tensor per chunk
    for yd, ck, rd, dk, cs in zip(*(z.unbind(3) for z in (y_diag, cb, read, decay_chunk, chunk_states))):
        outs.append(yd + (ck @ s.transpose(-1, -2)) * rd)
        s = s * dk + cs
    y = torch.stack(outs, 3).permute(0, 3, 4, 1, 2, 5).reshape(bsz, nb * c, h, p)[:, :tb]
    return y, s


class _Recomputed(torch.autograd.Function):
    """``fn(*inputs)`` without keeping its graph: backward runs it again from the saved inputs. A whole-sequence
    graph grows with T and first-touching that much fresh memory dominated long sequences; recomputing a block
    costs less than it saves. Not ``torch.utils.checkpoint`` (as ``ops.fractional_delay`` uses): the reentrant
    form breaks ``torch.autograd.grad`` and the non-reentrant one keeps a higher peak for the same time."""

    @staticmethod
    def forward(ctx, fn, *inputs):
        ctx.fn = fn
        ctx.save_for_backward(*inputs)
        return fn(*inputs)

    @staticmethod
    def backward(ctx, *grads):
        inputs = [
            x.detach().requires_grad_(need) for x, need in zip(ctx.saved_tensors, ctx.needs_input_grad[1:])
        ]
        wanted = [x for x in inputs if x.requires_grad]
        got = iter(())
        if wanted:
            with torch.enable_grad():
                outs = ctx.fn(*inputs)
            pairs = [(o, gr) for o, gr in zip(outs, grads) if o.requires_grad]
            got = iter(
                torch.autograd.grad([o for o, _ in pairs], wanted, [gr for _, gr in pairs], allow_unused=True)
            )
        return (None, *(next(got) if x.requires_grad else None for x in inputs))


def ssd(x, dt, A, B, C, D=None, initial_state=None, output_final_state=False, *, chunk_size=64, path="auto"):
    """SSD over a sequence through the path ``biodyn.ops._backend`` picks; same arguments and result as
    :func:`ssd_reference` (x ``(B, T, H, P)``, dt ``(B, T, H)`` positive, A ``(H,)``, B/C ``(B, T, G, N)``,
    D ``(H,)``, state ``(B, H, P, N)``).

    ``path``: ``"auto"`` (mamba-ssm's ``mamba_chunk_scan_combined`` for CUDA inputs when it loads and
    ``BIODYN_BACKEND=auto``, else ``"chunked"``), ``"reference"``, ``"chunked"`` or ``"mamba_ssm"``.
    y comes back in x's dtype.
    """
    _check(x, dt, A, B, C)
    want = (x.shape[0], x.shape[2], x.shape[3], B.shape[-1])
    if initial_state is not None and tuple(initial_state.shape) != want:
        raise ValueError(f"initial_state must be (B, H, P, N) = {want}; got {tuple(initial_state.shape)}")
    chosen = _backend.choose("ssd", path, x, "mamba_ssm")
    _backend.note("ssd", chosen)
    if chosen == "mamba_ssm":
        out = _backend.mamba_chunk_scan_combined()(
            x.contiguous(),
            dt.contiguous(),
            A,
            B.contiguous(),
            C.contiguous(),
            chunk_size,
            D=D,
            initial_states=initial_state,
            return_final_states=output_final_state,
        )
        return (out[0], out[1]) if output_final_state else (out, None)
    dtype = _backend.compute_dtype(x, dt, A, B, C, D)
    args = [_backend.cast(z, dtype) for z in (x, dt, A, B, C, D, initial_state)]
    with torch.autocast(x.device.type, enabled=False):
        if chosen == "reference":
            y, s = ssd_reference(*args, output_final_state)
        else:
            y, s = ssd_chunked(*args, output_final_state, chunk_size=chunk_size)
    return y.to(x.dtype), s

"""Chunked gated delta rule: the WY / UT-transform form with a hand-written backward pass.

Within a chunk of C tokens with cumulative log decay ``G_i = g_1 + ... + g_i`` (``gamma_i = exp(G_i)``) and
incoming state ``S0``, the per-token corrections ``u_t = b_t (v_t - a_t S_{t-1}^T k_t)`` solve a unit
lower-triangular system (derivation: unroll ``S_t = gamma_t S0 + sum_{j<=t} gamma_t/gamma_j k_j u_j^T``)::

    L U = diag(b) (V - diag(gamma) K S0),   L = I + tril(diag(b) (K K^T * Gamma), -1),   Gamma_ij = exp(G_i - G_j)

so ``U = U_v - W S0`` with ``U_v = L^-1 diag(b) V`` and ``W = L^-1 diag(b gamma) K``, and::

    O   = (gamma * Q) S0 + (tril(Q K^T * Gamma)) U
    S_C = gamma_C S0 + Kd^T U,   Kd = diag(exp(G_C - G)) K

Everything except the chunk-to-chunk state hand-over is batched over a small block of chunks, read from and
written to the ``(B, T, H, ·)`` tensors block by block; blocks run in turn, which keeps the working set in
cache and never re-lays out a whole tensor (a whole-sequence pass and full-size copies cost more in memory
traffic than the batching saves; ``benchmarks/bench_ssm.py`` measures the kernel). The backward pass is derived by hand (``_backward_block``): it keeps the inputs, the state entering
every chunk and ``L^-1``, recomputes the other chunk-local matrices block by block and runs the state gradient
backwards over the chunks, which is both faster and lighter in memory than autograd through the same chunk
form.

Legend: B batch, N chunks, C chunk length, H heads, K key dim, V value dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from biodyn import branches
from biodyn.ops.gated_delta.reference import _check

# tokens whose chunk-local matrices are formed at once (small batched products stay in cache)
BLOCK_TOKENS = 128


def _chunks_per_block(c: int) -> int:
    """Chunks per block: about ``BLOCK_TOKENS`` tokens, so short chunks (small heads) pay for fewer, larger
    batched products."""
    return max(1, BLOCK_TOKENS // c)


def _bmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a * b`` for operands ``(..., X, Y)`` with equal leading dims that broadcast in the last two (a row
    scale ``(..., X, 1)``, an outer product ``(..., X, 1) * (..., 1, Y)``), computed on 3-D views: on CPU the
    same broadcast product over 4-D tensors of 8 x 8 chunks ran 2-2.5x slower."""
    shape = torch.broadcast_shapes(a.shape, b.shape)
    return (a.reshape(-1, *a.shape[-2:]) * b.reshape(-1, *b.shape[-2:])).view(shape)


def gated_delta_rule_chunked(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Same signature and result as :func:`gated_delta_rule_reference`; any ``T`` (padded internally)."""
    _check(q, k, v, g, beta)
    if chunk_size < 1:
        raise ValueError(f"invalid chunk_size={chunk_size}; must be >= 1")
    b, t, h, dk = q.shape
    dv = v.shape[-1]
    scale = dk**-0.5 if scale is None else scale
    out_dtype = v.dtype
    # half-precision inputs (bf16 autocast) are computed in float32, like fla's kernels accumulate
    dtype = q.dtype if q.dtype in (torch.float32, torch.float64) else torch.float32
    q, k, v, g, beta = (x.to(dtype) for x in (q, k, v, g, beta))
    c = chunk_size
    pad = (-t) % c
    if pad:  # padded tokens have beta = 0 and g = 0: they leave the state unchanged
        branches.hit("gated_delta.pad")
        q, k, v = (F.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
        g, beta = (F.pad(x, (0, 0, 0, pad)) for x in (g, beta))
    n = (t + pad) // c

    def chunks(x):  # (B, T, H) -> (N, B*H, C)
        return x.reshape(b, n, c, h).permute(1, 0, 3, 2).reshape(n, b * h, c)

    s0 = q.new_zeros(b * h, dk, dv) if initial_state is None else initial_state.reshape(b * h, dk, dv)
    with torch.autocast(q.device.type, enabled=False):
        o, s = _ChunkedGatedDelta.apply(q, k, v, chunks(g).cumsum(-1), chunks(beta), s0.to(dtype), scale)
    return o[:, :t].to(out_dtype), (s.reshape(b, h, dk, dv) if output_final_state else None)


def _block(x, j, n, c):
    """Chunks ``j .. j + n`` of ``x`` ``(B, T, H, D)`` as a contiguous ``(n, B*H, C, D)`` block (a small copy:
    the whole sequence is never re-laid out, and every batched product folds ``(n, B*H)`` without copying)."""
    b, _, h, d = x.shape
    x = x[:, j * c : (j + n) * c].reshape(b, n, c, h, d).permute(1, 0, 3, 2, 4)
    return x.reshape(n, b * h, c, d).contiguous()


def _unblock(y, out, j, c):
    """Write the block ``y`` ``(n, B*H, C, D)`` back into chunks ``j .. j + n`` of ``out`` ``(B, T, H, D)``."""
    n, _, _, d = y.shape
    b, _, h, _ = out.shape
    out[:, j * c : (j + n) * c].view(b, n, c, h, d).copy_(y.view(n, b, h, c, d).permute(1, 0, 3, 2, 4))


def _local(qc, kc, gc, bc, outer, linv=None, linv_out=None):
    """Chunk-local matrices for a block: ``attn`` (tril(Q K^T * Gamma)), ``kk_g`` (K K^T * Gamma), ``Gamma``
    and ``L^-1`` (computed unless given), all ``(n, BH, C, C)``.

    ``outer``: the in-chunk decay range is small enough that ``Gamma_ij = exp(G_i - m) exp(m - G_j)`` (``m``
    mid-chunk) neither overflows nor underflows, so 2C exponentials replace C^2."""
    c = gc.shape[-1]
    kt = kc.transpose(-1, -2)
    if outer:
        rel = gc - gc[..., c // 2 : c // 2 + 1]
        gamma = _bmul(rel.exp()[..., :, None], rel.neg().exp_()[..., None, :]).tril_()
    else:
        causal = torch.ones(c, c, dtype=torch.bool, device=gc.device).tril()
        # zero above
        gamma = (gc[..., :, None] - gc[..., None, :]).masked_fill_(~causal, float("-inf")).exp_()
    attn = (qc @ kt).mul_(gamma)
    kk_g = (kc @ kt).mul_(gamma)
    if linv is None:  # only the strictly lower triangle of diag(b) kk_g is read
        linv = _unit_lower_inverse(_bmul(kk_g, bc[..., :, None]), linv_out)
    return attn, kk_g, gamma, linv


def _unit_lower_inverse(a, out):
    """``(I + strict_tril(a))^-1`` into ``out`` ``(..., C, C)`` (the diagonal and upper part of ``a`` are not read).

    For even ``C >= 16`` by halves, ``[[A, 0], [B, D]]^-1 = [[A^-1, 0], [-D^-1 B A^-1, D^-1]]``: one batched solve
    of the two half-size diagonal blocks and two small products (cheaper than one full solve into ``out``, which
    also copies its identity right-hand side to column-major)."""
    c = a.shape[-1]
    if c < 16 or c % 2:
        branches.hit("gated_delta.inverse.solve")
        eye = torch.eye(c, dtype=a.dtype, device=a.device).expand_as(a)
        return out.copy_(torch.linalg.solve_triangular(a, eye, upper=False, unitriangular=True))
    branches.hit("gated_delta.inverse.halves")
    h = c // 2
    diag = torch.stack([a[..., :h, :h], a[..., h:, h:]], -3)  # (..., 2, h, h)
    eye = torch.eye(h, dtype=a.dtype, device=a.device).expand_as(diag)
    inv = torch.linalg.solve_triangular(diag, eye, upper=False, unitriangular=True)
    out[..., :h, :h], out[..., h:, h:] = inv[..., 0, :, :], inv[..., 1, :, :]
    out[..., :h, h:] = 0
    out[..., h:, :h] = (inv[..., 1, :, :] @ (a[..., h:, :h] @ inv[..., 0, :, :])).neg_()
    return out


def _forward_block(qc, kc, vc, gc, bc, scale, outer, states, linv):
    """One block of n chunks: returns the outputs ``(n, BH, C, V)``; writes ``L^-1`` into ``linv`` and the
    state entering each chunk into ``states`` ``(n + 1, BH, K, V)``, whose first entry enters the block."""
    qc = qc * scale
    attn, _, _, _ = _local(qc, kc, gc, bc, outer, linv_out=linv)
    g_exp = gc.exp()[..., None]  # (n, BH, C, 1) gamma_i <= 1
    g_last = gc[..., -1:].exp()[..., None]  # (n, BH, 1, 1) gamma_C
    b_col = bc[..., None]
    u = linv @ _bmul(vc, b_col)  # U_v, made U in place below
    w = linv @ _bmul(kc, g_exp * b_col)  # (n, BH, C, K)
    kd = _bmul(kc, (gc[..., -1:] - gc).exp()[..., None])  # (n, BH, C, K)
    # the only sequential part: U_n = U_v - W S_n, S_{n+1} = gamma_C S_n + Kd^T U_n
    for i in range(gc.shape[0]):
        u[i].baddbmm_(w[i], states[i], alpha=-1)
        torch.baddbmm(states[i] * g_last[i], kd[i].transpose(-1, -2), u[i], out=states[i + 1])
    o_intra = (attn @ u).flatten(0, 1)  # O_n = (gamma Q) S_n + attn U_n
    o = torch.baddbmm(o_intra, _bmul(qc, g_exp).flatten(0, 1), states[:-1].flatten(0, 1))
    return o.view_as(u)


def _backward_block(qc, kc, vc, gc, bc, scale, outer, states, linv, do, ds):
    """Gradients of one block of n chunks given ``do`` ``(n, BH, C, V)`` and ``ds`` ``(BH, K, V)`` (the
    gradient of the state leaving the block); ``states`` ``(n, BH, K, V)`` entered the chunks. Returns dq, dk,
    dv ``(n, BH, C, ·)``, dG and dbeta ``(n, BH, C)`` and the gradient of the state entering the block."""
    qc = qc * scale
    attn, kk_g, gamma, linv = _local(qc, kc, gc, bc, outer, linv=linv)
    g_exp = gc.exp()[..., None]
    g_last = gc[..., -1:]  # (n, BH, 1)
    e = (g_last - gc).exp()[..., None]  # (n, BH, C, 1) exp(G_C - G_i)
    kd = _bmul(kc, e)
    # with S_n known, U = L^-1 diag(b) (V - diag(gamma) K S_n) directly
    ks = kc @ states  # (n, BH, C, V)
    vt = torch.addcmul(vc, g_exp, ks, value=-1)
    u = linv @ _bmul(vt, bc[..., None])
    # backwards over chunks: dU_n = attn^T dO_n + Kd dS_{n+1}, dY_n = L^-T dU_n and
    # dS_n = gamma_C dS_{n+1} + (gamma Q)^T dO_n - (diag(b gamma) K)^T dY_n   (as W = L^-1 diag(b gamma) K)
    du = attn.transpose(-1, -2) @ do
    qdo = _bmul(qc, g_exp).transpose(-1, -2) @ do  # (n, BH, K, V)
    bgk = _bmul(kc, g_exp * bc[..., None])
    g_c = g_last.exp()[..., None]  # (n, BH, 1, 1)
    dy = torch.empty_like(du)
    ds_next = torch.empty_like(states)  # gradient of the state leaving each chunk
    for i in reversed(range(gc.shape[0])):
        ds_next[i] = ds
        du[i].baddbmm_(kd[i], ds)
        torch.bmm(linv[i].transpose(-1, -2), du[i], out=dy[i])
        ds = torch.baddbmm(qdo[i].addcmul_(ds, g_c[i]), bgk[i].transpose(-1, -2), dy[i], alpha=-1)
    d_a = (dy @ u.transpose(-1, -2)).neg_().tril_(-1)  # dL = -L^-T dU U^T, on the strictly lower part
    dvt = _bmul(dy, bc[..., None])  # dV = d(V - gamma K S) = diag(b) dY
    da_kk = d_a * kk_g
    dbeta = (dy * vt).sum(-1) + da_kk.sum(-1)
    st = states.transpose(-1, -2)
    d1 = do @ u.transpose(-1, -2)  # gradient of attn (its upper part is multiplied by Gamma = 0 below)
    # log-decay gradient through Gamma: z = dGamma * Gamma
    z = (d1 * attn).addcmul_(da_kk, bc[..., :, None])
    p = d1.mul_(gamma)
    e_a = d_a.mul_(gamma).mul_(bc[..., :, None])
    dost = do @ st  # (n, BH, C, K)
    dq = (
        torch.baddbmm(_bmul(g_exp, dost).flatten(0, 1), p.flatten(0, 1), kc.flatten(0, 1))
        .view_as(dost)
        .mul_(scale)
    )
    dkd = u @ ds_next.transpose(-1, -2)  # (n, BH, C, K)
    es = (e_a + e_a.transpose(-1, -2)).flatten(0, 1)  # A is built from K K^T: both factors get a gradient
    dk = torch.baddbmm(es @ kc.flatten(0, 1), p.transpose(-1, -2).flatten(0, 1), qc.flatten(0, 1)).view_as(kc)
    # - diag(gamma) dVt S^T
    dk.flatten(0, 1).baddbmm_(_bmul(dvt, g_exp).flatten(0, 1), st.flatten(0, 1), alpha=-1)
    dk.addcmul_(e, dkd)
    # log-decay gradient: through Gamma (z above), gamma, exp(G_C - G) and the gamma_C S_n term
    d_gamma = (qc * dost).sum(-1) - (ks * dvt).sum(-1)
    de = (dkd * kc).sum(-1) * e[..., 0]
    dg = z.sum(-1) - z.sum(-2) + g_exp[..., 0] * d_gamma - de
    dg[..., -1] += de.sum(-1) + g_c[..., 0, 0] * (states * ds_next).sum((-1, -2))
    return dq, dk, dvt, dg, dbeta, ds


class _ChunkedGatedDelta(torch.autograd.Function):
    """q, k ``(B, T, H, K)`` and v ``(B, T, H, V)`` with T a multiple of the chunk; in-chunk cumulative log
    decay ``G`` and beta in the chunked layout ``(N, B*H, C)``; the initial state ``(B*H, K, V)`` and the scale of
    q. Returns o ``(B, T, H, V)`` and the final state ``(B*H, K, V)``."""

    @staticmethod
    def forward(ctx, q, k, v, gc, bc, s0, scale):
        limit = 60.0 if gc.dtype in (torch.float32, torch.float16, torch.bfloat16) else 600.0
        outer = bool((gc[..., 0] - gc[..., -1]).max() < limit)  # one host sync per call
        branches.hit("gated_delta.decay.outer" if outer else "gated_delta.decay.exact")
        n, _, c = gc.shape
        states = q.new_empty(n + 1, *s0.shape)  # state entering chunk i; the last one leaves the sequence
        states[0] = s0
        o = v.new_empty(v.shape)
        linv = q.new_empty(*gc.shape, c)  # kept: a second triangular solve cost more than the memory
        per = _chunks_per_block(c)
        for j in range(0, n, per):
            m = min(per, n - j)
            blk = slice(j, j + m)
            o_blk = _forward_block(
                _block(q, j, m, c),
                _block(k, j, m, c),
                _block(v, j, m, c),
                gc[blk],
                bc[blk],
                scale,
                outer,
                states[j : j + m + 1],
                linv[blk],
            )
            _unblock(o_blk, o, j, c)
        ctx.save_for_backward(q, k, v, gc, bc, states, linv)
        ctx.scale, ctx.outer = scale, outer
        return o, states[-1].clone()

    @staticmethod
    def backward(ctx, do, ds):
        q, k, v, gc, bc, states, linv = ctx.saved_tensors
        n, _, c = gc.shape
        dq, dk, dv = (torch.empty_like(x) for x in (q, k, v))
        dg, db = torch.empty_like(gc), torch.empty_like(bc)
        per = _chunks_per_block(c)
        for j in reversed(range(0, n, per)):
            m = min(per, n - j)
            blk = slice(j, j + m)
            dq_blk, dk_blk, dv_blk, dg[blk], db[blk], ds = _backward_block(
                _block(q, j, m, c),
                _block(k, j, m, c),
                _block(v, j, m, c),
                gc[blk],
                bc[blk],
                ctx.scale,
                ctx.outer,
                states[blk],
                linv[blk],
                _block(do, j, m, c),
                ds,
            )
            for g_blk, out in zip((dq_blk, dk_blk, dv_blk), (dq, dk, dv)):
                _unblock(g_blk, out, j, c)
        return dq, dk, dv, dg, db, ds, None

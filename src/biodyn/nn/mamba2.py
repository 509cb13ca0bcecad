"""Mamba2 block (Dao & Gu, 2024) in a pre-norm residual: x + out_proj(norm(SSD(conv(in_proj(x))) * silu(z)))."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.nn.chunk import inference_chunk
from biodyn.nn.conv import ShortCausalConv1d
from biodyn.nn.norm import RMSNorm
from biodyn.ops.ssd import ssd, ssd_step


class Mamba2Block(nn.Module):
    """Shapes: ``forward`` ``(B, T, D) -> (B, T, D)``; ``step`` ``(B, D) -> (B, D)`` with state
    ``{"conv": (B, E + 2 G N, kernel - 1), "ssm": (B, H, P, N)}`` where ``E = expand * D = H * P``.

    dt is ``softplus(dt_raw + dt_bias)`` with ``dt_bias`` initialised so that dt starts log-uniform in
    ``[dt_min, dt_max]``; ``A = -exp(A_log)`` with ``A_log`` starting at ``log(U[1, 16])`` (mamba-ssm's).
    ``inference_chunk_size``: the SSD chunk for CPU inference (eval mode without autograd; ``None``: ``chunk_size``
    everywhere; the result is the same up to float rounding).
    """

    def __init__(
        self,
        dim: int,
        d_state: int = 16,
        headdim: int = 16,
        expand: int = 2,
        ngroups: int = 1,
        conv_kernel_size: int = 4,
        chunk_size: int = 64,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        inference_chunk_size: int | None = None,
    ):
        super().__init__()
        inner = expand * dim
        if inner % headdim:
            raise ValueError(f"expand * dim = {inner} must be divisible by headdim = {headdim}")
        self.dim, self.inner, self.headdim, self.nheads = dim, inner, headdim, inner // headdim
        self.ngroups, self.d_state, self.chunk_size = ngroups, d_state, chunk_size
        self.inference_chunk_size = inference_chunk_size
        conv_dim = inner + 2 * ngroups * d_state
        self.norm = RMSNorm(dim)
        self.in_proj = nn.Linear(dim, inner + conv_dim + self.nheads, bias=False)  # z, (x, B, C), dt
        self.conv = ShortCausalConv1d(conv_dim, conv_kernel_size)
        dt = torch.exp(torch.rand(self.nheads) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.empty(self.nheads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.nheads))
        for p in (self.dt_bias, self.A_log, self.D):
            p._no_weight_decay = True
        self.out_norm = RMSNorm(inner)
        self.out_proj = nn.Linear(inner, dim, bias=False)

    def _split(self, zxbcdt):
        z, xbc, dt = torch.split(
            zxbcdt, [self.inner, self.inner + 2 * self.ngroups * self.d_state, self.nheads], -1
        )
        return z, xbc, dt

    def _ssm_inputs(self, xbc, dt):
        x, b, c = torch.split(xbc, [self.inner, self.ngroups * self.d_state, self.ngroups * self.d_state], -1)
        shp = xbc.shape[:-1]
        x = x.reshape(*shp, self.nheads, self.headdim)
        b = b.reshape(*shp, self.ngroups, self.d_state)
        c = c.reshape(*shp, self.ngroups, self.d_state)
        return x, F.softplus(dt + self.dt_bias), -torch.exp(self.A_log), b, c

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        z, xbc, dt = self._split(self.in_proj(self.norm(u)))
        x, dt, a, b, c = self._ssm_inputs(self.conv(xbc), dt)
        y, _ = ssd(x, dt, a, b, c, self.D, chunk_size=inference_chunk(self, u))  # dt already softplus-ed
        y = y.reshape(*u.shape[:-1], self.inner) * F.silu(z)
        return u + self.out_proj(self.out_norm(y))

    def allocate_state(self, batch: int, device=None, dtype=None) -> dict[str, torch.Tensor]:
        return {
            "conv": self.conv.allocate_state(batch, device, dtype),
            "ssm": torch.zeros(batch, self.nheads, self.headdim, self.d_state, device=device, dtype=dtype),
        }

    def step(
        self, u_t: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z, xbc, dt = self._split(self.in_proj(self.norm(u_t)))
        xbc, conv = self.conv.step(xbc, state["conv"])
        x, dt, a, b, c = self._ssm_inputs(xbc, dt)
        y, ssm = ssd_step(x, dt, a, b, c, self.D, state["ssm"])
        y = y.reshape(*u_t.shape[:-1], self.inner) * F.silu(z)
        return u_t + self.out_proj(self.out_norm(y)), {"conv": conv, "ssm": ssm}

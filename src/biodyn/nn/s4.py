"""S4D-complex block of PRISM: selective complex diagonal SSM with ZOH, gated, in a pre-norm block.

``x -> RMSNorm -> ShortCausalConv1d -> S4SSM (gated, complex diagonal) -> residual -> RMSNorm -> SwiGLU -> residual``
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.nn.conv import ShortCausalConv1d
from biodyn.nn.mlp import SwiGLU
from biodyn.nn.norm import RMSNorm
from biodyn.ops.s4d import s4d, s4d_step


class S4SSM(nn.Module):
    """Gated selective S4D mixer ``(B, T, D) -> (B, T, D)``; ``H = D`` channels, ``N = d_state`` complex modes each.

    ``u, z = in_proj(x)``; ``dt_t = softplus(dt_proj(x_t))`` per channel with the bias initialised so that dt
    starts log-uniform in ``[dt_min, dt_max]``; ``A = -exp(A_log_re) + i A_im`` (S4D-Lin: ``-1/2 + i pi n``),
    ``B = 1``, ``C ~ CN(0, 1/2)`` (learned, complex); output ``out_proj(s4d(u) * silu(z))``.
    """

    def __init__(
        self, dim: int, d_state: int = 64, dt_min: float = 0.001, dt_max: float = 0.1, chunk_size: int = 32
    ):
        super().__init__()
        self.dim, self.d_state, self.chunk_size = dim, d_state, chunk_size
        self.in_proj = nn.Linear(dim, 2 * dim, bias=False)
        self.dt_proj = nn.Linear(dim, dim)
        nn.init.normal_(self.dt_proj.weight, std=dim**-0.5 * 0.1)
        dt = torch.exp(torch.rand(dim) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log_re = nn.Parameter(torch.full((dim, d_state), math.log(0.5)))
        self.A_im = nn.Parameter(math.pi * torch.arange(d_state, dtype=torch.float32).repeat(dim, 1))
        self.B = nn.Parameter(torch.stack([torch.ones(dim, d_state), torch.zeros(dim, d_state)], -1))
        self.C = nn.Parameter(torch.randn(dim, d_state, 2) * 0.5**0.5)
        self.D = nn.Parameter(torch.ones(dim))
        for p in (self.dt_proj.bias, self.A_log_re, self.A_im, self.D):
            p._no_weight_decay = True
        self.out_proj = nn.Linear(dim, dim, bias=False)

    def ssm_params(self):
        """``A, B, C`` complex ``(H, N)``."""
        a = torch.complex(-torch.exp(self.A_log_re), self.A_im)
        return a, torch.view_as_complex(self.B), torch.view_as_complex(self.C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, z = self.in_proj(x).chunk(2, dim=-1)
        dt = F.softplus(self.dt_proj(x))
        y, _ = s4d(u, dt, *self.ssm_params(), self.D, chunk_size=self.chunk_size)
        return self.out_proj(y * F.silu(z))

    def allocate_state(self, batch: int, device=None, dtype=None) -> torch.Tensor:
        cdt = torch.complex128 if dtype == torch.float64 else torch.complex64
        return torch.zeros(batch, self.dim, self.d_state, device=device, dtype=cdt)

    def step(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u, z = self.in_proj(x_t).chunk(2, dim=-1)
        dt = F.softplus(self.dt_proj(x_t))
        y, state = s4d_step(u, dt, *self.ssm_params(), self.D, state)
        return self.out_proj(y * F.silu(z)), state


class S4Block(nn.Module):
    """PRISM S4 block, ``(B, T, D) -> (B, T, D)``; ``step((B, D), state) -> ((B, D), state)`` with state
    ``{"conv": (B, D, kernel - 1), "ssm": (B, D, N) complex}``. ``ffn``: a module ``(..., D) -> (..., D)``
    used instead of the ``SwiGLU(dim, mlp_expand)`` feed-forward (PRISM's mixture of experts)."""

    def __init__(
        self,
        dim: int,
        d_state: int = 64,
        conv_kernel_size: int = 4,
        mlp_expand: float = 2.0,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        chunk_size: int = 32,
        ffn: nn.Module | None = None,
    ):
        super().__init__()
        self.norm1 = RMSNorm(dim)
        self.conv = ShortCausalConv1d(dim, conv_kernel_size)
        self.ssm = S4SSM(dim, d_state, dt_min, dt_max, chunk_size)
        self.norm2 = RMSNorm(dim)
        self.mlp = SwiGLU(dim, mlp_expand) if ffn is None else ffn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ssm(self.conv(self.norm1(x)))
        return x + self.mlp(self.norm2(x))

    def allocate_state(self, batch: int, device=None, dtype=None) -> dict[str, torch.Tensor]:
        return {
            "conv": self.conv.allocate_state(batch, device, dtype),
            "ssm": self.ssm.allocate_state(batch, device, dtype),
        }

    def step(self, x_t: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        v, conv = self.conv.step(self.norm1(x_t), state["conv"])
        y, ssm = self.ssm.step(v, state["ssm"])
        x_t = x_t + y
        return x_t + self.mlp(self.norm2(x_t)), {"conv": conv, "ssm": ssm}

"""PRISM's DeltaBlock: RMSNorm -> ShortCausalConv1d -> GatedDeltaRule -> residual ->
RMSNorm -> SwiGLU -> residual."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.nn.chunk import inference_chunk
from biodyn.nn.conv import ShortCausalConv1d
from biodyn.nn.mlp import SwiGLU, split_linear
from biodyn.nn.norm import RMSNorm
from biodyn.ops import gated_delta_rule, gated_delta_rule_step


class GatedDeltaBlock(nn.Module):
    """Gated delta rule mixer with a ``Dh x Dh`` matrix memory per head, in a pre-norm residual block.

    Per token: ``alpha_t = sigmoid(W_a x_t + b_a)`` (forget gate; ``b_a`` starts at ``gate_bias_init`` = 4,
    sigma(4) ~ 0.98, a long memory), ``beta_t = sigmoid(W_b x_t)`` (write strength), q and k L2-normalised.

    Shapes: ``forward`` ``(B, T, D) -> (B, T, D)``; ``step`` ``(B, D) -> (B, D)`` with a carried state
    ``{"conv": (B, D, kernel - 1), "memory": (B, H, Dh, Dh)}``. ``ffn``: a module ``(..., D) -> (..., D)`` used
    instead of the ``SwiGLU(dim, ffn_expand)`` feed-forward (PRISM's mixture of experts).

    ``inference_chunk_size``: the chunk of the chunked kernel for CPU inference (eval mode without autograd);
    ``None`` uses ``chunk_size`` everywhere. Any chunk gives the same result up to float rounding, and the
    fastest one differs between training (fwd+bwd) and a forward pass.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int = 8,
        conv_kernel_size: int = 4,
        ffn_expand: float = 2.0,
        qk_norm: bool = True,
        gate_bias_init: float = 4.0,
        chunk_size: int = 64,
        ffn: nn.Module | None = None,
        inference_chunk_size: int | None = None,
    ):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.qk_norm, self.chunk_size = qk_norm, chunk_size
        self.inference_chunk_size = inference_chunk_size
        self.norm1 = RMSNorm(dim)
        self.conv = ShortCausalConv1d(dim, conv_kernel_size)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.gates = nn.Linear(dim, 2 * num_heads, bias=True)  # forget (alpha) and write (beta) logits
        with torch.no_grad():
            self.gates.bias[:num_heads].fill_(gate_bias_init)
            self.gates.bias[num_heads:].zero_()
        self.gates.bias._no_weight_decay = True
        self.out = nn.Linear(dim, dim, bias=False)
        self.norm2 = RMSNorm(dim)
        self.ffn = SwiGLU(dim, ffn_expand) if ffn is None else ffn

    def _project(self, h: torch.Tensor):
        """``(..., D)`` -> q, k ``(..., H, Dh)``, v, log-decay g and beta ``(..., H)``."""
        hd, d = self.head_dim, self.dim
        qk, v = split_linear(h, self.qkv, (2 * d, d))
        if self.qk_norm:
            # L2 normalisation q / sqrt(|q|^2 + 1e-12) on a 2-D view (rows of Dh): the broadcast product is
            # 2-3x slower on CPU over (..., H, Dh) tensors
            rows = qk.reshape(-1, hd)
            qk = rows * torch.rsqrt(rows.square().sum(-1, keepdim=True) + 1e-12)
        q, k = qk.reshape(*h.shape[:-1], 2 * self.num_heads, hd).split(self.num_heads, dim=-2)
        v = v.reshape(*h.shape[:-1], self.num_heads, hd)
        a_logit, b_logit = self.gates(h).chunk(2, dim=-1)
        return q, k, v, F.logsigmoid(a_logit), torch.sigmoid(b_logit)

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        """The mixer branch only (after norm and conv): ``(B, T, D) -> (B, T, D)``."""
        q, k, v, g, beta = self._project(x)
        c = inference_chunk(self, x)
        o, _ = gated_delta_rule(q, k, v, g, beta, scale=self.head_dim**-0.5, chunk_size=c)
        return self.out(o.reshape(*x.shape[:-1], self.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mix(self.conv(self.norm1(x)))
        return x + self.ffn(self.norm2(x))

    def allocate_state(self, batch: int, device=None, dtype=None) -> dict[str, torch.Tensor]:
        return {
            "conv": self.conv.allocate_state(batch, device, dtype),
            "memory": torch.zeros(
                batch, self.num_heads, self.head_dim, self.head_dim, device=device, dtype=dtype
            ),
        }

    def step(
        self, x_t: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One token ``(B, D)``; returns the output and the new state (the input state is not modified)."""
        h, conv = self.conv.step(self.norm1(x_t), state["conv"])
        q, k, v, g, beta = self._project(h)
        o, memory = gated_delta_rule_step(q, k, v, g, beta, self.head_dim**-0.5, state["memory"])
        x_t = x_t + self.out(o.reshape(x_t.shape))
        return x_t + self.ffn(self.norm2(x_t)), {"conv": conv, "memory": memory}

"""A small pre-norm Transformer encoder classifier (PRISM's attention baseline).

``(B, C, T)``: each time step is a token of ``C`` features -> ``Linear(C -> d_model)`` + sinusoidal positions
-> ``depth`` x [``x + MHA(LN(x))``, ``x + MLP(LN(x))``] -> LayerNorm -> mean over tokens -> Linear head.
At the defaults (d_model 256, depth 12, 8 heads, mlp_ratio 3.5) it has ~8.7M parameters, PRISM's budget.
With ``causal=True`` attention is causal and :meth:`TransformerClassifier.decode_step` decodes one token at a
time from a KV cache (which grows with the tokens seen; the streaming comparison of ``bench_prism``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.errors import ConfigError
from biodyn.models._base import BiodynModel
from biodyn.models._registry import register_model


@dataclass
class TransformerConfig:
    d_model: int = 256
    depth: int = 12
    num_heads: int = 8
    mlp_ratio: float = 3.5
    dropout: float = 0.0
    causal: bool = False  # causal attention (needed for decode_step)


def sinusoidal_positions(t: int, d: int, offset: int = 0, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(t, d)`` sin/cos positions of tokens ``offset .. offset + t - 1`` (Vaswani et al. 2017)."""
    pos = torch.arange(offset, offset + t, device=device, dtype=torch.float64)[:, None]
    i = torch.arange(0, d, 2, device=device, dtype=torch.float64)
    ang = pos / torch.pow(10000.0, i / d)
    pe = torch.zeros(t, d, device=device, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang[:, : d // 2])
    return pe.to(dtype)


class _Layer(nn.Module):
    def __init__(self, d: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        hidden = int(d * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))
        self.drop = nn.Dropout(dropout)

    def _qkv(self, h):
        b, t, d = h.shape
        q, k, v = self.qkv(h).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return q, k, v  # (B, heads, T, Dh)

    def forward(self, x, causal: bool):
        q, k, v = self._qkv(self.norm1(x))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, heads, T, Dh)
        x = x + self.drop(self.proj(o.transpose(1, 2).reshape(x.shape)))
        return x + self.drop(self.mlp(self.norm2(x)))

    def step(self, x_t, cache):
        """``x_t`` ``(B, 1, D)``; ``cache`` ``(k, v)`` each ``(B, heads, t, Dh)`` or None."""
        q, k, v = self._qkv(self.norm1(x_t))
        if cache is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        o = F.scaled_dot_product_attention(q, k, v)
        x_t = x_t + self.proj(o.transpose(1, 2).reshape(x_t.shape))
        return x_t + self.mlp(self.norm2(x_t)), (k, v)


class TransformerClassifier(BiodynModel):
    """Pre-norm Transformer encoder; ``forward_features`` ``(B, C, T) -> (B, d_model, T)``."""

    output = "clip"

    def __init__(
        self,
        n_chans: int,
        n_outputs: int,
        n_times: int | None,
        sfreq: float,
        cfg: TransformerConfig | None = None,
    ):
        super().__init__(n_chans, n_outputs, n_times, sfreq, cfg if cfg is not None else TransformerConfig())
        cfg = self.cfg
        if cfg.d_model % cfg.num_heads or cfg.d_model % 2:
            raise ConfigError(
                f"d_model={cfg.d_model} must be even and divisible by num_heads={cfg.num_heads}"
            )
        self.embed = nn.Linear(self.n_chans, cfg.d_model)
        self.layers = nn.ModuleList(
            _Layer(cfg.d_model, cfg.num_heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, self.n_outputs)

    def _embed(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.n_chans:
            raise ConfigError(f"Transformer: expected x (B, C={self.n_chans}, T), got {tuple(x.shape)}")
        h = self.embed(x.transpose(1, 2))
        return h + sinusoidal_positions(h.shape[1], h.shape[2], offset, h.device, h.dtype)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        h = self._embed(x)
        for layer in self.layers:
            h = layer(h, self.cfg.causal)
        return self.norm(h).transpose(1, 2)  # (B, d_model, T); the head pools over T

    # KV-cache decoding (causal=True): cache = {"kv": [per layer (k, v)], "sum", "count"}
    def allocate_kv_cache(self, batch_size: int) -> dict:
        p = self.head.weight
        return {"kv": [None] * len(self.layers), "sum": p.new_zeros(batch_size, self.cfg.d_model), "count": 0}

    def decode_step(self, x_t: torch.Tensor, cache: dict) -> tuple[torch.Tensor, dict]:
        """One time step ``(B, C)`` -> logits of the prefix (the causal forward's), and the grown cache."""
        if not self.cfg.causal:
            raise ConfigError("decode_step needs a causal Transformer (causal=True)")
        h = self._embed(x_t[:, :, None], offset=cache["count"])
        kv = []
        for layer, c in zip(self.layers, cache["kv"]):
            h, c = layer.step(h, c)
            kv.append(c)
        s = cache["sum"] + self.norm(h[:, 0])
        n = cache["count"] + 1
        return self.head(s / n), {"kv": kv, "sum": s, "count": n}


register_model(
    "transformer", config=TransformerConfig, test_config={"d_model": 16, "depth": 2, "num_heads": 2}
)(TransformerClassifier)

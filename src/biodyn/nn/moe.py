"""Mixture-of-experts SwiGLU in the DeepSeekMoE style (Dai et al. 2024, "DeepSeekMoE: Towards Ultimate Expert
Specialization in Mixture-of-Experts Language Models").

::

    y = shared(x) + sum_{e in topk(s)} s_e * expert_e(x),    s = softmax(router(x))  over the routed experts

* one always-on *shared* expert (shared-expert isolation; width ``shared_dim``, 0 for none) and
  ``num_experts`` fine-grained *routed* experts of width ``expert_dim`` each, all SwiGLU;
* top-``k`` routing on the softmax of a bias-free linear router; the gates are the softmax values of the chosen
  experts, not renormalised (DeepSeekMoE's choice), so ``sum_e s_e <= 1``;
* the expert-level load-balancing loss of DeepSeekMoE, ``L_bal = sum_e f_e P_e`` with ``f_e = E / (k N) *
  (tokens routed to e)`` and ``P_e`` the mean router probability of ``e`` over the ``N`` tokens (1 when the
  routing is uniform), weighted by ``aux_loss_weight``; optionally the router z-loss of ST-MoE (Zoph et al.
  2022), ``mean_t logsumexp(logits_t)^2``, weighted by ``z_loss_weight``. The router runs in float32 (float64
  for float64 inputs) outside autocast.

Capacity: by default every expert takes every token routed to it (nothing is dropped). With
``capacity_factor`` set, while training each expert takes at most ``ceil(capacity_factor * N * k / E)`` of the
``N`` tokens of a call, in token order (the first ones routed to it); the rest of that expert's assignments are
dropped (the token still gets the shared expert and its other experts, and the residual). Dropped assignments
are counted on the module (``tokens_dropped`` of ``tokens_routed``) and the count of the last call is in
``last_dropped``. In eval mode (and streaming) nothing is dropped, so ``step`` equals the full pass.

The fast path sorts the ``N k`` (token, expert) assignments by expert, gathers the tokens once, runs each expert
on its contiguous slice (a loop over experts, none over tokens) and scatters the gated outputs back with one
``index_add``. :func:`moe_dense_reference` computes every expert on every token and weights them by the
router's gates: the slow, obviously-correct reference the fast path is tested against.

Shapes: ``x`` ``(..., D)`` -> ``(..., D)``; every leading axis is a token axis (``(B, T, D)`` or one streamed
token ``(B, D)``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.errors import ConfigError
from biodyn.nn.mlp import SwiGLU


class MoESwiGLU(nn.Module):
    """Shared expert + ``num_experts`` routed SwiGLU experts with top-``k`` routing (see the module docstring).

    After each call, ``aux_losses`` holds the already weighted auxiliary terms of that call:
    ``{"moe_balance": aux_loss_weight * L_bal}`` and, when ``z_loss_weight > 0``, ``"moe_z"``.

    Args:
        dim: model width ``D``.
        num_experts: routed experts ``E``.
        top_k: experts per token ``k`` (``1 <= k <= E``).
        expert_dim: hidden width of each routed expert.
        shared_dim: hidden width of the shared expert (0: no shared expert).
        aux_loss_weight: weight of the load-balancing loss.
        z_loss_weight: weight of the router z-loss (0: not computed).
        capacity_factor: ``None`` (no token dropped) or > 0 (training-time capacity per expert, drops counted).
    """

    def __init__(
        self,
        dim: int,
        num_experts: int = 8,
        top_k: int = 2,
        expert_dim: int = 64,
        shared_dim: int = 128,
        aux_loss_weight: float = 0.01,
        z_loss_weight: float = 0.0,
        capacity_factor: float | None = None,
    ):
        super().__init__()
        for k, v in (
            ("dim", dim),
            ("num_experts", num_experts),
            ("top_k", top_k),
            ("expert_dim", expert_dim),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"MoESwiGLU.{k} must be a positive int, got {v!r}")
        if top_k > num_experts:
            raise ConfigError(f"MoESwiGLU.top_k={top_k} exceeds num_experts={num_experts}")
        if isinstance(shared_dim, bool) or not isinstance(shared_dim, int) or shared_dim < 0:
            raise ConfigError(f"MoESwiGLU.shared_dim must be an int >= 0, got {shared_dim!r}")
        if not (aux_loss_weight >= 0 and z_loss_weight >= 0):
            raise ConfigError(
                f"MoESwiGLU loss weights must be >= 0, got aux {aux_loss_weight!r}, z {z_loss_weight!r}"
            )
        if capacity_factor is not None and not capacity_factor > 0:
            raise ConfigError(f"MoESwiGLU.capacity_factor must be None or > 0, got {capacity_factor!r}")
        self.dim, self.num_experts, self.top_k, self.expert_dim = dim, num_experts, top_k, expert_dim
        self.aux_loss_weight, self.z_loss_weight = float(aux_loss_weight), float(z_loss_weight)
        self.capacity_factor = None if capacity_factor is None else float(capacity_factor)
        self.router = nn.Linear(dim, num_experts, bias=False)
        self.shared = SwiGLU(dim, hidden=shared_dim) if shared_dim > 0 else None
        # expert e: gate_up[e] (2H, D) and out[e] (D, H), nn.Linear's weight layout and initialisation
        self.w_gate_up = nn.Parameter(torch.empty(num_experts, 2 * expert_dim, dim))
        self.w_out = nn.Parameter(torch.empty(num_experts, dim, expert_dim))
        self.reset_parameters()
        self.aux_losses: dict[str, torch.Tensor] = {}
        self.last_dropped = 0
        self.tokens_routed = 0  # (token, expert) assignments seen while a capacity was applied, and dropped
        self.tokens_dropped = 0

    def __getstate__(self):
        # the last call's aux terms hold its autograd graph, which copy.deepcopy and pickle refuse: not copied
        return {**super().__getstate__(), "aux_losses": {}}

    def reset_parameters(self) -> None:
        for w, fan_in in ((self.w_gate_up, self.dim), (self.w_out, self.expert_dim)):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default: kaiming_uniform(a=sqrt(5))
            nn.init.uniform_(w, -bound, bound)

    # -------------------------------------------------------------------------------------------- counts
    def expert_params(self) -> int:
        """Parameters of one routed expert (``3 D H``)."""
        return 3 * self.dim * self.expert_dim

    def inactive_params(self) -> int:
        """Parameters a token does not use: the ``E - k`` routed experts it is not sent to."""
        return (self.num_experts - self.top_k) * self.expert_params()

    # -------------------------------------------------------------------------------------------- routing
    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Router of the tokens ``x`` ``(N, D)``: logits and probabilities ``(N, E)`` (float32, float64 for
        float64 inputs), the top-k gates ``(N, k)`` and expert indices ``(N, k)``."""
        dt = torch.float64 if x.dtype == torch.float64 else torch.float32
        with torch.autocast(x.device.type, enabled=False):
            logits = F.linear(x.to(dt), self.router.weight.to(dt))
        probs = logits.softmax(dim=-1)
        gate, idx = probs.topk(self.top_k, dim=-1)
        return logits, probs, gate, idx

    def capacity(self, n_tokens: int) -> int | None:
        """Assignments an expert takes in a call of ``n_tokens`` tokens while training; ``None``: no limit."""
        if self.capacity_factor is None or not self.training:
            return None
        return max(1, math.ceil(self.capacity_factor * n_tokens * self.top_k / self.num_experts))

    def _record(self, logits, probs, idx, dropped: int, n_assign: int, capped: bool) -> None:
        n, e, k = probs.shape[0], self.num_experts, self.top_k
        counts = torch.bincount(idx.reshape(-1), minlength=e).to(probs.dtype)
        f = counts * (e / (k * n))
        aux = {"moe_balance": self.aux_loss_weight * (f * probs.mean(dim=0)).sum()}
        if self.z_loss_weight > 0:
            aux["moe_z"] = self.z_loss_weight * torch.logsumexp(logits, dim=-1).square().mean()
        self.aux_losses = aux
        self.last_dropped = dropped
        if capped:
            self.tokens_routed += n_assign
            self.tokens_dropped += dropped

    # -------------------------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., D) -> (..., D)``."""
        shape = x.shape
        xf = x.reshape(-1, shape[-1])
        n, k, e = xf.shape[0], self.top_k, self.num_experts
        logits, probs, gate, idx = self.route(xf)
        # the N k assignments, sorted by expert; a stable sort keeps token order within an expert
        flat_e = idx.reshape(-1)
        order = torch.argsort(flat_e, stable=True)
        tok = torch.arange(n, device=xf.device).repeat_interleave(k)[order]
        g = gate.reshape(-1)[order]
        counts = torch.bincount(flat_e, minlength=e)
        cap, dropped = self.capacity(n), 0
        if cap is not None:  # keep the first `cap` assignments of every expert
            starts = torch.cumsum(counts, 0) - counts
            pos = torch.arange(n * k, device=xf.device) - starts[flat_e[order]]
            keep = pos < cap
            dropped = int((~keep).sum())
            tok, g, counts = tok[keep], g[keep], counts.clamp(max=cap)
        xs = xf.index_select(0, tok)  # (M, D): every token once per expert it goes to
        outs = []
        # every expert runs, on an empty slice when it has no token: all parameters stay in the graph (DDP)
        for ex, part in enumerate(xs.split(counts.tolist())):
            h = part @ self.w_gate_up[ex].t()
            a, b = h.split(self.expert_dim, dim=-1)
            outs.append((F.silu(a) * b) @ self.w_out[ex].t())
        ys = torch.cat(outs) * g.to(xs.dtype)[:, None]
        y = xf.new_zeros(n, shape[-1]).index_add_(0, tok, ys)
        if self.shared is not None:
            y = y + self.shared(xf)
        self._record(logits, probs, idx, dropped, n * k, cap is not None)
        return y.reshape(shape)

    def extra_repr(self) -> str:
        shared = 0 if self.shared is None else self.shared.out.in_features
        return (
            f"dim={self.dim}, num_experts={self.num_experts}, top_k={self.top_k}, expert_dim={self.expert_dim}, "
            f"shared_dim={shared}, capacity_factor={self.capacity_factor}"
        )


def moe_dense_reference(moe: MoESwiGLU, x: torch.Tensor) -> torch.Tensor:
    """The slow reference of :meth:`MoESwiGLU.forward`: every routed expert on every token, weighted by the
    router's gate (0 for experts outside the top-k and, with a capacity, for assignments beyond it, found by
    walking the tokens in order). ``(..., D) -> (..., D)``; uses the module's parameters, records nothing."""
    shape = x.shape
    xf = x.reshape(-1, shape[-1])
    n = xf.shape[0]
    _, _, gate, idx = moe.route(xf)
    weights = torch.zeros(n, moe.num_experts, dtype=gate.dtype, device=xf.device)
    weights = weights.scatter(1, idx, gate)  # (N, E)
    cap = moe.capacity(n)
    if cap is not None:
        taken = [0] * moe.num_experts
        keep = torch.ones(n, moe.num_experts, dtype=torch.bool)
        for t in range(n):
            for ex in idx[t].tolist():
                keep[t, ex] = taken[ex] < cap
                taken[ex] += 1
        weights = weights * keep.to(weights.device)
    y = torch.zeros_like(xf)
    for ex in range(moe.num_experts):
        a, b = (xf @ moe.w_gate_up[ex].t()).split(moe.expert_dim, dim=-1)
        y = y + weights[:, ex : ex + 1].to(xf.dtype) * ((F.silu(a) * b) @ moe.w_out[ex].t())
    if moe.shared is not None:
        y = y + moe.shared(xf)
    return y.reshape(shape)


def moe_modules(model: nn.Module) -> list[MoESwiGLU]:
    """The :class:`MoESwiGLU` layers of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, MoESwiGLU)]


def param_counts(model: nn.Module) -> dict[str, int]:
    """``{"total": all parameters, "active": those one token uses}``: the total less, for every MoE layer, the
    ``E - k`` routed experts a token is not sent to (the router and the shared expert are active)."""
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "active": total - sum(m.inactive_params() for m in moe_modules(model))}


def moe_aux_losses(model: nn.Module) -> dict[str, torch.Tensor]:
    """The auxiliary terms of ``model``'s last forward pass, summed over its MoE layers (each already weighted;
    the load-balancing loss is added per layer as in DeepSeekMoE). Empty for a model without MoE layers."""
    out: dict[str, torch.Tensor] = {}
    for m in moe_modules(model):
        for k, v in m.aux_losses.items():
            out[k] = out[k] + v if k in out else v
    return out


def moe_drop_stats(model: nn.Module) -> dict[str, int]:
    """Assignments routed and dropped under a capacity, summed over ``model``'s MoE layers since it was built."""
    mods = moe_modules(model)
    return {"routed": sum(m.tokens_routed for m in mods), "dropped": sum(m.tokens_dropped for m in mods)}

"""Graph-conditioned neural ODE (CLD-Trans): per-channel latent states coupled through ``A(t)``.

    dz_j/dt = f(z_j) + g( sum_i A(t)[i, j] z_i )          z: (B, C, D)

``A(t)`` ``(B, C, C)`` (``[b, source, target]``) is the adjacency inferred on successive sub-windows
``A_0 .. A_{K-1}`` at times ``0 .. K-1`` (time in sub-windows), linearly interpolated in between and held
constant outside. Integration is ``torchdiffeq.odeint`` (``dopri5`` by default, ``rk4`` with a fixed
step as an option) or ``odeint_adjoint`` (memory independent of the number of solver steps; gradients
for the parameters and for ``A`` through ``adjoint_params``).

:class:`GraphStep` is the discrete counterpart used by the ``no_ode`` ablation:
``z_{k+1} = z_k + f(z_k) + g(A_k^T z_k)``.
"""

from __future__ import annotations

import torch
from torch import nn

from biodyn.errors import check_option

METHODS = ("dopri5", "rk4", "euler", "midpoint", "bosh3")


def _mlp(dim: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))


def interpolate_graph(graphs: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``graphs`` ``(B, K, C, C)`` at times ``0..K-1``; ``t`` a scalar tensor -> ``A(t)`` ``(B, C, C)``."""
    k = graphs.shape[1]
    if k == 1:
        return graphs[:, 0]
    tc = t.clamp(0, k - 1).to(graphs.dtype)
    lo = tc.floor().clamp(max=k - 2)
    frac = tc - lo
    idx = lo.long().reshape(1)
    a0 = graphs.index_select(1, idx)[:, 0]
    a1 = graphs.index_select(1, idx + 1)[:, 0]
    return a0 + frac * (a1 - a0)


class GraphODEFunc(nn.Module):
    """The vector field ``f(z) + g(A(t)^T z)``; set the graphs with :meth:`set_graphs` before solving."""

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        self.f = _mlp(dim, hidden)
        self.g = _mlp(dim, hidden)
        self.graphs: torch.Tensor | None = None
        self.nfe = 0

    def set_graphs(self, graphs: torch.Tensor) -> None:
        self.graphs = graphs

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        a = interpolate_graph(self.graphs, t)  # (B, C, C)
        msg = torch.einsum("bij,bid->bjd", a.to(z.dtype), z)  # target j gathers its sources i
        return self.f(z) + self.g(msg)


class GraphODE(nn.Module):
    """Integrate ``z0`` ``(B, C, D)`` through ``A(t)``; returns the states at ``times`` ``(S,)``:
    ``(S, B, C, D)``.

    Args:
        dim, hidden: state size and MLP width.
        method: ``dopri5`` (adaptive, default) or a fixed-step method (``rk4``) with ``step_size``.
        rtol, atol: tolerances of adaptive methods.
        adjoint: use ``odeint_adjoint``.
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 64,
        method: str = "dopri5",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        step_size: float = 0.25,
        adjoint: bool = False,
    ):
        super().__init__()
        check_option("ode.method", method, METHODS)
        self.func = GraphODEFunc(dim, hidden)
        self.method, self.rtol, self.atol, self.step_size, self.adjoint = (
            method,
            rtol,
            atol,
            step_size,
            adjoint,
        )

    def forward(self, z0: torch.Tensor, graphs: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        from torchdiffeq import odeint, odeint_adjoint

        self.func.set_graphs(graphs)
        opts = {} if self.method == "dopri5" or self.method == "bosh3" else {"step_size": self.step_size}
        kw = {"method": self.method, "rtol": self.rtol, "atol": self.atol, "options": opts}
        times = times.to(z0.dtype)
        with torch.autocast(z0.device.type, enabled=False):  # adaptive step control in float32
            z0f = z0.float() if z0.dtype in (torch.float16, torch.bfloat16) else z0
            if self.adjoint:
                params = tuple(p for p in self.func.parameters() if p.requires_grad)
                if graphs.requires_grad:
                    params = (*params, graphs)
                out = odeint_adjoint(self.func, z0f, times.to(z0f.dtype), adjoint_params=params, **kw)
            else:
                out = odeint(self.func, z0f, times.to(z0f.dtype), **kw)
        return out


class GraphStep(nn.Module):
    """Discrete graph update ``z + f(z) + g(A^T z)`` (the ``no_ode`` ablation's predictor)."""

    def __init__(self, dim: int, hidden: int = 64):
        super().__init__()
        self.func = GraphODEFunc(dim, hidden)

    def forward(self, z0: torch.Tensor, graphs: torch.Tensor, n_steps: int) -> torch.Tensor:
        """``z0`` ``(B, C, D)``, ``graphs`` ``(B, K, C, C)`` -> ``(n_steps + 1, B, C, D)`` (index 0 is z0)."""
        out, z = [z0], z0
        k = graphs.shape[1]
        for s in range(n_steps):
            a = graphs[:, min(s, k - 1)]
            z = z + self.func.f(z) + self.func.g(torch.einsum("bij,bid->bjd", a.to(z.dtype), z))
            out.append(z)
        return torch.stack(out)

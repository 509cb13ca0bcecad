"""Drawing a lag graph on the scalp."""

from __future__ import annotations

import os
import re

import numpy as np

from biodyn.types import LagGraph


def plot_lag_graph(
    graph: LagGraph, path: str | os.PathLike, max_edges: int = 30, title: str | None = None
) -> None:
    """PNG: channels at their 10-20 positions (bipolar channels at the midpoint of their electrodes), the
    strongest ``max_edges`` edges as arrows from source to target coloured by delay in ms. Atomic write."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colormaps, colors

    from biodyn.atomic import atomic_path
    from biodyn.montage import positions

    names = [re.sub(r"#\d+$", "", n) for n in graph.channels]
    try:
        pos = positions(names)
    except Exception:  # channels without a scalp position: place them on a circle
        ang = np.linspace(0, 2 * np.pi, len(names), endpoint=False)
        pos = np.stack([np.cos(ang), np.sin(ang)], 1) * 0.8
    edges = graph.edges()[:max_edges]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.add_patch(plt.Circle((0, 0), 1.05, fill=False, lw=1.5, color="grey"))
    ax.plot([-0.1, 0, 0.1], [1.03, 1.15, 1.03], color="grey", lw=1.5)  # nose
    taus_ms = [e["tau_s"] * 1e3 for e in edges]
    norm = colors.Normalize(vmin=min(taus_ms, default=0), vmax=max(taus_ms, default=1) or 1)
    cmap = colormaps["viridis"]
    index = {n: k for k, n in enumerate(graph.channels)}
    for e, t_ms in zip(edges, taus_ms):
        a, b = pos[index[e["source"]]], pos[index[e["target"]]]
        ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "-|>", "color": cmap(norm(t_ms)),
                    "lw": 0.8 + 2 * min(abs(e["weight"]), 1.0), "shrinkA": 6, "shrinkB": 6,
                    "connectionstyle": "arc3,rad=0.15"})  # fmt: skip
    ax.scatter(pos[:, 0], pos[:, 1], s=30, color="black", zorder=3)
    ranking = graph.focal_ranking()
    for k, n in enumerate(graph.channels):
        ax.text(pos[k, 0], pos[k, 1] + 0.05, n, ha="center", fontsize=7,
                color="crimson" if ranking and n == ranking[0] else "black")  # fmt: skip
    sm = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.7, label="delay (ms)")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        title or f"lag graph: {len(graph.edges())} edges, focal lead {ranking[0] if ranking else '-'}"
    )
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)

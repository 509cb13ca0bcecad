"""The metrics layer's figures (matplotlib, imported lazily; files written atomically)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from biodyn.metrics.detection import FA_TARGETS, OperatingPoint


def plot_curve(
    curve: Sequence[OperatingPoint],
    path: str | os.PathLike,
    targets: Sequence[float] = FA_TARGETS,
    title: str = "OVERLAP sensitivity vs false alarms",
) -> None:
    """PNG of sensitivity against FA/24h (log x), with the targets marked; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biodyn.atomic import atomic_path

    pts = sorted((p.fa_per_24h, p.sensitivity) for p in curve if not np.isnan(p.sensitivity))
    fig, ax = plt.subplots(figsize=(5, 4))
    if pts:
        x, y = zip(*pts)
        ax.step(np.maximum(x, 1e-2), np.asarray(y) * 100, where="post")
    for t in targets:
        ax.axvline(t, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("false alarms per 24 h")
    ax.set_ylabel("sensitivity (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)


def save_report(
    report: dict[str, Any],
    json_path: str | os.PathLike,
    png_path: str | os.PathLike | None = None,
    title: str = "OVERLAP sensitivity vs false alarms (dev)",
) -> None:
    """Write a :func:`sensitivity_at_fa` report as JSON and, with ``png_path``, its dev curve as a PNG
    (both atomically)."""
    from biodyn.atomic import atomic_write_json

    atomic_write_json(json_path, report)
    if png_path is not None:
        curve = [OperatingPoint(**{k: v for k, v in p.items() if k != "extra"}) for p in report["dev_curve"]]
        plot_curve(curve, png_path, [r["target_fa_per_24h"] for r in report["operating_points"]], title=title)

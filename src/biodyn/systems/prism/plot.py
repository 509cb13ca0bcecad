"""PRISM's training-curve figure (``curves.png`` of a run folder)."""

from __future__ import annotations

import math
from pathlib import Path


def plot_curves(curves: dict[str, list[dict]], path: Path) -> None:
    """Loss (train/val) and the validation metric per epoch, one column per modality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(curves), figsize=(4.5 * len(curves), 6), squeeze=False)
    for j, (name, rows) in enumerate(curves.items()):
        ep = [r["epoch"] for r in rows]
        ax = axes[0, j]
        ax.plot(ep, [r.get("train_loss", math.nan) for r in rows], "o-", label="train")
        ax.plot(ep, [r.get("val_loss", math.nan) for r in rows], "s-", label="val")
        ax.set(title=f"{name}: loss", xlabel="epoch")
        ax.legend()
        ax = axes[1, j]
        for k in ("val_accuracy", "val_macro_auroc"):
            if any(k in r for r in rows):
                ax.plot(ep, [r.get(k, math.nan) for r in rows], "o-", label=k)
        ax.set(title=f"{name}: validation", xlabel="epoch")
        ax.legend()
    fig.tight_layout()
    from biodyn.atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)

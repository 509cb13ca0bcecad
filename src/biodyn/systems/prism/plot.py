"""PRISM's training-curve figure (``curves.png`` of a run folder)."""

from __future__ import annotations

import math
from pathlib import Path


def plot_curves(curves: dict[str, list[dict]], path: Path) -> None:
    """Loss (train/val) and the validation metric per epoch, one column per modality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, len(curves), figsize=(4.5 * len(curves), 6), squeeze=False)
    for j, (name, rows) in enumerate(curves.items()):
        ep = [r["epoch"] for r in rows]
        ax = axes[0, j]
        ax.plot(ep, [r.get("train_loss", math.nan) for r in rows], "o-", label="training")
        ax.plot(ep, [r.get("val_loss", math.nan) for r in rows], "s-", label="validation")
        ax.set(title=f"{name}: loss", xlabel="epoch", ylabel="cross-entropy loss")
        ax.legend(fontsize=8)
        ax = axes[1, j]
        for k, label in (("val_accuracy", "accuracy"), ("val_macro_auroc", "macro AUROC")):
            if any(k in r for r in rows):
                ax.plot(ep, [r.get(k, math.nan) for r in rows], "o-", label=label)
        ax.set(
            title=f"{name}: validation scores", xlabel="epoch", ylabel="score (1 = perfect)", ylim=(0, 1.02)
        )
        ax.legend(fontsize=8)
        for ax in axes[:, j]:  # whole epochs only, however few
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if len(ep) == 1:
                ax.set_xlim(ep[0] - 1, ep[0] + 1)
            ax.grid(True, color="0.9")
    fig.tight_layout()
    from biodyn.atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)

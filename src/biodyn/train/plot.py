"""The training layer's figures: few-shot budget curves and training-loss curves (matplotlib, imported
lazily; files written atomically)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from biodyn.atomic import atomic_path


def plot_budget_curves(rows: list[dict], metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["metric"] == metric and r["n"] > 0]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key in sorted({(r["experiment"], r["model"], r["task"]) for r in sel}):
        pts = sorted(
            (r["budget_frac"], r["mean"], r["ci95"])
            for r in sel
            if (r["experiment"], r["model"], r["task"]) == key
        )
        xs = [p[0] * 100 for p in pts]
        ys = [p[1] for p in pts]
        es = [0 if math.isnan(p[2]) else p[2] for p in pts]
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=f"{key[1]} ({key[2]})")
    ax.set_xscale("log")
    ax.set_xlabel("label budget (%)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_training_curves(results_dir: Path, path: Path) -> bool:
    """Train loss vs step of every run's ``log.jsonl`` under ``results_dir``; False when there is none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logs = sorted(results_dir.rglob("log.jsonl"))
    if not logs:
        return False
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for f in logs:
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        tr = [(r["step"], r["loss"]) for r in rows if r.get("kind") == "train"]
        if tr:
            ax.plot(*zip(*tr, strict=True), lw=0.8, label=str(f.parent.relative_to(results_dir)))
    ax.set_xlabel("step")
    ax.set_ylabel("train loss")
    if len(logs) <= 10:
        ax.legend(fontsize=5)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return True


def plot_topk_bars(rows: list[dict], path: Path) -> None:
    """Zero-shot focal-lead accuracy: per method, top-1/3/5 means over seeds with their 95 % CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = sorted({(r["experiment"], r["model"]) for r in rows})
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(keys) + 2), 3.5))
    for j, k in enumerate((1, 3, 5)):
        got = {(r["experiment"], r["model"]): r for r in rows if r["metric"] == f"top{k}"}
        ys = [got[key]["mean"] if key in got else np.nan for key in keys]
        es = [0 if key not in got or math.isnan(got[key]["ci95"]) else got[key]["ci95"] for key in keys]
        ax.bar(np.arange(len(keys)) + (j - 1) * 0.27, ys, 0.27, yerr=es, capsize=2, label=f"top-{k}")
    ax.set_xticks(np.arange(len(keys)), [m for _, m in keys], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (mean over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

"""The training layer's figures: few-shot budget curves and training-loss curves (matplotlib, imported
lazily; files written atomically)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from biodyn.atomic import atomic_path


def metric_range(metric: str) -> tuple[float | None, float | None]:
    """The values a metric can take (for clipping confidence intervals): losses ``[0, inf)``, kappa/MCC
    ``[-1, 1]``, rates and areas (AUROC, AUPRC, accuracy, F1, ECE, sensitivity, ...) ``[0, 1]``."""
    m = metric.lower()
    if "loss" in m:
        return 0.0, None
    if "kappa" in m or "mcc" in m:
        return -1.0, 1.0
    if any(k in m for k in ("auroc", "auprc", "auc", "acc", "f1", "ece", "sens", "spec", "prec", "recall")):
        return 0.0, 1.0
    return None, None


def clipped_interval(mean: float, half_width: float, metric: str) -> tuple[float, float]:
    """``mean -/+ half_width`` clipped to :func:`metric_range`; returns the (lower, upper) error-bar lengths."""
    lo, hi = metric_range(metric)
    if math.isnan(half_width):
        return 0.0, 0.0
    a, b = mean - half_width, mean + half_width
    if lo is not None:
        a = max(a, lo)
    if hi is not None:
        b = min(b, hi)
    return max(0.0, mean - a), max(0.0, b - mean)


def plot_budget_curves(rows: list[dict], metric: str, path: Path) -> None:
    """Mean over seeds vs label budget with 95 % intervals clipped to the metric's range; each line's label gives
    its ``n`` (seeds with a finite value), and each point its own where they differ. One colour per model, one
    line style per task, the legend beside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["metric"] == metric and r["n"] > 0]
    keys = sorted({(r["experiment"], r["model"], r["task"]) for r in sel})
    models = sorted({k[1] for k in keys})
    tasks = sorted({k[2] for k in keys})
    styles = ("-", "--", ":", "-.")
    # one colour per model (tab10 / tab20: distinct up to 20), one line style per task (e.g. probe vs fine-tune)
    cmap = plt.cm.tab10 if len(models) <= 10 else plt.cm.tab20
    fig, ax = plt.subplots(figsize=(5 + 0.12 * len(keys), 3.5))
    for key in keys:
        pts = sorted(
            (r["budget_frac"], r["mean"], r["ci95"], r["n"])
            for r in sel
            if (r["experiment"], r["model"], r["task"]) == key
        )
        xs = [p[0] * 100 for p in pts]
        ys = [p[1] for p in pts]
        bars = [clipped_interval(p[1], p[2], metric) for p in pts]
        ns = sorted({p[3] for p in pts})
        n_txt = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}-{ns[-1]}"
        line = ax.errorbar(
            xs,
            ys,
            yerr=[[b[0] for b in bars], [b[1] for b in bars]],
            marker="o",
            capsize=3,
            color=cmap(models.index(key[1]) % cmap.N),
            linestyle=styles[tasks.index(key[2]) % len(styles)],
            label=f"{key[1]} ({key[2]}), {n_txt}",
        )
        for x, y, p in zip(xs, ys, pts, strict=True) if len(ns) > 1 else ():  # one n: the label says it
            ax.annotate(
                f"n={p[3]}",
                (x, y),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=6,
                color=line[0].get_color(),
            )
    ax.set_xscale("log")
    ax.set_xlabel("label budget (%)")
    bounded = metric_range(metric) != (None, None)
    ax.set_ylabel(f"{metric}\n(mean, 95 % CI clipped to its range)" if bounded else metric, fontsize=8)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside the data
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight")
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
            # markers, so that a run with a single logged step is drawn too (a lone point makes no line)
            ax.plot(
                *zip(*tr, strict=True),
                lw=0.8,
                marker="o",
                markersize=3,
                label=str(f.parent.relative_to(results_dir)),
            )
    ax.set_xlabel("step")
    ax.set_ylabel("train loss")
    ax.grid(True, color="0.9")
    if len(logs) <= 10 and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)  # legible at the shown size (5 pt was not)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return True


def topk_labels(keys: list[tuple[str, str]]) -> list[str]:
    """Bar labels for ``(experiment, model)`` keys: the model, prefixed by its experiment when the rows come
    from more than one (the same model under two experiments would otherwise get two identical bars)."""
    if len({e for e, _ in keys}) > 1:
        return [f"{e}: {m}" for e, m in keys]
    return [m for _, m in keys]


def _bar_error(r: dict | None) -> tuple[float, float]:
    if r is None or math.isnan(r["mean"]):
        return 0.0, 0.0
    if "interval" in r:
        return r["mean"] - r["interval"][0], r["interval"][1] - r["mean"]
    return (0.0, 0.0) if math.isnan(r["ci95"]) else (r["ci95"], r["ci95"])


def plot_topk_bars(rows: list[dict], path: Path) -> None:
    """Zero-shot focal-lead accuracy: per method, top-1/3/5 means over seeds with their 95 % interval (the
    Wilson interval over seizures when the rows have one, else the Student-t interval over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    keys = sorted({(r["experiment"], r["model"]) for r in rows})
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(keys) + 2), 3.5))
    for j, k in enumerate((1, 3, 5)):
        got = {(r["experiment"], r["model"]): r for r in rows if r["metric"] == f"top{k}"}
        ys = [got[key]["mean"] if key in got else np.nan for key in keys]
        es = np.array([_bar_error(got.get(key)) for key in keys]).T  # (2, n): below, above
        ax.bar(np.arange(len(keys)) + (j - 1) * 0.27, ys, 0.27, yerr=es, capsize=2, label=f"top-{k}")
    ax.set_xticks(np.arange(len(keys)), topk_labels(keys), rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    wilson = any("interval" in r for r in rows)
    ax.set_ylabel(
        "accuracy, mean over seeds\n" + ("(95 % Wilson, seizures)" if wilson else "(95 % CI, seeds)"),
        fontsize=8,
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_identifiability(rows: list[dict], path: Path) -> None:
    """Synthetic identifiability (``biodyn report`` on ``bench_identifiability --results``): per simulated cell
    (channels, noise, graph), each method's edge F1 and tau MAE, mean over seeds with the 95 % CI; Laplace vs
    Gaussian noise are cells of their own, amortised vs amortised_gaussian the two LD-SEM likelihoods."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = sorted({r["task"] for r in rows})
    methods = sorted({r["model"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(max(6, 1.2 * len(tasks) * 2 + 2), 3.6))
    width = 0.8 / max(1, len(methods))
    for ax, metric, label in zip(axes, ("edge_f1", "tau_mae_samples"), ("edge F1", "tau MAE (samples)")):
        for j, m in enumerate(methods):
            got = {r["task"]: r for r in rows if r["metric"] == metric and r["model"] == m}
            ys = [got[t]["mean"] if t in got else np.nan for t in tasks]
            es = [0.0 if t not in got or not np.isfinite(got[t]["ci95"]) else got[t]["ci95"] for t in tasks]
            ax.bar(
                np.arange(len(tasks)) + (j - (len(methods) - 1) / 2) * width,
                ys,
                width,
                yerr=es,
                capsize=2,
                label=m,
                color=plt.cm.tab10(j % 10),
            )
        ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(f"{label}, mean over seeds (95 % CI)", fontsize=8)
        if metric == "edge_f1":
            ax.set_ylim(0, 1.05)
        else:
            ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

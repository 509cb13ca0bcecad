"""The demo's HTML report: a "Summary" section first (one row per step: its data, its headline result beside
a reference, the time it took), then one section per system with readable tables (named columns with units,
rounded numbers) and each figure with a one-line caption. ``mne.Report`` (the field's convention) keeps the
table of contents.

Each step's result carries a ``headline`` (``data``, ``size``, ``real``, ``result``, ``reference``) and
``tables`` (``[{"title", "columns", "rows"}]``, rows of already formatted cells); the demo's runner adds
``time_s``. Nothing here flattens a nested result into key paths.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

SUMMARY_COLUMNS = ("step", "data", "size", "real or synthetic", "result", "reference", "time (s)")


def fmt(v: Any, digits: int = 3) -> str:
    """A cell: floats rounded to ``digits`` significant decimals, NaN as "n/a", lists joined by commas."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if v.is_integer() or abs(v) >= 1000:  # a count or a rate: no decimals to read past
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x, digits) for x in v) or "none"
    return str(v)


def table(title: str, columns: list[str] | tuple[str, ...], rows: list[list[Any]]) -> dict[str, Any]:
    """A report table: named columns, every cell formatted with :func:`fmt`."""
    return {"title": title, "columns": list(columns), "rows": [[fmt(c) for c in r] for r in rows]}


def table_html(t: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in t["columns"])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in t["rows"]
    )
    cap = f"<caption style='caption-side: top'>{html.escape(t['title'])}</caption>" if t.get("title") else ""
    return f"<table class='table table-sm table-striped'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def summary_rows(results: dict[str, Any], titles: dict[str, str]) -> list[list[str]]:
    rows = []
    for name, res in results.items():
        if not isinstance(res, dict):
            continue
        h = res.get("headline") or {}
        real = h.get("real")
        rows.append(
            [
                titles.get(name, name),
                h.get("data", "n/a"),
                h.get("size", "n/a"),
                "n/a"
                if real is None
                else real
                if isinstance(real, str)
                else ("real" if real else "SYNTHETIC"),
                h.get("result", "n/a"),
                h.get("reference", "n/a"),
                fmt(res.get("time_s"), 1),
            ]
        )
    return rows


def write_report(
    results: dict[str, Any],
    figures: dict[str, list[tuple[Path, str]]],
    path: Path,
    *,
    titles: dict[str, str],
    title: str,
    intro: str,
) -> Path:
    """One self-contained HTML file: the summary table, then per step its notes, tables and captioned figures."""
    import mne

    report = mne.Report(title=title, verbose="error")
    summary = {"title": "", "columns": list(SUMMARY_COLUMNS), "rows": summary_rows(results, titles)}
    report.add_html(f"<p>{html.escape(intro)}</p>" + table_html(summary), title="Summary", section="Summary")
    for name, res in results.items():
        if not isinstance(res, dict):
            continue
        section = titles.get(name, name)
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in res.get("notes", []))
        tables = "".join(table_html(t) for t in res.get("tables", []))
        if notes or tables:
            report.add_html(notes + tables, title=f"{section}: results", section=section)
        figs = [(Path(f), c) for f, c in figures.get(name, []) if Path(f).exists()]
        stems = [f.stem for f, _ in figs]
        for fig, caption in figs:  # a figure name used twice in a step (lag_graph) is told by its folder
            label = fig.stem if stems.count(fig.stem) == 1 else f"{fig.parent.name} {fig.stem}"
            report.add_image(fig, title=f"{section}: {label}", caption=caption, section=section)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.html")
    report.save(tmp, open_browser=False, overwrite=True, verbose="error")
    tmp.replace(path)  # atomic: a killed demo never leaves half a report
    return path


def crosspatient_expectation(example_dir: Path) -> dict[str, Any] | None:
    """The per-seed test window AUROC of the recorded cross-patient run (``results/examples/
    seizure_tiny_crosspatient``: trained on chb01, scored on chb03), or None when the folder is absent."""
    import json

    import numpy as np
    from scipy import stats

    files = sorted(example_dir.glob("seizure_tiny/*/*/100pct/seed*.json"))
    if not files:
        return None
    vals = [float(json.loads(f.read_text())["metrics"]["test_window_auroc"]) for f in files]
    n = len(vals)
    mean = float(np.mean(vals))
    half = float(stats.t.ppf(0.975, n - 1) * np.std(vals, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return {
        "values": vals,
        "seeds": [f.stem.removeprefix("seed") for f in files],
        "mean": mean,
        "ci95": half,
        "source": str(example_dir),
    }


def plot_expectation(expect: dict[str, Any], this_run: float | None, path: Path) -> None:
    """The recorded cross-patient window AUROC per seed (dots), their mean with a 95 % interval, this run's own
    cross-patient value, and chance (0.5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biodyn.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(8.0, 3.2), dpi=100, layout="constrained")
    vals = expect["values"]
    ax.scatter(vals, [1] * len(vals), color="tab:blue", zorder=3, label=f"recorded run, {len(vals)} seeds")
    if math.isfinite(expect["ci95"]):
        ax.errorbar(
            [expect["mean"]],
            [1.25],
            xerr=[[expect["ci95"]], [expect["ci95"]]],
            fmt="D",
            color="tab:blue",
            capsize=4,
            label="their mean, 95 % interval",
        )
    if this_run is not None and math.isfinite(this_run):
        ax.scatter(
            [this_run], [0.6], marker="*", s=140, color="tab:red", zorder=3, label="this demo's detector"
        )
    ax.axvline(0.5, color="grey", ls="--", lw=1, label="chance (0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0.3, 1.6)
    ax.set_yticks([])
    ax.set_xlabel("window AUROC on a new patient (chb03 eval windows; 1 = perfect)")
    ax.grid(True, axis="x", color="0.9")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False)
    ax.set_title("expected quality of a detector trained for minutes", fontsize=10, loc="left")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)

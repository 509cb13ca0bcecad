"""Aggregate few-shot results (``<exp>/<model>/<task>/<budget>/seed<k>.json``) into tables and figures."""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from biodyn.errors import ConfigError
from biodyn.metrics.stats import mean_ci

_SEED = re.compile(r"^seed(-?\d+)\.json$")


def _budget_value(name: str) -> float:
    m = re.match(r"^([\d.]+)pct$", name)
    return float(m.group(1)) / 100 if m else float("nan")


_WILSON_PARTS = re.compile(r"^top\d+_ci95_(low|high)$")  # per-seed intervals, replaced by the pooled one


def _read_seed_file(f: Path) -> dict[str, Any]:
    """A seed file as a dict whose ``metrics`` (if any) map names to numbers or null; anything else (not
    UTF-8, not JSON, not an object, a string as a metric) is a :class:`ConfigError` naming the file."""
    try:
        r = json.loads(f.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"report: {f} is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"report: {f} is not valid JSON ({e})") from None
    if not isinstance(r, dict):
        raise ConfigError(f'report: {f} holds a JSON {type(r).__name__}, expected an object with "metrics"')
    metrics = r.get("metrics", {})
    if not isinstance(metrics, dict):
        raise ConfigError(f'report: {f}: "metrics" is a {type(metrics).__name__}, expected an object')
    for k, v in metrics.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ConfigError(f"report: {f}: metric {k!r} is {v!r}, expected a number or null")
    return r


def collect(results_dir: str | os.PathLike, seeds=None) -> list[dict[str, Any]]:
    """One row per (experiment, model, task, budget, metric): values per seed, mean, CI half-width, the
    seeds that are missing (against ``seeds``, default the protocol's five) and those whose value is not
    finite (left out of the mean, named in the table).

    Zero-shot focal-lead accuracies (``top<k>`` with ``n_seizures`` in the seed files) get the 95 % Wilson
    interval over seizures of their seed mean (``interval``): the seizures are the sample, and for a method
    that gives the same ranking for every seed a spread over seeds would be 0."""
    from biodyn.metrics.stats import wilson_interval
    from biodyn.train.fewshot import SEEDS

    expected = list(seeds or SEEDS)
    root = Path(results_dir)
    if not root.is_dir():
        raise ConfigError(f"report: results folder {root} does not exist")
    groups: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for f in sorted(root.glob("*/*/*/*/seed*.json")):
        m = _SEED.match(f.name)
        if not m:
            continue
        exp, model, task, budget = f.relative_to(root).parts[:4]
        groups[(exp, model, task, budget)][int(m.group(1))] = _read_seed_file(f)
    if not groups:
        raise ConfigError(f"report: no <experiment>/<model>/<task>/<budget>/seed<k>.json under {root}")
    rows = []
    for (exp, model, task, budget), by_seed in sorted(
        groups.items(), key=lambda kv: (kv[0][:3], _budget_value(kv[0][3]))
    ):
        metrics = sorted({k for r in by_seed.values() for k in r.get("metrics", {})})
        n_seizures = {r["metrics"].get("n_seizures") for r in by_seed.values() if "metrics" in r}
        n_sz = next(iter(n_seizures)) if len(n_seizures) == 1 else None  # the same seizures in every seed
        for metric in metrics:
            if budget == "zeroshot" and _WILSON_PARTS.match(metric):
                continue
            vals = {s: r["metrics"][metric] for s, r in by_seed.items() if metric in r.get("metrics", {})}
            finite = [v for v in vals.values() if v is not None and math.isfinite(v)]
            mean, hw = mean_ci(finite) if finite else (float("nan"), float("nan"))
            # the grid's note: other budgets whose training windows are this cell's (one measurement)
            same = {s: by_seed[s].get("same_training_set_as") or [] for s in vals}
            row = {
                "experiment": exp,
                "model": model,
                "task": task,
                "budget": budget,
                "budget_frac": _budget_value(budget),
                "metric": metric,
                "values": vals,
                "mean": mean,
                "ci95": hw,
                "n": len(finite),
                "missing_seeds": [s for s in expected if s not in vals],
                "nonfinite_seeds": sorted(s for s, v in vals.items() if v is None or not math.isfinite(v)),
                "same_training_set_as": sorted({b for v in same.values() for b in v}, key=_budget_value),
                "same_training_seeds": [s for s, v in same.items() if v],
            }
            if budget == "zeroshot" and re.match(r"^top\d+$", metric) and n_sz and finite:
                row.update(interval=list(wilson_interval(mean * n_sz, int(n_sz))), n_seizures=int(n_sz))
            rows.append(row)
    return rows


def _cell(r: dict, latex: bool = False) -> str:
    if r["n"] == 0:
        return "--"
    pm = r"\pm" if latex else "±"
    if "interval" in r:  # zero-shot top-k: Wilson interval over seizures
        s = f"{r['mean']:.3f} [{r['interval'][0]:.3f}, {r['interval'][1]:.3f}]"
    else:
        s = f"{r['mean']:.3f}" if math.isnan(r["ci95"]) else f"{r['mean']:.3f} {pm} {r['ci95']:.3f}"
    if latex:
        s = f"${s}$"
    notes = []
    if r["missing_seeds"]:
        notes.append(f"missing seed {','.join(map(str, r['missing_seeds']))}")
    if r.get("nonfinite_seeds"):
        notes.append(f"NaN at seed {','.join(map(str, r['nonfinite_seeds']))}")
    if notes:
        s += f" (n={r['n']}; {'; '.join(notes)})"
    if r.get("same_training_set_as"):  # not a measurement of its own: another budget's training windows
        seeds = r["same_training_seeds"]
        part = "" if len(seeds) == len(r["values"]) else f" for seed {','.join(map(str, seeds))}"
        s += f" (same training set as {', '.join(r['same_training_set_as'])}{part})"
    return s


def _budgets(sel: list[dict]) -> list[tuple[float, str]]:
    """Distinct ``(fraction, name)`` budgets, by name (a non-percent budget such as ``zeroshot`` has a NaN
    fraction, and NaNs never compare equal), ascending, non-percent names last."""
    by_name = {r["budget"]: r["budget_frac"] for r in sel}
    return sorted(
        ((f, b) for b, f in by_name.items()),
        key=lambda fb: (math.isnan(fb[0]), fb[0] if not math.isnan(fb[0]) else 0, fb[1]),
    )


def markdown_table(rows: list[dict], metric: str) -> str:
    sel = [r for r in rows if r["metric"] == metric]
    budgets = _budgets(sel)
    keys = sorted({(r["experiment"], r["model"], r["task"]) for r in sel})
    lines = [
        f"| experiment | model | task | {' | '.join(b for _, b in budgets)} |",
        "|" + "---|" * (3 + len(budgets)),
    ]
    for k in keys:
        cells = []
        for _, b in budgets:
            hit = [r for r in sel if (r["experiment"], r["model"], r["task"]) == k and r["budget"] == b]
            cells.append(_cell(hit[0]) if hit else "missing")
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def latex_table(rows: list[dict], metric: str) -> str:
    sel = [r for r in rows if r["metric"] == metric]
    budgets = _budgets(sel)
    keys = sorted({(r["experiment"], r["model"], r["task"]) for r in sel})
    esc = lambda s: s.replace("_", r"\_").replace("%", r"\%")  # noqa: E731
    out = [
        r"\begin{tabular}{lll" + "c" * len(budgets) + "}",
        r"\toprule",
        "experiment & model & task & " + " & ".join(esc(b) for _, b in budgets) + r" \\",
        r"\midrule",
    ]
    for k in keys:
        cells = []
        for _, b in budgets:
            hit = [r for r in sel if (r["experiment"], r["model"], r["task"]) == k and r["budget"] == b]
            cells.append(esc(_cell(hit[0], latex=True)) if hit else "missing")
        out.append(" & ".join(esc(x) for x in k) + " & " + " & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out) + "\n"


def make_report(
    results_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, seeds=None
) -> dict[str, Any]:
    """Write ``report.md``, ``tables.tex``, ``summary.json`` and PNGs into ``out_dir`` (default
    ``<results_dir>/report``); returns the paths and rows."""
    from biodyn.atomic import atomic_write_json, atomic_write_text
    from biodyn.report.plot import plot_budget_curves, plot_training_curves

    root = Path(results_dir)
    rows = collect(root, seeds)
    out = Path(out_dir or root / "report")
    out.mkdir(parents=True, exist_ok=True)
    metrics = sorted({r["metric"] for r in rows})
    md, tex, figs = ["# Results (mean ± 95 % CI over seeds, Student t)\n"], [], []
    if any(r["metric"].endswith("macro_auroc_n_classes") for r in rows):
        md.append(
            "\n`*_macro_auroc_n_classes`: how many classes each macro-AUROC averaged (a class with a single "
            "label value in the split has no AUROC and is left out).\n"
        )
    if any("interval" in r for r in rows):
        md.append("\nZero-shot focal-lead top-k: mean over seeds [95 % Wilson interval over the seizures].\n")
    for m in metrics:
        md += [f"\n## {m}\n\n", markdown_table(rows, m)]
        tex += [f"% {m}\n", latex_table(rows, m)]
        curve = not m.endswith("_n_classes")  # a count, not a score: table only
        if curve and any(not math.isnan(r["budget_frac"]) for r in rows if r["metric"] == m):
            png = out / f"budget_{m}.png"
            plot_budget_curves([r for r in rows if not math.isnan(r["budget_frac"])], m, png)
            figs.append(str(png))
    if any(r["budget"] == "zeroshot" for r in rows):  # zero-shot focal leads: top-k bars per method
        from biodyn.report.plot import plot_topk_bars

        plot_topk_bars([r for r in rows if r["budget"] == "zeroshot"], out / "focal_topk.png")
        figs.append(str(out / "focal_topk.png"))
    ident = [r for r in rows if r["experiment"] == "identifiability"]
    if ident:  # bench_identifiability --results: F1 and tau MAE per simulated cell and method
        from biodyn.report.plot import plot_identifiability

        plot_identifiability(ident, out / "identifiability.png")
        figs.append(str(out / "identifiability.png"))
    if plot_training_curves(root, out / "training_curves.png"):
        figs.append(str(out / "training_curves.png"))
    atomic_write_text(out / "report.md", "".join(md))
    atomic_write_text(out / "tables.tex", "".join(tex))
    atomic_write_json(out / "summary.json", rows)
    return {"report": str(out / "report.md"), "latex": str(out / "tables.tex"), "figures": figs, "rows": rows}

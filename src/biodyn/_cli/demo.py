"""``biodyn demo``: the main job on the sample recordings (synthetic data, said plainly, without them).

The demo is a list of steps; each takes a :class:`DemoContext` and returns a JSON-able result.
Later parts of biodyn append their own steps to :data:`STEPS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# data-root folder -> corpus name
SAMPLE_FOLDERS = {"ptbxl": "ptbxl", "eegmmidb": "eegmmidb", "chbmit": "chbmit", "sleep_edf": "sleepedf"}


@dataclass
class DemoContext:
    root: Path | None  # the data root, None when only synthetic data is available
    out: Path
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return self.root is None


def step_corpora(ctx: DemoContext) -> dict[str, Any]:
    """What each sample corpus holds."""
    from rich.console import Console
    from rich.table import Table

    from biodyn.datasets import get_corpus

    found = {}
    if ctx.synthetic:
        found["synthetic"] = get_corpus("synthetic").summary()
    else:
        for folder, name in SAMPLE_FOLDERS.items():
            if (ctx.root / folder).is_dir():
                found[name] = get_corpus(name, ctx.root / folder).summary()
    table = Table(
        title="corpora found" + (" (SYNTHETIC data: no data root)" if ctx.synthetic else f" in {ctx.root}")
    )
    for col in ("corpus", "records", "with signals", "channels", "rates (Hz)", "hours", "labels"):
        table.add_column(col)
    for name, s in found.items():
        labels = s.get("label_counts") or s.get("labels") or {}
        table.add_row(name, str(s["records"]), str(s["records_with_signals"]), ",".join(map(str, s["n_channels"])),
                      ",".join(f"{r:g}" for r in s["rates_hz"]), f"{s['hours']:.2f}",
                      ", ".join(f"{k} {v}" for k, v in labels.items()))  # fmt: skip
        s["missing_signal_files"] = len(s["missing_signal_files"])
    Console().print(table)
    return found


def step_cache(ctx: DemoContext) -> dict[str, Any]:
    """Build a window cache from a sample corpus and read windows back."""
    import numpy as np

    from biodyn.cache import WindowDataset, build_cache
    from biodyn.datasets import get_corpus

    if ctx.synthetic:
        corpus = get_corpus("synthetic")
    elif (ctx.root / "eegmmidb").is_dir():
        corpus = get_corpus("eegmmidb", ctx.root / "eegmmidb")
    else:
        corpus = get_corpus("ptbxl", ctx.root / "ptbxl")
    out = ctx.out / "cache" / corpus.name
    rep = build_cache(corpus, out, jobs=2, progress=False)
    t0 = time.perf_counter()
    ds = WindowDataset(out)
    n_read = min(len(ds), 64)
    batch = [ds[i] for i in np.linspace(0, len(ds) - 1, n_read).astype(int)]
    read_s = time.perf_counter() - t0
    labels = {str(k): int(v) for k, v in zip(*np.unique(ds.labels, return_counts=True))}
    print(f"cache {corpus.name}: {len(rep.built)} records built, {len(rep.skipped)} reused, {len(rep.failed)} failed; "
          f"{len(ds)} windows of {tuple(batch[0]['x'].shape)} at {ds.fs:g} Hz; window labels {labels}; "
          f"read {n_read} windows in {read_s * 1e3:.0f} ms -> {out}")  # fmt: skip
    return {"corpus": corpus.name, "report": rep.to_dict(), "windows": len(ds), "window_shape": list(batch[0]["x"].shape),
            "fs": ds.fs, "window_labels": labels}  # fmt: skip


def step_lags(ctx: DemoContext) -> dict[str, Any]:
    """CLD-Trans lag graphs: a small synthetic recovery table, then the bundled CHB-MIT ictal excerpts."""
    import numpy as np

    from biodyn._cli.lags import fit_recording
    from biodyn.atomic import atomic_write_json
    from biodyn.causal.fit import FitConfig, fit_ldsem
    from biodyn.causal.ldsem import simulate
    from biodyn.causal.metrics import edge_scores, tau_mae_samples
    from biodyn.causal.plot import plot_lag_graph

    out: dict[str, Any] = {"synthetic": [], "chbmit": []}
    print("synthetic LD-SEM recovery (C=6, T=4000, cyclic, Laplace noise):")
    print(f"  {'seed':>4s}  {'edges':>5s}  {'edge F1':>7s}  {'tau MAE (samples)':>17s}")
    for seed in (42, 123):
        s = simulate(n_channels=6, n_times=4000, cyclic=True, noise="laplace", seed=seed)
        g = fit_ldsem(s.data, s.graph.fs, cfg=FitConfig(steps=150, lr=0.03))
        sc, mae = edge_scores(s.graph, g), tau_mae_samples(s.graph, g)
        out["synthetic"].append({"seed": seed, **sc, "tau_mae_samples": mae})
        print(f"  {seed:4d}  {sc['n_true']:5d}  {sc['f1']:7.3f}  {mae:17.4f}")
    excerpts = ctx.root / "chbmit" / "npy_excerpts" if ctx.root is not None else None
    if excerpts is None or not excerpts.is_dir():
        print("no CHB-MIT excerpts under the data root: lag graphs of real EEG skipped")
        return out
    from biodyn.datasets.chbmit import parse_summary

    summary = parse_summary(ctx.root / "chbmit" / "chb01-summary.txt")
    channels = summary[0].channels
    for f in (
        excerpts / "chb01" / "ictal" / "chb01_03_ictal.npy",
        excerpts / "chb03" / "ictal" / "chb03_01_ictal.npy",
    ):
        if not f.exists():
            continue
        g = fit_recording(np.load(f), 256.0, channels, tau_max_s=0.05, steps=100)
        ranking = g.focal_ranking()
        dest = ctx.out / "lags" / f.stem
        atomic_write_json(dest / "lag_graph.json", {**g.to_dict(), "focal_ranking": ranking})
        plot_lag_graph(g, dest / "lag_graph.png", title=f"{f.stem}: focal lead {ranking[0]}")
        print(f"{f.stem}: {len(g.edges())} edges, focal-lead ranking {', '.join(ranking[:3])} -> {dest}")
        out["chbmit"].append({"excerpt": f.stem, "edges": len(g.edges()), "focal_ranking": ranking[:5]})
    return out


STEPS = [("corpora", step_corpora), ("cache", step_cache), ("lags", step_lags)]


def add_arguments(p) -> None:
    p.add_argument("--out", default="results/demo", help="output folder (default results/demo)")
    p.add_argument("--root", help="data root (default: $BIODYN_DATA_ROOT or ../shared/data)")
    p.add_argument("--json", metavar="OUT", help="write every step's result as JSON (default OUT/demo.json)")
    p.add_argument("--steps", nargs="*", help="run only these steps")


def run(args) -> int:
    from biodyn._cli._common import write_json
    from biodyn.data_root import data_root

    root = Path(args.root) if args.root else data_root()
    if root is not None and not any((root / f).is_dir() for f in SAMPLE_FOLDERS):
        root = None
    if root is None:
        print("No sample recordings found (set BIODYN_DATA_ROOT or provide ../shared/data): "
              "running on SYNTHETIC data generated by biodyn.datasets.synthetic.")  # fmt: skip
    ctx = DemoContext(root=root, out=Path(args.out))
    ctx.out.mkdir(parents=True, exist_ok=True)
    for name, fn in STEPS:
        if args.steps and name not in args.steps:
            continue
        t0 = time.perf_counter()
        ctx.results[name] = fn(ctx)
        print(f"[demo] step {name} done in {time.perf_counter() - t0:.1f} s")
    ctx.results["synthetic"] = ctx.synthetic
    write_json(args.json or ctx.out / "demo.json", ctx.results)
    return 0

"""``biodyn demo``: the main job on the sample recordings (synthetic data, said plainly, without them).

The demo is a list of steps; each takes a :class:`DemoContext` and returns a JSON-able result.
Later parts of biodyn append their own steps to :data:`STEPS`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# PRISM in the demo: a CPU-sized model on every FSDD training item, about a minute and a half on 2 cores
DEMO_PRISM_EPOCHS = 2
DEMO_PRISM_LIMIT = None  # every FSDD training item (a prefix of the sorted list skews the classes)

# data-root folder -> corpus name
SAMPLE_FOLDERS = {"ptbxl": "ptbxl", "eegmmidb": "eegmmidb", "chbmit": "chbmit", "sleep_edf": "sleepedf"}


@dataclass
class DemoContext:
    root: Path | None  # the data root, None when only synthetic data is available
    out: Path
    results: dict[str, Any] = field(default_factory=dict)
    # step name -> [(PNG path, caption)]: what the HTML report shows in that step's section
    figures: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return self.root is None

    def add_figure(self, step: str, path: Path, caption: str) -> None:
        self.figures.setdefault(step, []).append((Path(path), caption))


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

    from biodyn.atomic import atomic_write_json
    from biodyn.causal.fit import FitConfig, fit_ldsem
    from biodyn.causal.ldsem import simulate
    from biodyn.causal.metrics import edge_scores, tau_mae_samples
    from biodyn.causal.plot import plot_lag_graph
    from biodyn.causal.recording import fit_recording
    from biodyn.montage import unique_names

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
    channels = unique_names(summary[0].channels)  # the summary lists T8-P8 twice
    for f in (
        excerpts / "chb01" / "ictal" / "chb01_03_ictal.npy",
        excerpts / "chb03" / "ictal" / "chb03_01_ictal.npy",
    ):
        if not f.exists():
            continue
        g = fit_recording(np.load(f), 256.0, channels, tau_max_s=0.05, stability=4, source=str(f))
        ranking = g.focal_ranking()
        dest = ctx.out / "lags" / f.stem
        atomic_write_json(dest / "lag_graph.json", g.to_dict())
        plot_lag_graph(g, dest / "lag_graph.png", title=f"{f.stem}: focal lead {ranking[0]}")
        ctx.add_figure("lags", dest / "lag_graph.png", f"{f.stem}: fitted lag graph (edge opacity: confidence over "
                       f"sub-windows), focal-lead ranking {ranking[:3]}")  # fmt: skip
        left_out = ", ".join(d["channel"] for d in g.dropped) or "none"
        print(f"{f.stem}: {len(g.edges())} edges, focal-lead ranking {', '.join(ranking[:3])} (first in "
              f"{100 * g.stability['focal_first_share']:.0f} % of sub-windows), left out {left_out}, "
              f"{g.fit_s:.1f} s -> {dest}")  # fmt: skip
        out["chbmit"].append({"excerpt": f.stem, "edges": len(g.edges()), "focal_ranking": ranking[:5],
                              "focal_first_share": g.stability["focal_first_share"], "converged": g.converged,
                              "dropped_channels": g.dropped})  # fmt: skip
    return out


def step_prism(ctx: DemoContext) -> dict[str, Any]:
    """PRISM: a small model trained for two epochs on the spoken digits, test accuracy, confusion matrix."""
    import numpy as np

    from biodyn.systems.prism import PrismRunConfig, run_prism

    fsdd = ctx.root / "fsdd" if ctx.root is not None else None
    synthetic = fsdd is None or not fsdd.is_dir()
    if synthetic:
        print("PRISM: no fsdd/ under the data root: training on SYNTHETIC mel sequences")
    cfg = PrismRunConfig(modality="audio", data="synthetic" if synthetic else "real",
                         data_root=None if synthetic else str(fsdd), epochs=DEMO_PRISM_EPOCHS, batch_size=32,
                         lr=2e-3, hidden_dim=64, num_layers=4, num_heads=4, output_dir=str(ctx.out / "prism"),
                         limit=DEMO_PRISM_LIMIT, seed=42, progress=True, force=True)  # fmt: skip
    res = run_prism(cfg)  # force: a rerun of the demo replaces the demo's own PRISM run
    test = res["test"]
    out: dict[str, Any] = {"data": "synthetic" if synthetic else "fsdd", "test": test, "classes": res["classes"],
                           "config": {k: getattr(cfg, k) for k in ("epochs", "hidden_dim", "num_layers", "limit")}}  # fmt: skip
    if res.get("confusion_matrix") is not None:
        cm = np.asarray(res["confusion_matrix"])
        out["confusion_matrix"] = cm.tolist()
        png = ctx.out / "prism" / "confusion_matrix.png"
        _plot_confusion(cm, png, f"PRISM on {'synthetic sequences' if synthetic else 'FSDD spoken digits'}: "
                        f"test accuracy {test['accuracy']:.3f}")  # fmt: skip
        ctx.add_figure(
            "prism", png, "confusion matrix of the test split (rows: true class, columns: predicted)"
        )
    curves = ctx.out / "prism" / "curves.png"
    if curves.exists():
        ctx.add_figure("prism", curves, "training and validation curves")
    print(f"PRISM test accuracy {test['accuracy']:.3f} ({out['data']})")
    return out


def _plot_confusion(cm, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biodyn.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(
            j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 2 else "black"
        )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(fig)


# the demo's detector: seizure_tiny's widths with the Gated DeltaNet stack, 100 steps (on the unseen patient its
# window AUROC is 0.74 +- 0.10 over five seeds: results/examples/seizure_tiny_crosspatient)
DEMO_SEIZURE = ["model=seizure_gdn", "train.max_steps=100", "train.eval_every=25", "train.ckpt_every=25",
                "train.patience=0"]  # fmt: skip

# edf_crops/chb01_03_Seizure.edf covers 2995-3036 s of chb01_03 (the data root's MANIFEST); the summary
# file's seizure times are relative to the whole record
CROP = ("edf_crops/chb01_03_Seizure.edf", "chb01_03.edf", 2995.0)


def step_seizure(ctx: DemoContext) -> dict[str, Any]:
    """Brain-Go-Brr: a tiny detector trained on the CHB-MIT material, ``biodyn detect`` on the real seizure
    crop, its events scored NEDC-style (OVERLAP, TAES) against the summary file's seizure times."""
    from biodyn.datasets.chbmit import parse_summary
    from biodyn.io.events import AnnotationFile
    from biodyn.metrics.nedc import score_annotations
    from biodyn.metrics.postprocess import SEIZURE_THRESHOLD
    from biodyn.systems.seizure import detect_files
    from biodyn.train.experiment import compose_config, run_experiment, to_dataclass
    from biodyn.types import Event

    chb = ctx.root / "chbmit" if ctx.root is not None else None
    if chb is None or not (chb / CROP[0]).exists():
        print("seizure detection: no CHB-MIT material under the data root: step skipped")
        return {"skipped": "no CHB-MIT material under the data root"}
    run_dir = ctx.out / "seizure" / "run"
    exp = to_dataclass(compose_config(["experiment=seizure_tiny", *DEMO_SEIZURE, f"train.out_dir={run_dir}",
                                       f"data.root={chb}", "train.progress=true"]))  # fmt: skip
    trained = run_experiment(exp)
    # the operating point: the switch-on threshold of 10 FA/24h on the dev patient (chb03), frozen for detection
    # as in the clinical benchmark; the reference default (0.86) suits detectors trained for hours, not minutes
    dev_thr = float(trained["metrics"].get("val_threshold_at_10fa", float("nan")))
    threshold = dev_thr if math.isfinite(dev_thr) else SEIZURE_THRESHOLD
    print(f"seizure detection: switch-on threshold {threshold:.3f} "
          f"({'tuned on the dev patient at 10 FA/24h' if math.isfinite(dev_thr) else 'the default'})")  # fmt: skip
    edf = chb / CROP[0]
    rep = detect_files([edf], run_dir, ctx.out / "seizure" / "detect", json_path=ctx.out / "seizure" / "detect.json",
                       threshold=threshold)  # fmt: skip
    if rep["failed"]:
        raise RuntimeError(f"biodyn detect failed on {edf}: {rep['failed']}")
    det = rep["recordings"][0]
    summary = {f.file_name: f for f in parse_summary(chb / "chb01-summary.txt")}[CROP[1]]
    duration = det["duration_s"]
    ref_events = [Event(max(0.0, a - CROP[2]), min(duration, b - CROP[2]) - max(0.0, a - CROP[2]), "seiz")
                  for a, b in summary.seizures if b > CROP[2] and a < CROP[2] + duration]  # fmt: skip
    hyp_events = [Event(e["onset_s"], e["duration_s"], "seiz") for e in det["events"]]
    ref = AnnotationFile(path=Path(f"{CROP[1]} summary"), events=ref_events, duration_s=duration)
    hyp = AnnotationFile(path=edf, events=hyp_events, duration_s=duration)
    scores = score_annotations([ref], [hyp], methods=["overlap", "taes"])  # NEDC classes: seiz vs bckg
    scored = {m: {k: scores[m].per_label["seiz"][k] for k in ("sensitivity", "fa_per_24h")} for m in scores}
    for png in (ctx.out / "seizure" / "detect").glob("*.png"):
        ctx.add_figure("seizure", png, f"{edf.name}: EEG with the detections shaded, the probability below "
                       f"(reference seizure {ref_events[0].onset_s:.0f}-{ref_events[0].onset_s + ref_events[0].duration_s:.0f} s)")  # fmt: skip
    print(f"seizure detection on {edf.name}: {len(hyp_events)} event(s); reference {len(ref_events)}; "
          f"OVERLAP sensitivity {scored['overlap']['sensitivity']:.2f}, TAES {scored['taes']['sensitivity']:.2f}; "
          f"real-time factor {det['real_time_factor']:.1f}x")  # fmt: skip
    return {"train": {k: v for k, v in trained.items() if k in ("test", "best_step", "steps", "metrics")},
            "threshold": threshold, "detect": det, "reference": [e.__dict__ for e in ref_events], "scores": scored}  # fmt: skip


STEPS = [
    ("corpora", step_corpora),
    ("cache", step_cache),
    ("prism", step_prism),
    ("seizure", step_seizure),
    ("lags", step_lags),
]

# step name -> section title in the HTML report
SECTIONS = {
    "corpora": "Corpora",
    "cache": "Window cache",
    "prism": "PRISM",
    "seizure": "Seizure detection (Brain-Go-Brr)",
    "lags": "Propagation lags (CLD-Trans)",
}


def _flatten(obj: Any, prefix: str = "", out: list | None = None, limit: int = 60) -> list[tuple[str, str]]:
    """Leaf values of a nested result as ``(dotted.key, text)`` rows for the report's tables."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, limit)
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}[{i}]", out, limit)
    else:
        text = f"{obj:.4g}" if isinstance(obj, float) else str(obj)
        out.append((prefix, text if len(text) <= 200 else text[:197] + "..."))
    return out


def write_report(ctx: DemoContext, path: Path) -> Path:
    """One self-contained HTML file (``mne.Report``: figures embedded): per step a table of its numbers
    and its figures, under one section per system."""
    import html

    import mne

    title = "biodyn demo" + (" (SYNTHETIC data: no sample recordings found)" if ctx.synthetic else "")
    report = mne.Report(title=title, verbose="error")
    for name, result in ctx.results.items():
        if name == "synthetic":
            continue
        section = SECTIONS.get(name, name)
        rows = "".join(
            f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>"
            for k, v in _flatten(result)
        )
        report.add_html(
            f"<table class='table table-sm'>{rows}</table>", title=f"{section}: results", section=section
        )
        for fig, caption in ctx.figures.get(name, []):
            if fig.exists():
                report.add_image(fig, title=f"{section}: {fig.stem}", caption=caption, section=section)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.html")
    report.save(tmp, open_browser=False, overwrite=True, verbose="error")
    tmp.replace(path)  # atomic: a killed demo never leaves half a report
    return path


def add_arguments(p) -> None:
    p.add_argument("--out", default="results/demo", help="output folder (default results/demo)")
    p.add_argument("--root", help="data root (default: $BIODYN_DATA_ROOT or ../shared/data)")
    p.add_argument("--json", metavar="OUT", help="write every step's result as JSON (default OUT/demo.json)")
    p.add_argument("--steps", nargs="*", help="run only these steps")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")


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
    if args.no_report:
        return 0
    report = write_report(ctx, ctx.out / "report.html")
    note = " (SYNTHETIC data: no sample recordings found)" if ctx.synthetic else ""
    print(f"[demo] report{note}: {report.resolve()}")
    return 0

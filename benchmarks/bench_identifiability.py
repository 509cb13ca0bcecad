"""Synthetic identifiability of continuous lags (CLD-Trans) and the fused vs dense lag operator.

Part 1: LD-SEM data with known graphs (C channels, T samples, non-Gaussian (Laplace) or Gaussian noise,
acyclic or cyclic graphs, one row per seed); ours (``fit_ldsem``, the per-recording fit), each baseline
(DYNOTEARS, VARLiNGAM, PCMCI, Rhino) and CLD-Trans' amortised lag encoder (``amortised``: LD-SEM with the
Laplace likelihood; ``amortised_gaussian``: the Gaussian likelihood, i.e. without the non-Gaussianity
assumption) are scored by tau MAE (samples, over true edges also found) and directed-edge F1, reported as
mean +- 95 % CI (Student t) over seeds. The per-recording fit has one objective (Gaussian least squares by
variable projection; ``FitConfig.likelihood`` does not change it), so it has no Gaussian variant of its own.

Part 4 (``--preset-path``, alone): the path users run. ``fit_recording`` with each preset (``eeg``, ``ecg``),
``biodyn lags`` end to end (one cell) and the direct ``fit_lags`` beside them, on generators that were not
written for the fit: ``fft`` (this package's LD-SEM, solved per frequency), ``decimated_aa`` / ``decimated_raw``
(:func:`biodyn.causal.ldsem.simulate_decimated`: integer delays at 10x the rate, decimated with / without an
anti-alias filter), Laplace and Gaussian innovations, read at 100 and 256 Hz, C = 8 and 20, T = 10,000, delays
16-48 ms (inside the presets' 50 ms range); and, with no goal, the EEG-like ``resonant`` case (each channel an
AR(2) resonance in 8-30 Hz that its inputs pass through) beside PCMCI and VARLiNGAM. Per fit: edge F1, the mean
delay error (bias) and the MAE over true edges found, in samples of the read rate. Without anti-alias the
innovations are low-passed at the read Nyquist (white ones at 10x the rate reach the recording only as
aliases). Goals (the ``eeg`` preset, ``biodyn lags`` and, for comparison, the direct fit; the worst goal cell's
mean over seeds, over all cells and per read rate): F1 >= 0.95, |bias| <= 0.05 samples, MAE <= 0.1 samples.

Part 3: speed of ``fit_recording`` (the ``biodyn lags`` fit, no sub-window refits) on 23 channels x 10 s at
256 Hz on 2 threads (goal <= 10 s); ``--skip-speed`` leaves it out.

Part 2: ``lagged_mix`` (fused, per frequency band) vs ``lagged_mix_dense`` at B=8, C=64, T=1600, forward +
backward: each case in a fresh subprocess; the peak RSS (VmHWM, reset through ``/proc/self/clear_refs`` just
before the calls) minus the RSS then, which sees every torch CPU allocation (Linux only); median times.

    python benchmarks/bench_identifiability.py --quick
    python benchmarks/bench_identifiability.py --sizes 10 --noises laplace --graphs cyclic --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, parser, report
from biodyn.train.fewshot import SEEDS

TAU_MAX_SAMPLES = 8.0

_LAG_OP = r"""
import json, statistics, sys, time
import torch

def status_kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

torch.set_num_threads(int(sys.argv[5]))
from biodyn.ops.fractional_delay import lagged_mix, lagged_mix_dense
kind, b, c, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
g = torch.Generator().manual_seed(0)
x = torch.randn(b, c, t, generator=g, requires_grad=True)
w = (torch.randn(c, c, generator=g) * 0.1).requires_grad_()
tau = (torch.rand(c, c, generator=g) * 8).requires_grad_()
fn = lagged_mix if kind == "fused" else lagged_mix_dense
x0 = torch.randn(1, 2, 64, requires_grad=True)  # warm-up on a tiny input: library and FFT-plan set-up
fn(x0, torch.ones(2, 2, requires_grad=True), torch.ones(2, 2, requires_grad=True)).sum().backward()
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
    fh.write("5")
before = status_kib("VmRSS")
times = []
for _ in range(int(sys.argv[6])):
    t0 = time.perf_counter()
    fn(x, w, tau).square().sum().backward()
    times.append(time.perf_counter() - t0)
    x.grad = w.grad = tau.grad = None
peak = status_kib("VmHWM")
print(json.dumps({"time_s": statistics.median(times), "peak_rise_mib": (peak - before) / 1024}))
"""


def lag_op_case(kind: str, b: int, c: int, t: int, threads: int = 2, repeats: int = 3) -> dict:
    args = [str(v) for v in (kind, b, c, t, threads, repeats)]
    out = subprocess.run([sys.executable, "-c", _LAG_OP, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fit(method: str, data: np.ndarray, fs: float):
    if method == "ours":
        from biodyn.causal.fit import FitConfig, fit_ldsem

        return fit_ldsem(data, fs, cfg=FitConfig(tau_max_samples=TAU_MAX_SAMPLES))
    from biodyn.causal.baselines import fit_baseline

    return fit_baseline(method, data, fs, TAU_MAX_SAMPLES / fs)


def _one_run(c: int, noise: str, graph: str, seed: int, n_times: int, method: str) -> dict:
    """Simulate one dataset and fit one method (runs in a child process, see ``--child``)."""
    from biodyn.causal.ldsem import simulate
    from biodyn.causal.metrics import edge_scores, tau_mae_samples

    sim = simulate(n_channels=c, n_times=n_times, cyclic=graph == "cyclic", noise=noise, seed=seed)
    t0 = time.perf_counter()
    est = _fit(method, sim.data, sim.graph.fs)
    sec = time.perf_counter() - t0
    return {
        "tau_mae_samples": tau_mae_samples(sim.graph, est),
        "edge_f1": edge_scores(sim.graph, est)["f1"],
        "fit_s": sec,
    }


def _run_child(key: dict, n_times: int, budget_s: float, threads: int) -> dict:
    """One fit in a fresh process with a wall-clock budget; a budget overrun is recorded, not scored."""
    cmd = [sys.executable, __file__, "--child", json.dumps({**key, "n_times": n_times})]
    env = {
        **os.environ,
        **{k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
    }
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=budget_s, env=env)
    except subprocess.TimeoutExpired:
        return {"timeout": True, "fit_s": budget_s, "note": f"timeout after {budget_s:.0f} s"}
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


def identifiability(
    sizes,
    noises,
    graphs,
    seeds,
    n_times,
    methods,
    budget_s=600.0,
    runs_path=None,
    threads=1,
    report_only=False,
) -> tuple[list[dict], list[dict]]:
    """Every (C, noise, graph, seed, method) fit, each in a child process under ``budget_s``; finished fits are
    appended to ``runs_path`` (JSON lines) and skipped when the benchmark is started again. ``report_only``
    fits nothing and summarises the log (fits not in it count as missing)."""
    from biodyn.metrics.stats import mean_ci

    done = {}
    if runs_path and Path(runs_path).exists():
        for line in Path(runs_path).read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                # a fit that overran a smaller budget is tried again under a larger one (never in a report)
                retry = rec.get("timeout") and rec["fit_s"] < budget_s and not report_only
                if rec.get("n_times") == n_times and not retry:
                    done[(rec["C"], rec["noise"], rec["graph"], rec["seed"], rec["method"])] = rec
    cells = [(c, noise, graph) for c in sizes for noise in noises for graph in graphs]
    cells.sort(key=lambda k: k != (10, "laplace", "cyclic"))  # the goal cell first
    per_run, rows = [], []
    for c, noise, graph in cells:
        runs = {m: [] for m in methods}
        for seed in seeds:
            for m in methods:
                key = {"C": c, "noise": noise, "graph": graph, "seed": seed, "method": m}
                rec = done.get((c, noise, graph, seed, m))
                if rec is None and report_only:
                    rec = {**key, "n_times": n_times, "missing": True}
                elif rec is None:
                    rec = {**key, "n_times": n_times, **_run_child(key, n_times, budget_s, threads)}
                    if runs_path:
                        Path(runs_path).parent.mkdir(parents=True, exist_ok=True)
                        with open(runs_path, "a") as fh:  # one line per finished fit: a killed run resumes
                            fh.write(json.dumps(rec) + "\n")
                            fh.flush()
                            os.fsync(fh.fileno())
                    status = (
                        rec.get("note")
                        or rec.get("error")
                        or (f"F1 {rec['edge_f1']:.3f} MAE {rec['tau_mae_samples']:.3f}")
                    )
                    print(
                        f"  C={c} {noise} {graph} seed={seed} {m}: {status} ({rec.get('fit_s', 0):.1f} s)",
                        flush=True,
                    )
                per_run.append(rec)
                runs[m].append(rec)
        for m in methods:
            ok = [r for r in runs[m] if "edge_f1" in r]
            maes = [r["tau_mae_samples"] for r in ok if np.isfinite(r["tau_mae_samples"])]
            f1s = [0.0 if not np.isfinite(r["edge_f1"]) else r["edge_f1"] for r in ok]
            mae_m, mae_h = mean_ci(maes) if maes else (float("nan"), float("nan"))
            f1_m, f1_h = mean_ci(f1s) if f1s else (float("nan"), float("nan"))
            rows.append(
                {
                    "part": "identifiability",
                    "C": c,
                    "T": n_times,
                    "noise": noise,
                    "graph": graph,
                    "method": m,
                    "n_seeds": len(ok),
                    "n_timeout": sum(bool(r.get("timeout")) for r in runs[m]),
                    "n_error": sum("error" in r for r in runs[m]),
                    "n_missing": sum(bool(r.get("missing")) for r in runs[m]),
                    "tau_mae_samples": mae_m,
                    "tau_mae_ci95": mae_h,
                    "edge_f1": f1_m,
                    "edge_f1_ci95": f1_h,
                    "fit_s_median": float(np.median([r["fit_s"] for r in ok])) if ok else float("nan"),
                }
            )
    return rows, per_run


def speed_case(threads: int = 2) -> dict:
    """``fit_recording`` on 23 channels x 10 s at 256 Hz: the bundled CHB-MIT ictal excerpt when the data
    root has it, else a simulated LD-SEM of that size (said in the row); the fit alone, no sub-windows."""
    import torch

    from biodyn.causal.recording import fit_recording
    from biodyn.data_root import data_root
    from biodyn.montage import unique_names

    torch.set_num_threads(threads)
    root = data_root()
    f = None if root is None else root / "chbmit" / "npy_excerpts" / "chb01" / "ictal" / "chb01_03_ictal.npy"
    if f is not None and f.exists():
        from biodyn.datasets.chbmit import parse_summary

        x, source = np.load(f), "CHB-MIT chb01_03_ictal.npy"
        names = unique_names(parse_summary(root / "chbmit" / "chb01-summary.txt")[0].channels)
    else:
        from biodyn.causal.ldsem import simulate

        x, source = simulate(n_channels=23, n_times=2561, fs=256.0, seed=0).data, "simulated LD-SEM"
        names = [f"X{i}" for i in range(23)]
    t0 = time.perf_counter()
    fit = fit_recording(x, 256.0, names, tau_max_s=0.05, stability=0)
    return {
        "part": "speed",
        "method": "ours",
        "C": 23,
        "T": x.shape[1],
        "fs": 256.0,
        "source": source,
        "fit_s": time.perf_counter() - t0,
        "n_iter": fit.n_iter,
        "converged": fit.converged,
        "threads": threads,
    }


def amortised_rows(
    sizes, noises, graphs, seeds, n_times, steps: int = 300, likelihood: str = "laplace", records=None
) -> list[dict]:
    """CLD-Trans' amortised lag encoder (:mod:`biodyn.causal.amortised`): trained once per cell on simulated
    recordings with other seeds (LD-SEM objective only, no ground truth; ``likelihood`` of its residuals:
    laplace = method ``amortised``, gaussian = ``amortised_gaussian``), then one forward pass per window of
    each evaluation recording; scored like the per-recording fits above. ``records``: a list that gets one
    record per (cell, seed), as the per-recording fits' log has."""
    from biodyn.causal.amortised import AmortisedConfig, infer_graph, train_amortised
    from biodyn.causal.ldsem import simulate
    from biodyn.causal.metrics import edge_scores, tau_mae_samples
    from biodyn.metrics.stats import mean_ci

    rows = []
    cfg = AmortisedConfig(tau_max_samples=TAU_MAX_SAMPLES, steps=steps, likelihood=likelihood)
    method = "amortised" if likelihood == "laplace" else f"amortised_{likelihood}"
    for c in sizes:
        for noise in noises:
            for graph in graphs:
                t0 = time.perf_counter()
                enc = train_amortised(cfg, n_channels=c, noise=noise, cyclic=graph == "cyclic")
                train_s = time.perf_counter() - t0
                maes, f1s, infer_s = [], [], []
                for seed in seeds:
                    sim = simulate(
                        n_channels=c, n_times=n_times, cyclic=graph == "cyclic", noise=noise, seed=seed
                    )
                    t0 = time.perf_counter()
                    est = infer_graph(
                        enc, sim.data, sim.graph.fs, window=cfg.window, edge_threshold=cfg.edge_threshold
                    )
                    infer_s.append(time.perf_counter() - t0)
                    mae, f1 = tau_mae_samples(sim.graph, est), edge_scores(sim.graph, est)["f1"]
                    maes += [mae] if np.isfinite(mae) else []
                    f1s.append(f1 if np.isfinite(f1) else 0.0)
                    if records is not None:
                        records.append(
                            {
                                "C": c,
                                "noise": noise,
                                "graph": graph,
                                "seed": seed,
                                "method": method,
                                "n_times": n_times,
                                "tau_mae_samples": mae,
                                "edge_f1": f1,
                                "fit_s": infer_s[-1],
                                "likelihood": likelihood,
                                "train_steps": steps,
                            }
                        )
                mae_m, mae_h = mean_ci(maes) if maes else (float("nan"), float("nan"))
                f1_m, f1_h = mean_ci(f1s)
                rows.append(
                    {
                        "part": "identifiability",
                        "C": c,
                        "T": n_times,
                        "noise": noise,
                        "graph": graph,
                        "method": method,
                        "likelihood": likelihood,
                        "n_seeds": len(seeds),
                        "tau_mae_samples": mae_m,
                        "tau_mae_ci95": mae_h,
                        "edge_f1": f1_m,
                        "edge_f1_ci95": f1_h,
                        "fit_s_median": float(np.median(infer_s)),
                        "train_s": train_s,
                        "train_steps": steps,
                    }
                )
                print(
                    f"  C={c} {noise} {graph} {method}: F1 {f1_m:.3f} MAE {mae_m:.3f} (train {train_s:.0f} s)",
                    flush=True,
                )
    return rows


def write_results(records: list[dict], results_dir) -> list[Path]:
    """One JSON per (method, cell, seed) as ``biodyn report`` reads them:
    ``<results_dir>/identifiability/<method>/C<c>-<noise>-<graph>/synthetic/seed<k>.json`` with the metrics
    ``edge_f1`` (undefined F1 counted 0, as in the table) and ``tau_mae_samples``; a fit that failed or timed
    out gets NaN (the report names the seed), one not run no file (the report lists it as missing)."""
    from biodyn.atomic import atomic_write_json

    paths = []
    for r in records:
        if r.get("missing"):
            continue
        ok = "edge_f1" in r
        f1 = (r["edge_f1"] if np.isfinite(r["edge_f1"]) else 0.0) if ok else float("nan")
        path = (
            Path(results_dir)
            / "identifiability"
            / r["method"]
            / f"C{r['C']}-{r['noise']}-{r['graph']}"
            / "synthetic"
            / f"seed{r['seed']}.json"
        )
        atomic_write_json(
            path,
            {
                "experiment": "identifiability",
                "model": r["method"],
                "task": f"C{r['C']}-{r['noise']}-{r['graph']}",
                "budget": "synthetic",
                "seed": r["seed"],
                "n_times": r.get("n_times"),
                "metrics": {"edge_f1": f1, "tau_mae_samples": r["tau_mae_samples"] if ok else float("nan")},
                "likelihood": r.get("likelihood"),
                "fit_s": r.get("fit_s"),
                "note": r.get("error") or ("timed out" if r.get("timeout") else None),
            },
        )
        paths.append(path)
    return paths


PRESET_GENERATORS = ("fft", "decimated_aa", "decimated_raw", "resonant")
PRESET_TAU_S = (0.016, 0.048)  # delays inside the presets' 50 ms (eeg) range
# generators without the goals of Part 4: the EEG-like resonant case (no goal yet) and the decimation without
# anti-alias, whose lagged paths reach the recording partly as aliases (the direct fit misses the goals as the
# preset path does: not identifiable at the read rate by this model); their own rows in the goals, beside
NO_GOAL_GENERATORS = ("resonant", "decimated_raw")


def _preset_sim(generator: str, c: int, noise: str, fs: float, seed: int, n_times: int):
    """One recording ``(C, T)`` and its true graph from a generator of Part 4 (delays in seconds)."""
    from biodyn.causal.ldsem import simulate, simulate_decimated

    if generator == "fft":
        lo, hi = (t * fs for t in PRESET_TAU_S)
        return simulate(
            n_channels=c,
            n_times=n_times,
            fs=fs,
            noise=noise,
            cyclic=True,
            seed=seed,
            tau_range_samples=(lo, hi),
        )
    # without anti-alias the innovations are low-passed at the read Nyquist (white ones at 10x the rate would
    # leave only aliases of the lagged paths in the recording, for any fit)
    kw = {
        "anti_alias": generator != "decimated_raw",
        "innovation_cutoff": 1.0 if generator == "decimated_raw" else None,
    }
    if generator == "resonant":
        kw["resonance_hz"] = (8.0, 30.0)
    return simulate_decimated(
        n_channels=c, n_times=n_times, fs=fs, noise=noise, seed=seed, tau_range_s=PRESET_TAU_S, **kw
    )


def _delay_scores(true, est) -> dict:
    """Edge F1 and the delay error over true edges also found, in samples of the true graph's (read) rate;
    the false positives (``n_fp``) and, of those, the ones that reverse a true edge (``n_fp_reverse``), and
    the true edges missed (``n_fn``)."""
    from biodyn.causal.metrics import edge_scores

    t_on, e_on = true.weight != 0, est.weight != 0
    np.fill_diagonal(t_on, False)
    np.fill_diagonal(e_on, False)
    both = t_on & e_on
    err = (est.tau[both] - true.tau[both]) * true.fs
    fp = e_on & ~t_on
    sc = edge_scores(true, est)
    return {
        "edge_f1": 0.0 if not np.isfinite(sc["f1"]) else sc["f1"],
        "n_true": sc["n_true"],
        "n_est": sc["n_est"],
        "n_fp": int(fp.sum()),
        "n_fp_reverse": int((fp & t_on.T).sum()),
        "n_fn": int((t_on & ~e_on).sum()),
        "bias_samples": float(err.mean()) if err.size else float("nan"),
        "mae_samples": float(np.abs(err).mean()) if err.size else float("nan"),
    }


def _cli_fit(data: np.ndarray, fs: float, channels: list[str]):
    """``biodyn lags x.npy --fs FS --channels ... --stability 0`` in a subprocess; the graph from its JSON."""
    import tempfile

    from biodyn.types import LagGraph

    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", data)
        cmd = [
            sys.executable,
            "-m",
            "biodyn",
            "lags",
            str(Path(tmp) / "x.npy"),
            "--fs",
            f"{fs:g}",
            "--channels",
            ",".join(channels),
            "--stability",
            "0",
            "--no-progress",
            "--out",
            str(Path(tmp) / "out"),
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        return LagGraph.from_dict(json.loads((Path(tmp) / "out" / "lag_graph.json").read_text()))


def _preset_fit(method: str, data: np.ndarray, fs: float, channels: list[str]):
    from biodyn.causal.fit import FitConfig, fit_lags
    from biodyn.causal.recording import PRESETS, fit_recording

    if method == "direct":  # fit_lags on the array as it is: the eeg preset's range, no band, no resampling
        tau_max = PRESETS["eeg"].tau_max_s * fs
        return fit_lags(data, fs, channels, FitConfig(tau_max_samples=tau_max, tau_min_samples=1.0)).graph
    if method == "cli":
        return _cli_fit(data, fs, channels)
    if method.startswith("preset_"):
        return fit_recording(data, fs, channels, preset=method.removeprefix("preset_"), stability=0).graph
    from biodyn.causal.baselines import fit_baseline

    return fit_baseline(method, data, fs, PRESETS["eeg"].tau_max_s)


def preset_cells(quick: bool) -> list[dict]:
    """The cells of Part 4: ``{generator, noise, fs, C, methods, seeds}``."""
    if quick:
        return [
            {
                "generator": "decimated_aa",
                "noise": "laplace",
                "fs": 100.0,
                "C": 8,
                "seeds": [0],
                "methods": ["direct", "preset_eeg"],
            }
        ]
    cells = []
    for gen in ("fft", "decimated_aa", "decimated_raw"):
        for noise in ("laplace", "gaussian"):
            for fs in (100.0, 256.0):
                cells.append(
                    {
                        "generator": gen,
                        "noise": noise,
                        "fs": fs,
                        "C": 8,
                        "seeds": [0, 1, 2, 3, 4],
                        "methods": ["direct", "preset_eeg"],
                    }
                )
    # read above the eeg preset's 256 Hz: fit_recording resamples to 256 Hz, the direct fit keeps 512 Hz
    for gen, noise in (("decimated_aa", "laplace"), ("decimated_aa", "gaussian"), ("fft", "laplace")):
        cells.append(
            {
                "generator": gen,
                "noise": noise,
                "fs": 512.0,
                "C": 8,
                "seeds": [0, 1, 2, 3, 4],
                "methods": ["direct", "preset_eeg"],
            }
        )
    for gen, fs in (("decimated_aa", 100.0), ("decimated_aa", 256.0), ("fft", 100.0), ("fft", 256.0)):
        cells.append(
            {
                "generator": gen,
                "noise": "laplace",
                "fs": fs,
                "C": 20,
                "seeds": [0, 1, 2],
                "methods": ["direct", "preset_eeg"],
            }
        )
    cells.append(
        {
            "generator": "decimated_aa",
            "noise": "laplace",
            "fs": 100.0,
            "C": 8,
            "seeds": [0, 1, 2, 3, 4],
            "methods": ["cli", "preset_ecg"],
        }
    )
    cells.append(
        {
            "generator": "resonant",
            "noise": "laplace",
            "fs": 100.0,
            "C": 8,
            "seeds": [0, 1],
            "methods": ["direct", "preset_eeg", "varlingam", "pcmci"],
        }
    )
    return cells


def preset_path(
    cells: list[dict], n_times: int, runs_path: str | None = None, runs_from: tuple = ()
) -> tuple[list[dict], list[dict]]:
    """Every fit of Part 4 (logged to ``runs_path``, JSON lines, and skipped on restart; fits already in one of
    the logs ``runs_from`` are read, not refitted: cells run as separate processes, each with its own log, are
    merged so); rows are the means over seeds per (cell, method)."""
    done = {}
    for path in [*runs_from, runs_path]:
        if not path or not Path(path).exists():
            continue
        for line in Path(path).read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                if "n_fp" in rec and "n_fp_reverse" not in rec:  # logged before the reverse-edge count
                    if rec["n_fp"]:
                        continue  # fitted again, for its count
                    rec["n_fp_reverse"] = 0
                done[
                    (
                        rec["generator"],
                        rec["noise"],
                        rec["fs"],
                        rec["C"],
                        rec["seed"],
                        rec["method"],
                        rec["T"],
                    )
                ] = rec
    per_run, rows = [], []
    for cell in cells:
        key0 = {k: cell[k] for k in ("generator", "noise", "fs", "C")}
        runs = {m: [] for m in cell["methods"]}
        for seed in cell["seeds"]:
            sim = None
            for m in cell["methods"]:
                k = (*key0.values(), seed, m, n_times)
                rec = done.get(k)
                if rec is None:
                    if sim is None:
                        sim = _preset_sim(
                            cell["generator"], cell["C"], cell["noise"], cell["fs"], seed, n_times
                        )
                    t0 = time.perf_counter()
                    try:
                        est = _preset_fit(m, sim.data, cell["fs"], sim.graph.channels)
                        rec = {
                            **key0,
                            "seed": seed,
                            "method": m,
                            "T": n_times,
                            **_delay_scores(sim.graph, est),
                            "fit_s": time.perf_counter() - t0,
                        }
                    except Exception as e:  # a failed fit is reported, not scored
                        rec = {
                            **key0,
                            "seed": seed,
                            "method": m,
                            "T": n_times,
                            "error": f"{type(e).__name__}: {e}",
                        }
                    if runs_path:
                        Path(runs_path).parent.mkdir(parents=True, exist_ok=True)
                        with open(runs_path, "a") as fh:
                            fh.write(json.dumps(rec) + "\n")
                    print(
                        f"  {key0} seed={seed} {m}: "
                        + (
                            rec.get("error")
                            or (
                                f"F1 {rec['edge_f1']:.3f} bias {rec['bias_samples']:+.3f} MAE {rec['mae_samples']:.3f} "
                                f"({rec['fit_s']:.1f} s)"
                            )
                        ),
                        flush=True,
                    )
                per_run.append(rec)
                runs[m].append(rec)
        for m, recs in runs.items():
            ok = [r for r in recs if "edge_f1" in r]

            def mean(key, ok=ok):
                return float(np.nanmean([r[key] for r in ok])) if ok else float("nan")

            rows.append(
                {
                    "part": "preset",
                    **key0,
                    "T": n_times,
                    "method": m,
                    "n_seeds": len(ok),
                    "n_error": len(recs) - len(ok),
                    "edge_f1": mean("edge_f1"),
                    "edge_f1_min": min((r["edge_f1"] for r in ok), default=float("nan")),
                    "bias_samples": mean("bias_samples"),
                    "mae_samples": mean("mae_samples"),
                    # summed over the seeds (None: not counted, as for the baselines' fits of older logs)
                    **{
                        k: int(sum(r[k] for r in ok if k in r)) if any(k in r for r in ok) else None
                        for k in ("n_fp", "n_fp_reverse", "n_fn")
                    },
                    "fit_s_median": float(np.median([r["fit_s"] for r in ok])) if ok else float("nan"),
                    "goal_cell": cell["generator"] not in NO_GOAL_GENERATORS,
                }
            )
    return rows, per_run


def preset_goals(rows: list[dict]) -> dict:
    """The goals of Part 4 over every goal cell (not ``resonant``, not ``decimated_raw``) of the ``eeg`` preset
    and of ``biodyn lags``: the worst cell's mean F1, |bias| and MAE, over all cells and over those read at 100
    and at 256 Hz; and the direct fit's, for comparison (the goals are "through the preset path, equal to the
    direct fit"). The cells decimated without anti-alias are reported apart (``..._no_anti_alias``), the
    direct fit's beside the preset path's: aliasing, not the path, is what they measure."""
    goals = {}
    for method in ("preset_eeg", "cli", "direct"):
        rates = sorted({r["fs"] for r in rows if r["method"] == method and r["goal_cell"]})
        for fs in [None, *rates] if len(rates) > 1 else [None]:  # every goal cell, then per read rate
            mine = [
                r
                for r in rows
                if r["method"] == method and r["goal_cell"] and r["n_seeds"] and fs in (None, r["fs"])
            ]
            if not mine:
                continue
            _worst(goals, mine, f"{method}_{{}}_worst_cell" + ("" if fs is None else f"_read_{fs:g}hz"))
        raw = [
            r for r in rows if r["method"] == method and r["generator"] == "decimated_raw" and r["n_seeds"]
        ]
        if raw:
            _worst(goals, raw, f"{method}_{{}}_worst_cell_no_anti_alias")
    return goals


def _worst(goals: dict, rows: list[dict], name: str) -> None:
    """The worst cell's F1, |bias| and MAE of ``rows`` as goals named ``name.format(quantity)``."""
    goals[name.format("edge_f1")] = goal(min(r["edge_f1"] for r in rows), 0.95, "F1", True)
    goals[name.format("abs_bias_samples")] = goal(
        max(abs(r["bias_samples"]) for r in rows), 0.05, "samples", False
    )
    goals[name.format("mae_samples")] = goal(max(r["mae_samples"] for r in rows), 0.1, "samples", False)


def _count(row: dict, key: str) -> str:
    return "-" if row.get(key) is None else str(row[key])


def preset_markdown(rows: list[dict]) -> str:
    lines = [
        "| generator | noise | fs | C | method | seeds | edge F1 (min) | bias (samples) | MAE (samples) "
        "| FP (reversing a true edge) / FN | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        failed = f" ({r['n_error']} failed)" if r["n_error"] else ""
        lines.append(
            f"| {r['generator']} | {r['noise']} | {r['fs']:g} | {r['C']} | {r['method']} | {r['n_seeds']}{failed} | "
            f"{r['edge_f1']:.3f} ({r['edge_f1_min']:.3f}) | {r['bias_samples']:+.3f} | {r['mae_samples']:.3f} | "
            f"{_count(r, 'n_fp')} ({_count(r, 'n_fp_reverse')}) / {_count(r, 'n_fn')} | {r['fit_s_median']:.1f} |"
        )
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    lines = [
        "With and without the non-Gaussianity assumption: noise laplace vs gaussian (data); CLD-Trans' amortised "
        "encoder with the Laplace (amortised) vs the Gaussian (amortised_gaussian) LD-SEM likelihood. ours (the "
        "per-recording fit) has one objective, Gaussian least squares.",
        "",
        "| C | noise | graph | method | seeds | tau MAE (samples) | edge F1 | fit s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seeds = str(r["n_seeds"]) + (f" ({r['n_timeout']} timed out)" if r.get("n_timeout") else "")
        seeds += f" ({r['n_error']} failed)" if r.get("n_error") else ""
        seeds += f" ({r['n_missing']} not run)" if r.get("n_missing") else ""
        lines.append(
            f"| {r['C']} | {r['noise']} | {r['graph']} | {r['method']} | {seeds} | "
            f"{r['tau_mae_samples']:.3f} +- {r['tau_mae_ci95']:.3f} | {r['edge_f1']:.3f} +- "
            f"{r['edge_f1_ci95']:.3f} | {r['fit_s_median']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--noises", nargs="+", default=["laplace", "gaussian"])
    p.add_argument("--graphs", nargs="+", default=["acyclic", "cyclic"])
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--n-times", type=int, default=10_000)
    p.add_argument(
        "--methods",
        nargs="+",
        default=["ours", "amortised", "amortised_gaussian", "dynotears", "varlingam", "pcmci", "rhino"],
        help="per-recording fits (ours, the baselines) and/or amortised, amortised_gaussian (CLD-Trans' lag "
        "encoder, Laplace / Gaussian LD-SEM likelihood)",
    )
    p.add_argument("--skip-lag-op", action="store_true")
    p.add_argument("--skip-speed", action="store_true", help="skip the 23 ch x 10 s x 256 Hz fit-time row")
    p.add_argument(
        "--budget-s", type=float, default=600.0, help="wall-clock limit per fit; overruns are reported"
    )
    p.add_argument(
        "--runs", metavar="PATH", help="JSON lines of finished fits: appended to, and skipped on restart"
    )
    p.add_argument("--threads", type=int, default=1, help="BLAS/torch threads per fit")
    p.add_argument("--report-only", action="store_true", help="fit nothing: summarise the --runs log")
    p.add_argument(
        "--amortised-steps",
        type=int,
        default=300,
        help="training steps of the CLD-Trans amortised lag encoder; 0 skips its rows",
    )
    p.add_argument(
        "--preset-path",
        action="store_true",
        help="Part 4 alone: fit_recording with each preset and "
        "biodyn lags on generators not written for the fit (decimated, FFT-delay, EEG-like)",
    )
    p.add_argument(
        "--cells",
        type=int,
        nargs="+",
        metavar="K",
        help="--preset-path: only these cells (indices, see --list-cells); run cells as separate processes, "
        "each with its own --runs log, then merge the logs with --runs-from",
    )
    p.add_argument(
        "--list-cells", action="store_true", help="--preset-path: print the cells and their indices"
    )
    p.add_argument(
        "--runs-from",
        nargs="+",
        default=[],
        metavar="PATH",
        help="--preset-path: more JSON-lines logs whose fits are read instead of refitted (merging cells run "
        "apart)",
    )
    p.add_argument("--runs-note", help="--preset-path: a note on reused fits, written to the JSON")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--markdown", metavar="PATH", help="also write the identifiability table as markdown")
    p.add_argument(
        "--results",
        metavar="DIR",
        help="also write one JSON per (method, cell, seed) under "
        "DIR/identifiability/ for `biodyn report DIR` (tables, LaTeX, identifiability.png)",
    )
    args = p.parse_args()
    if args.child:  # one fit, run by identifiability() in a fresh process
        key = json.loads(args.child)
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        print(
            json.dumps(
                _one_run(key["C"], key["noise"], key["graph"], key["seed"], key["n_times"], key["method"])
            )
        )
        return
    if args.preset_path:
        cells = preset_cells(args.quick)
        if args.list_cells:
            for k, cell in enumerate(cells):
                print(k, cell)
            return
        if args.cells:
            bad = [k for k in args.cells if not 0 <= k < len(cells)]
            if bad:
                p.error(f"--cells {bad}: allowed 0-{len(cells) - 1} (--list-cells)")
            cells = [cells[k] for k in args.cells]
        n_times = 2000 if args.quick else args.n_times
        rows, per_run = preset_path(cells, n_times, args.runs, tuple(args.runs_from))
        md = preset_markdown(rows)
        print(md)
        extra = {"runs_reused": args.runs_note} if args.runs_note else {}
        report(
            "identifiability_presets",
            rows,
            preset_goals(rows),
            args.json,
            quick=args.quick,
            per_run=per_run,
            markdown=md,
            delays_s=list(PRESET_TAU_S),
            **extra,
        )
        return
    if args.quick:
        args.sizes, args.noises, args.graphs, args.seeds = [5], ["laplace"], ["cyclic"], [42]
        args.n_times, args.methods = 2000, ["ours", "dynotears"]
        args.amortised_steps = min(args.amortised_steps, 150)
    if "ours_gaussian" in args.methods:
        p.error(
            "--methods ours_gaussian: the per-recording fit has one objective (Gaussian least squares), so "
            "it had no Gaussian variant; the likelihood comparison is amortised vs amortised_gaussian"
        )
    likelihoods = [
        lik for m, lik in (("amortised", "laplace"), ("amortised_gaussian", "gaussian")) if m in args.methods
    ]
    amortised = bool(likelihoods)
    args.methods = [
        m for m in args.methods if not m.startswith("amortised")
    ]  # not a per-recording fit: its rows come below
    rows, per_run = identifiability(
        args.sizes,
        args.noises,
        args.graphs,
        args.seeds,
        args.n_times,
        args.methods,
        budget_s=args.budget_s,
        runs_path=args.runs,
        threads=args.threads,
        report_only=args.report_only,
    )
    if amortised and args.amortised_steps > 0 and not args.report_only:
        for lik in likelihoods:
            rows += amortised_rows(
                args.sizes,
                args.noises,
                args.graphs,
                args.seeds,
                args.n_times,
                args.amortised_steps,
                lik,
                records=per_run,
            )
    if args.results:
        print(
            f"wrote {len(write_results(per_run, args.results))} result files under {args.results}/identifiability"
        )
    md = markdown(rows)
    print(md)
    if args.markdown:
        from biodyn.atomic import atomic_path

        with atomic_path(args.markdown) as tmp:
            Path(tmp).write_text(md + "\n")
    goals = {}
    target = [r for r in rows if r["C"] == 10 and r["noise"] == "laplace" and r["graph"] == "cyclic"]
    ours = [r for r in target if r["method"] == "ours"]
    if ours:
        goals["ours_edge_f1_C10"] = goal(ours[0]["edge_f1"], 0.9, "F1", True)
        goals["ours_tau_mae_samples_C10"] = goal(ours[0]["tau_mae_samples"], 0.1, "samples", False)
        others = [r for r in target if r["method"] != "ours" and np.isfinite(r["edge_f1"])]
        if others:
            goals["ours_minus_best_baseline_edge_f1_C10"] = goal(
                ours[0]["edge_f1"] - max(r["edge_f1"] for r in others), 0.0, "F1", True
            )
            goals["best_baseline_over_ours_tau_mae_C10"] = goal(
                min(r["tau_mae_samples"] for r in others) / ours[0]["tau_mae_samples"], 1.0, "x", True
            )
    amortised = [r for r in target if r["method"] == "amortised"]
    if amortised:  # CLD-Trans' amortised encoder: one pass per window instead of a fit per recording
        goals["amortised_edge_f1_C10"] = goal(amortised[0]["edge_f1"], 0.8, "F1", True)
        goals["amortised_tau_mae_samples_C10"] = goal(amortised[0]["tau_mae_samples"], 0.5, "samples", False)
    if not args.skip_lag_op:
        b, c, t = (2, 16, 400) if args.quick else (8, 64, 1600)
        cases = {k: lag_op_case(k, b, c, t, repeats=1 if args.quick else 3) for k in ("dense", "fused")}
        for k, v in cases.items():
            rows.append(
                {
                    "part": "lag_op",
                    "method": k,
                    "B": b,
                    "C": c,
                    "T": t,
                    "fwd_bwd_s": v["time_s"],
                    "peak_rise_mib": v["peak_rise_mib"],
                }
            )
        goals["lag_op_memory_ratio_dense_over_fused"] = goal(
            cases["dense"]["peak_rise_mib"] / max(cases["fused"]["peak_rise_mib"], 1e-3), 10.0, "x", True
        )
        goals["lag_op_speedup_fused_over_dense"] = goal(
            cases["dense"]["time_s"] / cases["fused"]["time_s"], 1.0, "x", True
        )
    if not args.skip_speed:
        row = speed_case()
        rows.append(row)
        print(
            f"speed: {row['source']}, 23 ch x 10 s at 256 Hz: {row['fit_s']:.1f} s ({row['n_iter']} iterations)"
        )
        goals["speed_23ch_10s_256hz_fit_s"] = goal(row["fit_s"], 10.0, "s", False)
    report("identifiability", rows, goals, args.json, quick=args.quick, per_run=per_run, markdown=md)


if __name__ == "__main__":
    main()

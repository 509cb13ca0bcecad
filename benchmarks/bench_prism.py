"""PRISM benchmark: accuracy on the bundled real data, fwd+bwd speed vs a Transformer, streaming latency.

Three parts (``--parts accuracy,speed,streaming``):

* accuracy (CPU-sized config, named in the JSON): FSDD test accuracy of PRISM (goal >= 0.90); the CIFAR-10
  folder sample, hybrid vs all-S4 vs all-Delta vs the hybrid with the mixture-of-experts FFN (pattern ``moe``:
  ``ffn="moe"`` at the dense model's active parameter count; rows carry ``n_params_active``); the PTB-XL sample, PRISM vs ResNet-1D vs Transformer
  macro-AUROC on fold 10. Seeds 42/123/7/0/256, mean +- 95 % CI (Student t); a bar chart with the intervals
  (``--plot PATH``).
* speed: fwd+bwd seconds of PRISM, PRISM with the MoE FFN (same active parameters) and a Transformer of
  about PRISM's parameter count at T = 1k, 4k, 16k, with the cost per token (``us_per_token``) (goals: PRISM's 16k/4k ratio <= 4.5; PRISM >= 2x faster than the Transformer at 16k); the crossover length.
* streaming: PRISM's ``step`` latency and state size at token 100 vs token 10,000 (goals: latency ratio
  <= 1.2, equal state size) beside the Transformer's KV-cache decoding (whose cache grows with the tokens).
  PRISM's state at token t is reached by stepping t tokens; the Transformer's cache at token t is filled with
  t random keys/values per layer (its decode cost depends only on the cache length).

``--quick``: the CI-size run (about a minute): tiny subsets and models, 1 seed, T = 256/1024, tokens 10 vs
1000; its goals are computed the same way but at those sizes, and the accuracy rows are not meaningful.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import goal, paired_median_times, parser, report
from biodyn.train.fewshot import SEEDS

ECG_MODELS = ("prism", "resnet1d", "transformer")  # the PTB-XL comparison


def ci95(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95 % Student-t interval (``biodyn.metrics.stats.mean_ci``; 0 for one value
    or when a value is NaN, with the mean then NaN-aware)."""
    from biodyn.metrics.stats import mean_ci

    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return (statistics.fmean(finite) if finite else math.nan), 0.0
    return mean_ci(finite, 0.95)


# ---------------------------------------------------------------------------------------------- accuracy
def accuracy_part(
    quick: bool,
    seeds,
    data_root: str | None,
    modalities=("audio", "image", "ecg"),
    epochs: int | None = None,
    patterns=("hybrid", "s4", "delta", "moe"),
    models=ECG_MODELS,
):
    from biodyn.systems.prism import PrismRunConfig, run_prism

    if quick:
        size = {"hidden_dim": 16, "num_layers": 2, "num_heads": 2}
        tasks = [
            (
                "audio",
                "prism",
                "hybrid",
                "accuracy",
                {
                    "data": "synthetic",
                    "limit": 64,
                    "epochs": 1,
                    "n_frames": 16,
                    "n_mels": 8,
                    "batch_size": 16,
                },
            )
        ]
    else:
        size = {"hidden_dim": 64, "num_layers": 4, "num_heads": 4}
        tasks = [("audio", "prism", "hybrid", "accuracy", {"epochs": 5, "lr": 2e-3})]
        tasks += [
            ("image", "prism", p, "accuracy", {"epochs": 15, "lr": 2e-3, "augment": True})
            for p in ("hybrid", "s4", "delta", "moe")
        ]
        tasks += [
            ("ecg", m, "hybrid", "macro_auroc", {"epochs": 20, "lr": 1e-3, "batch_size": 32})
            for m in ECG_MODELS
        ]
    tasks = [
        t for t in tasks if t[0] in modalities and t[1] in models and (t[0] != "image" or t[2] in patterns)
    ]
    if epochs:  # a shorter schedule than the benchmark's (CPU-sized runs); recorded in the JSON
        tasks = [(*t[:4], {**t[4], "epochs": epochs}) for t in tasks]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for modality, model, pattern, metric, extra in tasks:
            for seed in seeds:
                moe = (
                    {"block_pattern": "hybrid", "ffn": "moe"}
                    if pattern == "moe"
                    else {"block_pattern": pattern}
                )
                cfg = PrismRunConfig(
                    modality=modality,
                    model=model,
                    **moe,
                    seed=seed,
                    output_dir=f"{tmp}/{modality}_{model}_{pattern}_{seed}",
                    progress=False,
                    data_root=data_root,
                    **{**size, **extra},
                )
                t0 = time.perf_counter()
                res = run_prism(cfg)
                v = float(res["test"].get(metric, math.nan))
                rows.append(
                    {
                        "part": "accuracy",
                        "modality": modality,
                        "model": res["model"],
                        "seed": seed,
                        "metric": metric,
                        "value": v,
                        "data": res["data"],
                        "n_params": res["n_params"],
                        "n_params_active": res.get("n_params_active", res["n_params"]),
                        "test_n": res["splits"]["test"],
                        "epochs": extra.get("epochs"),
                        "seconds": time.perf_counter() - t0,
                    }
                )
                print(
                    f"  {modality} {res['model']} {pattern} seed {seed}: {metric} {v:.4f} "
                    f"({rows[-1]['seconds']:.0f} s)",
                    flush=True,
                )
    return rows, summarize(rows), size


def summarize(rows: list[dict]) -> dict[str, dict]:
    """Per task (``modality/model``, in first-seen order) of the accuracy rows: the metric's mean and 95 %
    interval over its seeds."""
    tasks: dict[str, list[dict]] = {}
    for r in rows:
        tasks.setdefault(f"{r['modality']}/{r['model']}", []).append(r)
    out = {}
    for task, sel in tasks.items():
        mean, half = ci95([r["value"] for r in sel])
        out[task] = {
            "metric": sel[0]["metric"],
            "mean": mean,
            "ci95": half,
            "n_seeds": len(sel),
            "values": [r["value"] for r in sel],
            "seeds": [r["seed"] for r in sel],
        }
    return out


def accuracy_goals(summary: dict[str, dict]) -> dict[str, dict]:
    if "audio/prism" not in summary:
        return {}
    return {"fsdd_prism_test_accuracy": goal(summary["audio/prism"]["mean"], 0.90, "accuracy", True)}


def plot_accuracy(summary: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(summary)
    fig, ax = plt.subplots(figsize=(1.3 * len(keys) + 2, 4))
    ax.bar(
        range(len(keys)),
        [summary[k]["mean"] for k in keys],
        yerr=[summary[k]["ci95"] for k in keys],
        capsize=4,
        color="tab:blue",
    )
    ax.set_xticks(
        range(len(keys)),
        [f"{k}\n({summary[k]['metric']}, n={summary[k]['n_seeds']})" for k in keys],
        fontsize=8,
    )
    ax.set_ylim(0, 1)
    ax.set_title("PRISM bench: test metric, mean +- 95 % CI over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- speed
def _models(width: int, layers: int, heads: int, n_chans: int = 16):
    from biodyn.models import create_model

    prism = create_model(
        "prism",
        n_chans=n_chans,
        n_outputs=10,
        n_times=None,
        sfreq=1.0,
        hidden_dim=width,
        num_layers=layers,
        num_heads=heads,
    )
    moe = create_model(
        "prism_moe",
        n_chans=n_chans,
        n_outputs=10,
        n_times=None,
        sfreq=1.0,
        hidden_dim=width,
        num_layers=layers,
        num_heads=heads,
    )
    n_p = sum(p.numel() for p in prism.parameters())
    # Transformer at the same width and depth; its MLP ratio set so the parameter counts match
    per_layer_fixed = 4 * width * width + 4 * width + 4 * width  # qkv + proj (+ biases) + two LayerNorms
    target = (n_p - (n_chans + 1) * width - 2 * width - 11 * width) / layers
    ratio = max(0.5, (target - per_layer_fixed - width) / (2 * width * width + width))
    tf = create_model(
        "transformer",
        n_chans=n_chans,
        n_outputs=10,
        n_times=None,
        sfreq=1.0,
        d_model=width,
        depth=layers,
        num_heads=heads,
        mlp_ratio=round(ratio, 3),
        causal=True,
    )
    return prism, tf, moe


def speed_part(quick: bool):
    import torch

    width, layers, heads = (32, 2, 2) if quick else (64, 4, 4)
    ts = (256, 1024) if quick else (1024, 4096, 16384)
    torch.manual_seed(0)
    prism, tf, moe = _models(width, layers, heads)
    params = {
        "prism": sum(p.numel() for p in prism.parameters()),
        "transformer": sum(p.numel() for p in tf.parameters()),
        "prism_moe": sum(p.numel() for p in moe.parameters()),
    }
    active = {**params, "prism_moe": moe.param_counts()["active"]}
    rows, fns = [], {}
    for t in ts:
        x = torch.randn(1, 16, t)
        for name, m in (("prism", prism), ("transformer", tf), ("prism_moe", moe)):

            def fb(m=m, x=x):
                m.zero_grad(set_to_none=True)
                m(x).sum().backward()

            fns[(name, t)] = fb
    # every (model, length) once per repeat, in turn: both goals are ratios of these times, and timed one
    # after the other they swung by 15 % with the shared machine's load
    secs = paired_median_times(list(fns.values()), repeats=1 if quick else 3)
    times = dict(zip(fns, secs))
    for (name, t), sec in times.items():
        rows.append(
            {
                "part": "speed",
                "model": name,
                "T": t,
                "B": 1,
                "width": width,
                "layers": layers,
                "n_params": params[name],
                "n_params_active": active[name],
                "fwdbwd_s": sec,
                "us_per_token": 1e6 * sec / t,
            }
        )
    goals = {}
    t_mid, t_long = ts[-2], ts[-1]
    goals[f"prism_scaling_{t_long}_over_{t_mid}"] = goal(
        times[("prism", t_long)] / times[("prism", t_mid)],
        4.5 if not quick else 4.5 * t_long / t_mid / 4,
        "x",
        False,
    )
    goals[f"prism_speedup_vs_transformer_T{t_long}"] = goal(
        times[("transformer", t_long)] / times[("prism", t_long)], 2.0, "x", True
    )
    cross = next((t for t in ts if times[("prism", t)] < times[("transformer", t)]), None)
    moe_cost = {str(t): times[("prism_moe", t)] / times[("prism", t)] for t in ts}  # MoE / dense fwd+bwd time
    return (
        rows,
        goals,
        {
            "crossover_T": cross,
            "moe_over_dense_fwdbwd": moe_cost,
            "speed_config": {
                "width": width,
                "layers": layers,
                "heads": heads,
                "params": params,
                "active_params": active,
            },
        },
    )


# ---------------------------------------------------------------------------------------------- streaming
def streaming_part(quick: bool):
    import torch

    from biodyn.models.prism import state_numel

    width, layers, heads = (32, 2, 2) if quick else (64, 4, 4)
    t_early, t_late = (10, 1000) if quick else (100, 10_000)
    torch.manual_seed(0)
    prism, tf, _ = _models(width, layers, heads)
    prism.eval()
    tf.eval()
    rows, lat, size = [], {}, {}
    reps = 20 if quick else 50
    with torch.no_grad():
        x_t = torch.randn(1, 16)
        st, states = prism.allocate_state(1), {}
        for t in range(1, t_late + 1):
            _, st = prism.step(x_t, st)  # a new state each step: the one kept at t_early stays as it was
            if t in (t_early, t_late):
                states[t] = st
                size[("prism", t)] = state_numel(st)
        caches = {}
        for t in (t_early, t_late):
            cache = tf.allocate_kv_cache(1)
            dh = width // heads
            cache["kv"] = [(torch.randn(1, heads, t, dh), torch.randn(1, heads, t, dh)) for _ in tf.layers]
            cache["count"] = t
            caches[t] = cache
            size[("transformer", t)] = sum(k.numel() + v.numel() for k, v in cache["kv"])
        # the early and late steps of each model timed in turn (paired): a step takes a few ms, and the
        # shared machine's slow spells otherwise decide the ratio
        for name, fns in (
            ("prism", [lambda s=states[t]: prism.step(x_t, s) for t in (t_early, t_late)]),
            ("transformer", [lambda c=caches[t]: tf.decode_step(x_t, c) for t in (t_early, t_late)]),
        ):
            for t, sec in zip((t_early, t_late), paired_median_times(fns, repeats=reps, warmup=3)):
                lat[(name, t)] = sec
    for (name, t), sec in lat.items():
        rows.append(
            {
                "part": "streaming",
                "model": name,
                "token": t,
                "step_ms": 1e3 * sec,
                "state_numel": size[(name, t)],
            }
        )
    goals = {
        f"prism_step_latency_ratio_{t_late}_over_{t_early}": goal(
            lat[("prism", t_late)] / lat[("prism", t_early)], 1.2, "x", False
        ),
        f"prism_state_size_ratio_{t_late}_over_{t_early}": goal(
            size[("prism", t_late)] / size[("prism", t_early)], 1.0, "x", False
        ),
    }
    return rows, goals


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--parts", default="accuracy,speed,streaming")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    p.add_argument(
        "--modalities", default="audio,image,ecg", help="accuracy part: which datasets to train on"
    )
    p.add_argument("--data-root", default=None, help="default: biodyn's data root")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="accuracy part: epochs of every task (default: each task's own)",
    )
    p.add_argument(
        "--patterns",
        default="hybrid,s4,delta,moe",
        help="accuracy part: the image ablation's rows (block patterns; moe: the hybrid with ffn=moe)",
    )
    p.add_argument(
        "--models",
        default=",".join(ECG_MODELS),
        help="accuracy part: which models to train (the baselines are on ECG only)",
    )
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        default=None,
        help="instead of running: merge the accuracy rows of these bench_prism JSONs (runs split over "
        "processes) into --json",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="with --merge: a (task, seed) in a later file replaces the earlier one (a re-measurement)",
    )
    p.add_argument("--plot", default=None, help="bar chart of the accuracy rows (PNG)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--markdown", default=None, help="also write the rows and goals as a Markdown table")
    args = p.parse_args()
    if args.merge:
        merge_json(args.merge, args.json, args.plot, p, replace=args.replace)
        return
    import torch

    torch.set_num_threads(args.threads)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    bad = sorted(set(parts) - {"accuracy", "speed", "streaming"})
    if bad:
        p.error(f"unknown part(s) {bad}; choose from accuracy, speed, streaming")
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]
    rows, goals, extra = [], {}, {"quick": bool(args.quick), "threads": args.threads}
    t0 = time.perf_counter()
    if "accuracy" in parts:
        mods = tuple(s.strip() for s in args.modalities.split(",") if s.strip())
        bad = sorted(set(mods) - {"audio", "image", "ecg"})
        if bad:
            p.error(f"unknown modality(ies) {bad}; choose from audio, image, ecg")
        pats = tuple(s.strip() for s in args.patterns.split(",") if s.strip())
        if set(pats) - {"hybrid", "s4", "delta", "moe"}:
            p.error(f"unknown pattern(s) in {args.patterns!r}; choose from hybrid, s4, delta, moe")
        models = tuple(s.strip() for s in args.models.split(",") if s.strip())
        if set(models) - set(ECG_MODELS):
            p.error(f"unknown model(s) in {args.models!r}; choose from {', '.join(ECG_MODELS)}")
        r, summary, size = accuracy_part(args.quick, seeds, args.data_root, mods, args.epochs, pats, models)
        extra["modalities"], extra["epochs_override"] = list(mods), args.epochs
        rows += r
        extra["accuracy_summary"], extra["accuracy_config"] = summary, size
        goals.update(accuracy_goals(summary))
        if args.plot:
            plot_accuracy(summary, args.plot)
    if "speed" in parts:
        r, g, e = speed_part(args.quick)
        rows, goals = rows + r, {**goals, **g}
        extra.update(e)
    if "streaming" in parts:
        r, g = streaming_part(args.quick)
        rows, goals = rows + r, {**goals, **g}
    extra["elapsed_s"] = time.perf_counter() - t0
    report("bench_prism", rows, goals, args.json, **extra)
    if args.markdown:
        write_markdown(args.markdown, rows, goals, extra)


def merge_json(paths: list[str], out: str | None, plot: str | None, p, replace: bool = False) -> None:
    """One accuracy JSON from several runs of this script that split the tasks or the seeds between processes:
    rows are concatenated and each task's mean and interval recomputed over all its seeds; runs must share
    size, epochs and threads, and a (task, seed) may come from one file only, or with ``replace`` from the
    last file that has it (a re-measurement; each replaced row is listed under ``replaced``). A file that is
    itself a merge may be one of them (seeds run later extend it): its parts' names and commits are carried
    over."""
    docs = [json.loads(Path(x).read_text()) for x in paths]
    keys = ("accuracy_config", "epochs_override", "threads", "quick")
    for d, path in zip(docs[1:], paths[1:]):
        diff = [k for k in keys if d.get(k) != docs[0].get(k)]
        if diff:
            p.error(f"{path}: differs from {paths[0]} in {diff}; only runs of one setting merge")
    by_key, seen = {}, {}
    replaced = [r for d in docs for r in d.get("replaced", [])]
    for d, path in zip(docs, paths):
        for r in d["rows"]:
            if r.get("part") != "accuracy":
                continue
            key = (f"{r['modality']}/{r['model']}", r["seed"])
            if key in seen:
                if not replace:
                    p.error(
                        f"{path}: {key[0]} seed {key[1]} is also in {seen[key]} (--replace to re-measure it)"
                    )
                old = by_key.pop(key)
                replaced.append(
                    {
                        "task": key[0],
                        "seed": key[1],
                        "value": old["value"],
                        "n_params": old.get("n_params"),
                        "from": Path(seen[key]).name,
                        "by": Path(path).name,
                    }
                )
            seen[key] = path
            by_key[key] = r
    rows = list(by_key.values())
    summary = summarize(rows)
    extra = {k: docs[0].get(k) for k in keys}

    # a file that is itself a merge contributes its own parts, so a merge can be extended by later runs; merges
    # written before the parts' commits were recorded give None (unknown) for them
    def parts_of(d, x):
        if "merged_from" not in d:
            return [(Path(x).name, d.get("commit"), d.get("load_average"))]
        n = len(d["merged_from"])
        return list(
            zip(
                d["merged_from"],
                d.get("commits_of_parts", [None] * n),
                d.get("load_average_of_parts", [None] * n),
            )
        )

    parts = [parts_of(d, x) for d, x in zip(docs, paths)]
    names, commits, loads = zip(*[q for ps in parts for q in ps])
    extra.update(
        accuracy_summary=summary,
        modalities=sorted({m for d in docs for m in d.get("modalities", [])}),
        merged_from=list(names),
        elapsed_s=sum(d.get("elapsed_s", 0) for d in docs),
        load_average_of_parts=list(loads),
        commits_of_parts=list(commits),
    )
    if replaced:
        extra["replaced"] = replaced
    if plot:
        plot_accuracy(summary, plot)
    report("bench_prism", rows, accuracy_goals(summary), out, **extra)


def write_markdown(path: str, rows: list[dict], goals: dict, extra: dict) -> None:
    """The measured rows and goals as Markdown, generated from the run (no numbers typed by hand)."""
    from biodyn.atomic import atomic_write_text

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))

    lines = [
        f"# bench_prism results ({'--quick' if extra.get('quick') else 'full'} run, {extra.get('threads')} threads, "
        f"{extra.get('elapsed_s', 0):.0f} s)",
        "",
    ]
    for part in ("accuracy", "speed", "streaming"):
        sel = [r for r in rows if r.get("part") == part]
        if not sel:
            continue
        keys = [k for k in dict.fromkeys(k for r in sel for k in r) if k != "part"]
        lines += [f"## {part}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(fmt(r.get(k)) for k in keys) + " |" for r in sel]
        lines.append("")
    if extra.get("accuracy_summary"):
        lines += [
            "## accuracy over seeds (mean +- 95 % CI)",
            "",
            "| task/model | metric | mean | ci95 | seeds |",
            "|---|---|---|---|---|",
        ]
        for k, v in extra["accuracy_summary"].items():
            lines.append(f"| {k} | {v['metric']} | {v['mean']:.4g} | {v['ci95']:.3g} | {v['n_seeds']} |")
        lines.append("")
    if "crossover_T" in extra:
        lines += [f"Crossover length (first T where PRISM's fwd+bwd is faster): {extra['crossover_T']}", ""]
    lines += ["## goals", "", "| goal | value | target | met |", "|---|---|---|---|"]
    for g, v in goals.items():
        op = ">=" if v["higher_is_better"] else "<="
        lines.append(
            f"| {g} | {v['value']:.4g} {v['unit']} | {op} {v['target']:g} | {'yes' if v['met'] else 'no'} |"
        )
    atomic_write_text(path, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

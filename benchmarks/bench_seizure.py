"""Brain-Go-Brr seizure detector benchmark: MFU of fwd+bwd against this run's fp32 matmul rate, the model's
forward real-time factor (inference mode, at ``biodyn detect``'s default batch of windows; one window per call
beside it), the dense graph stage against a per-graph torch_geometric loop, windows/s and peak
memory of both stacks (each stack measured in a child process so that its peak RSS is its own), and GPU
figures (bf16) when CUDA is available.

``--parts inference`` times what a user of ``biodyn detect`` waits for: a real-EEG EDF recording (the CHB-MIT
crop tiled to ``--seconds``, 19 channels) through ``biodyn.systems.seizure.detect.detect`` with its defaults (read,
montage, preprocessing, 50 % overlapping windows, stitching), split into its stages and the model's parts
(TCN, projection, node stream, edge stream, GNN, fusion, decoder, the rest), beside one eager forward per
window in the same run. Its ``inference_rtf_*`` goals (>= 30x real time) are the detect path's; the candidate
rows measure a faster path that was tried (bf16 TCN) with its accuracy against the fp32 model.

Full size is the published one (19 channels x 15,360 samples = 60 s at 256 Hz); ``--quick`` shrinks the
window (19 x 1,024 = 4 s) and uses seizure_tiny's widths so that it finishes in about a minute on 2 idle cores.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, median_time, paired_median_times, parser, report
from biodyn.systems.seizure.detect import WINDOWS_PER_CALL as DETECT_BATCH  # windows per model call in detect

# quick mode: the CPU-sized widths of seizure_tiny (same architecture), 19 x 1024 samples
QUICK_CFG = {
    "tcn_channels": [16, 16, 32, 32],
    "node_dim": 16,
    "node_layers": 2,
    "edge_dim": 8,
    "edge_layers": 1,
    "d_state": 8,
    "edge_d_state": 4,
    "mamba_headdim": 8,
    "gdn_heads": 2,
    "edge_gdn_heads": 2,
    "pe_k": 8,
    "decoder_dim": 32,
}


def matmul_gflops(n: int = 1024, repeats: int = 5) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    t = median_time(lambda: a @ b, repeats)
    return 2 * n**3 / t / 1e9


def _build(stack: str, n_chans: int, n_times: int, quick: bool):
    from biodyn.models import create_model

    cfg = QUICK_CFG if quick else {}
    return create_model(f"seizure_{stack}", n_chans=n_chans, n_outputs=1, n_times=n_times, sfreq=256.0, **cfg)


def child(stack: str, n_chans: int, n_times: int, batch: int, quick: bool, repeats: int) -> dict:
    """One stack: fwd+bwd FLOPs (torch.utils.flop_counter), time, inference time, peak RSS."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    m = _build(stack, n_chans, n_times, quick)
    x = torch.randn(batch, n_chans, n_times)

    def fwdbwd():
        m.zero_grad(set_to_none=True)
        m(x).float().square().mean().backward()

    with FlopCounterMode(display=False) as fc:  # also the warm-up
        fwdbwd()
    flops = fc.get_total_flops()
    t_train = median_time(fwdbwd, repeats, warmup=0)
    m.eval()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # training peak
    # inference as `biodyn detect` runs it (inference mode), one window per call and its default batch
    x_det = torch.randn(DETECT_BATCH, n_chans, n_times)
    with torch.inference_mode():
        t_inf = median_time(lambda: m(x), repeats, warmup=0 if quick else 1)
        t_det = median_time(lambda: m(x_det), repeats, warmup=0 if quick else 1)
    n_params = sum(p.numel() for p in m.parameters())
    seconds = n_times / 256.0
    return {
        "stack": stack,
        "batch": batch,
        "n_chans": n_chans,
        "n_times": n_times,
        "params": n_params,
        "fwdbwd_gflop": flops / 1e9,
        "fwdbwd_s": t_train,
        "train_windows_per_s": batch / t_train,
        "infer_s": t_inf,
        "infer_windows_per_s": batch / t_inf,
        "rtf_batch1": batch * seconds / t_inf,
        "detect_batch": DETECT_BATCH,
        "rtf": DETECT_BATCH * seconds / t_det,
        "peak_rss_mib": rss_mib,
    }


def graph_stage(n_chans: int, steps: int, batch: int, repeats: int) -> dict:
    """Adjacency + Laplacian PE + 2 x SSGConv, dense and batched (the model's code) vs one graph at a time
    with torch_geometric's SSGConv and a per-graph eigh (the same math)."""
    import torch

    from biodyn.models import create_model

    torch.manual_seed(0)
    m = create_model("seizure_bimamba2", n_chans=n_chans, n_outputs=1, n_times=steps * 16, sfreq=256.0).eval()
    p = n_chans * (n_chans - 1) // 2
    w = torch.rand(batch, p, steps)
    node = torch.randn(batch, n_chans, steps, m.cfg.node_dim)

    def dense():
        with torch.no_grad():
            return m.graph(node, m.adjacency(w))

    try:
        from torch_geometric.nn import SSGConv
    except ImportError:
        return {"dense_s": median_time(dense, repeats), "loop_s": None, "speedup": None}
    from biodyn.nn.graph import pairs_to_dense, topk_adjacency
    from biodyn.ops.laplacian import laplacian_eigenvectors

    convs = []
    for c in m.gnn:
        s = SSGConv(c.lin.in_features, c.lin.out_features, alpha=c.alpha, K=c.K)
        s.lin.load_state_dict(c.lin.state_dict())
        convs.append(s.eval())
    every = m.cfg.pe_every

    def loop():
        out = []
        with torch.no_grad():
            for b in range(batch):
                pe = None
                for t in range(steps):
                    a = topk_adjacency(pairs_to_dense(w[b, :, t], n_chans), m.cfg.top_k, m.cfg.edge_threshold)
                    if t % every == 0:
                        pe = laplacian_eigenvectors(a, m.cfg.pe_k)
                    h = node[b, :, t] + m.pe_proj(pe)
                    ei = a.nonzero().T
                    ew = a[ei[0], ei[1]]
                    for k, conv in enumerate(convs):
                        h = conv(h, ei, ew)
                        if k < len(convs) - 1:
                            h = torch.nn.functional.gelu(h)
                    out.append(m.gnn_norm(h))
        return out

    t_dense = median_time(dense, repeats)
    t_loop = median_time(loop, max(1, repeats // 2), warmup=0)
    return {"graphs": batch * steps, "dense_s": t_dense, "loop_s": t_loop, "speedup": t_loop / t_dense}


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parts", default="model,inference", help="comma-separated: model, inference")
    ap.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="inference part: recording length (default 120 s; quick 24 s)",
    )
    ap.add_argument("--stacks", default="bimamba2,gdn")
    ap.add_argument(
        "--no-candidates", action="store_true", help="inference part: skip the bf16 TCN candidate"
    )
    ap.add_argument("--child", default=None, help=argparse_suppress())
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    quick = args.quick
    n_chans, n_times, batch = 19, (1024 if quick else 15360), 1
    repeats = 1 if quick else 3
    if args.child:
        print(json.dumps(child(args.child, n_chans, n_times, batch, quick, repeats)))
        return
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = sorted(set(parts) - {"model", "inference"})
    if bad:
        ap.error(f"unknown part(s) {bad}; choose from model, inference")
    stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    rows, goals, extra = [], {}, {}
    if "model" in parts:
        r, g, e = model_part(args, quick, n_chans, n_times)
        rows, goals, extra = rows + r, {**goals, **g}, {**extra, **e}
    if "inference" in parts:
        r, g, e = inference_part(
            quick, stacks, args.seconds or (24.0 if quick else 120.0), not args.no_candidates
        )
        rows, goals, extra = rows + r, {**goals, **g}, {**extra, **e}
    report("bench_seizure", rows, goals, args.json, quick=quick, threads=args.threads, parts=parts, **extra)


def model_part(args, quick: bool, n_chans: int, n_times: int):
    import torch

    rate = matmul_gflops()
    rows = []
    for stack in ("bimamba2", "gdn"):
        cmd = [sys.executable, __file__, "--child", stack, "--threads", str(args.threads)] + (
            ["--quick"] if quick else []
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"child {stack} failed:\n{proc.stderr[-2000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["mfu"] = r["fwdbwd_gflop"] / r["fwdbwd_s"] / rate
        rows.append({"case": f"model {stack}", **r})
    repeats = 1 if quick else 3
    g = graph_stage(n_chans, steps=(32 if quick else 960), batch=1, repeats=repeats)
    rows.append({"case": "graph stage", **g})
    gpu = None
    if torch.cuda.is_available():
        gpu = gpu_figures(n_chans, 15360)
        rows.extend(gpu)
    # the model's forward alone, one pass per window (no reading, preprocessing or overlap): the detect path's
    # own goals are the inference part's inference_rtf_*
    goals = {
        "mfu_bimamba2": goal(rows[0]["mfu"], 0.25, "of matmul rate", True),
        "mfu_gdn": goal(rows[1]["mfu"], 0.25, "of matmul rate", True),
        "forward_rtf_bimamba2": goal(rows[0]["rtf"], 10.0, "x real time", True),
        "forward_rtf_gdn": goal(rows[1]["rtf"], 10.0, "x real time", True),
    }
    if g.get("speedup") is not None:
        goals["graph_dense_vs_pyg_loop"] = goal(g["speedup"], 20.0, "x", True)
    note = (
        "quick mode: 19 x 1024 samples, seizure_tiny widths; full size 19 x 15360" if quick else "full size"
    )
    return rows, goals, {"matmul_gflops": rate, "note": note}


# ------------------------------------------------------------------------------------------ inference part
MODEL_PARTS = {  # the model's parts, by submodule (what is left is the pair cosines, adjacency and Laplacian PE)
    "tcn": ("tcn",),
    "proj": ("proj",),
    "node_stream": ("node",),
    "edge_stream": ("edge_in", "edge", "edge_out"),
    "gnn": ("gnn", "gnn_norm", "pe_proj"),
    "fusion": ("fusion",),
    "decoder": ("head",),
}


class PartTimer:
    """Time spent in each of ``MODEL_PARTS`` (forward hooks; the detector's code is not touched): wall time,
    or ``clock=time.process_time`` for the process's CPU time (one thread: the work itself, whatever the
    machine's load)."""

    def __init__(self, model, clock=time.perf_counter):
        import torch

        self.clock = clock
        self.seconds = dict.fromkeys([*MODEL_PARTS, "model"], 0.0)
        self._t0: dict[int, float] = {}
        self._handles = []
        named = dict(model.named_children())
        for part, names in [*MODEL_PARTS.items(), ("model", None)]:
            mods = [model] if names is None else [named[n] for n in names]
            mods = [c for m in mods for c in (m if isinstance(m, torch.nn.ModuleList) else [m])]
            for m in mods:
                self._handles.append(m.register_forward_pre_hook(self._start))
                self._handles.append(m.register_forward_hook(lambda m, a, o, part=part: self._stop(m, part)))

    def _start(self, m, args):
        self._t0[id(m)] = self.clock()

    def _stop(self, m, part):
        self.seconds[part] += self.clock() - self._t0.pop(id(m))

    def remove(self):
        for h in self._handles:
            h.remove()


def _recording(folder: Path, seconds: float):
    """A 19-channel real-EEG EDF of ``seconds`` (the CHB-MIT crop tiled; noise when the data root is absent)
    and its channel names."""
    import numpy as np

    from biodyn.data_root import data_root
    from biodyn.io import read_recording, write_edf
    from biodyn.montage import canonicalize
    from biodyn.types import Recording

    root = data_root()
    src = root / "chbmit" / "edf_crops" / "chb01_03_Seizure.edf" if root else None
    fs = 256.0
    n = int(seconds * fs)
    if src is not None and src.is_file():
        rec = read_recording(src)
        names = list(dict.fromkeys(canonicalize(rec.channels)))[:19]
        rows = [canonicalize(rec.channels).index(c) for c in names]
        x = np.tile(rec.data[rows], (1, n // rec.data.shape[1] + 1))[:, :n]
        source = f"{src.name} tiled"
    else:
        names = [f"EEG{i}" for i in range(19)]
        x = np.random.default_rng(0).standard_normal((19, n)).astype(np.float32) * 30
        source = "white noise (no data root)"
    path = folder / "recording.edf"
    write_edf(path, Recording(x.astype(np.float32), fs, names, [], {}))
    return path, names, source


def _detector_checkpoint(folder: Path, stack: str, channels, window_s: float, quick: bool) -> Path:
    import torch

    from biodyn.models import create_model
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    mcfg = {
        "n_chans": len(channels),
        "n_outputs": 1,
        "n_times": int(window_s * 256),
        "sfreq": 256.0,
        **(QUICK_CFG if quick else {}),
    }
    name = f"seizure_{stack}"
    model = create_model(name, **mcfg)
    spec = {
        "channels": list(channels),
        "fs": 256.0,
        "window_s": window_s,
        "preprocess": SEIZURE_EEG.to_dict(),
    }
    out = folder / stack
    save_checkpoint(
        out / "checkpoints" / "best",
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={"model_name": name, "model_config": mcfg, "step": 0, "extra": {"data": spec}},
    )
    return out


def _bf16_blocks(tcn, x):
    """The TCN's residual blocks with their convolutions in bf16 (oneDNN, AVX-512 BF16), output in fp32."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        return tcn.blocks(x).float()


def _bf16_tcn_candidate(model, batch, warmup: int = 1):
    """The bf16 TCN on one batch of windows: the TCN's time both ways, and the whole model's output against
    the fp32 model's."""
    import torch

    tcn = model.tcn
    with torch.inference_mode():
        t32, t16 = paired_median_times(
            [lambda: tcn.blocks(batch), lambda: _bf16_blocks(tcn, batch)], repeats=1, warmup=warmup
        )
        h32, h16 = tcn.blocks(batch), _bf16_blocks(tcn, batch)
        y32 = model(batch)
        tcn.forward = lambda x: tcn.reduce(_bf16_blocks(tcn, x))  # an instance attribute: removed below
        try:
            y16 = model(batch)
        finally:
            del tcn.forward
    return {
        "tcn_fp32_s": t32,
        "tcn_bf16_s": t16,
        "tcn_speedup": t32 / t16,
        "tcn_features_rel_err": ((h16 - h32).norm() / h32.norm()).item(),
        "max_abs_dp": (torch.sigmoid(y16) - torch.sigmoid(y32)).abs().max().item(),
        "max_abs_dlogit": (y16 - y32).abs().max().item(),
        "logit_std": y32.std().item(),
    }


def _flops_per_part(model, x) -> dict:
    """Matmul and convolution FLOPs of one forward pass per part of ``MODEL_PARTS`` (``torch.utils.flop_counter``;
    elementwise work is not counted), in GFLOP."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False, depth=None)
    with torch.inference_mode(), counter:
        model(x)
    counts = counter.get_flop_counts()
    top = type(model).__name__
    out = {}
    for part, names in MODEL_PARTS.items():
        out[part] = sum(sum(counts.get(f"{top}.{n}", {}).values()) for n in names) / 1e9
    out["total"] = sum(counts["Global"].values()) / 1e9
    return out


def _one_thread_profile(model, x) -> dict:
    """One forward pass on one thread: CPU seconds per part (the work itself: a loaded machine stretches the wall
    time of one thread but not its CPU time, and it cannot stall a thread waiting for another)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            model(x[..., : 16 * 64])  # warm-up at a short length
            timer = PartTimer(model, clock=time.process_time)
            t0 = time.perf_counter()
            model(x)
            wall = time.perf_counter() - t0
            timer.remove()
    finally:
        torch.set_num_threads(threads)
    return {"wall_s": wall, **{f"{p}_cpu_s": v for p, v in timer.seconds.items()}}


def _window_logits(model, x, starts, win) -> dict:
    """Logits ``(win,)`` of every window start (one model call per window)."""
    import numpy as np
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    out = {}
    with torch.inference_mode():
        for s in starts:
            out[s] = model(xt[None, :, s : s + win])[0].double().numpy()
    return out


def _stitch(logits: dict, starts, n: int):
    """The detect path's overlap average of the windows ``starts``: probabilities and logits ``(n,)``."""
    import numpy as np

    from biodyn.systems.seizure.inference import OverlapAverage

    p, z = OverlapAverage(n), OverlapAverage(n)
    for s in starts:
        p.add(s, 1 / (1 + np.exp(-logits[s])))
        z.add(s, logits[s])
    return p.mean()[0], z.mean()[0]


def _overlap_candidates(model, x, win, fs, threshold, overlaps=(0.25, 0.0)) -> list[dict]:
    """Less overlap than the detect path's 50 %: the stitched probabilities and events against 50 %'s, from the
    same window outputs (each window computed once), and the model calls each needs on this recording."""
    import numpy as np

    from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS, probs_to_events
    from biodyn.systems.seizure.inference import window_starts

    n = x.shape[1]
    plans = {ov: window_starts(n, win, max(1, round(win * (1 - ov)))) for ov in (0.5, *overlaps)}
    t0 = time.perf_counter()
    logits = _window_logits(model, x, sorted({s for st in plans.values() for s in st}), win)
    per_window = (time.perf_counter() - t0) / len(logits)
    p_ref, z_ref = _stitch(logits, plans[0.5], n)
    ev_ref = probs_to_events(p_ref, fs, threshold=threshold, **SEIZURE_POSTPROCESS)
    spread = float(np.std(z_ref))
    rows = []
    for ov in overlaps:
        p, z = _stitch(logits, plans[ov], n)
        ev = probs_to_events(p, fs, threshold=threshold, **SEIZURE_POSTPROCESS)
        dz = float(np.abs(z - z_ref).max())
        rows.append(
            {
                "overlap": ov,
                "windows": len(plans[ov]),
                "windows_at_50pct": len(plans[0.5]),
                "model_s_per_window": per_window,
                "max_abs_dp": float(np.abs(p - p_ref).max()),
                "max_abs_dlogit": dz,
                "logit_std": spread,
                "max_abs_dlogit_over_logit_std": dz / max(spread, 1e-12),
                "same_events": [(e.onset_s, e.duration_s) for e in ev]
                == [(e.onset_s, e.duration_s) for e in ev_ref],
            }
        )
    return rows


def _int8_candidate(model, batch) -> dict:
    """int8 dynamic quantisation of the ``nn.Linear`` layers (weights int8, activations quantised per call; the
    TCN's convolutions stay fp32): time and output against the fp32 model on one batch. The layers whose weight
    the model splits by rows at inference (``split_linear``: Gated DeltaNet's ``qkv``, SwiGLU's ``gate_up``)
    stay fp32, a quantised layer has no weight tensor to split."""
    import copy

    import torch
    from torch.ao.quantization import quantize_dynamic

    linears = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    names = {n for n in linears if n.rsplit(".", 1)[-1] not in ("qkv", "gate_up")}
    q = quantize_dynamic(copy.deepcopy(model), names, dtype=torch.qint8)
    with torch.inference_mode():
        t32, t8 = paired_median_times([lambda: model(batch), lambda: q(batch)], repeats=1, warmup=0)
        y32, y8 = model(batch), q(batch)
    dz = (y8 - y32).abs().max().item()
    return {
        "fp32_s": t32,
        "int8_s": t8,
        "speedup": t32 / t8,
        "linear_layers_int8": len(names),
        "linear_layers": len(linears),
        "max_abs_dp": (torch.sigmoid(y8) - torch.sigmoid(y32)).abs().max().item(),
        "max_abs_dlogit": dz,
        "logit_std": y32.std().item(),
        "max_abs_dlogit_over_logit_std": dz / max(y32.std().item(), 1e-12),
    }


class _Threads:
    """Run a block with ``n`` intra-op threads (restored after)."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        import torch

        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.before)


def _candidate_rows(det, stack: str, x, batch, win: int, quick: bool) -> list[dict]:
    """Where one window's time goes (FLOPs and one-thread CPU seconds per part), the arithmetic of the 30x goal,
    and the candidates tried (bf16 TCN, less overlap, int8 Linear layers), each with its accuracy against the
    fp32 eager model. Run on one thread: on a loaded two-core machine a two-thread pass mostly measures threads
    waiting for each other, one thread's CPU time measures the work."""
    model = det.model
    one = batch[:1]
    rows = []
    with _Threads(1):
        flops = _flops_per_part(model, one)
        prof = _one_thread_profile(model, one)
        window_s = win / det.fs
        cpu = prof["model_cpu_s"]
        tcn_rate = flops["tcn"] / prof["tcn_cpu_s"]
        # 50 % overlap computes every second twice; two cores at best halve one thread's time
        per_signal_s = 2 * flops["total"] / window_s
        rows.append(
            {
                "case": f"one window, one thread {stack}",
                "stack": stack,
                **{f"{p}_gflop": v for p, v in flops.items()},
                **prof,
                "tcn_gflops_per_s_one_thread": tcn_rate,
                "gflop_per_signal_s_at_50pct": per_signal_s,
                "gflops_per_s_needed_for_30x": 30 * per_signal_s,
                "rtf_bound_two_cores_50pct": window_s / (2 * cpu / 2),
                "rtf_bound_two_cores_no_overlap": window_s / (cpu / 2),
                "tcn_only_rtf_bound_two_cores_50pct": window_s / (2 * prof["tcn_cpu_s"] / 2),
            }
        )
        c = _bf16_tcn_candidate(model, one, warmup=1 if quick else 0)
        # kept only if the probabilities stay within 1e-3 AND the model's feature error would not grow
        # into more than that on a trained model's larger logits (bounded by the relative logit error)
        rel_logit = c["max_abs_dlogit"] / max(c["logit_std"], 1e-12)
        rows.append(
            {
                "case": f"candidate bf16 TCN {stack}",
                "stack": stack,
                **c,
                "max_abs_dlogit_over_logit_std": rel_logit,
                "kept": c["max_abs_dp"] <= 1e-3 and rel_logit <= 1e-3,
            }
        )
        c = _int8_candidate(model, one)
        rows.append(
            {
                "case": f"candidate int8 Linear {stack}",
                "stack": stack,
                **c,
                "kept": c["max_abs_dp"] <= 1e-3
                and c["max_abs_dlogit_over_logit_std"] <= 1e-3
                and c["speedup"] > 1,
            }
        )
        for c in _overlap_candidates(model, x, win, det.fs, det.threshold):
            ok = c["max_abs_dp"] <= 1e-3 and c["same_events"] and c["max_abs_dlogit_over_logit_std"] <= 1e-3
            rows.append(
                {"case": f"candidate overlap {c['overlap']:g} {stack}", "stack": stack, **c, "kept": ok}
            )
    return rows


def inference_part(quick: bool, stacks, seconds: float, candidates: bool):
    """``biodyn detect``'s default path on one recording per stack, split into stages and model parts, beside
    one eager forward per window; goals: >= 30x real time through the detect path."""
    import os
    import tempfile

    import numpy as np
    import torch

    from biodyn.io import read_recording
    from biodyn.montage import select_channels
    from biodyn.signal import PreprocessConfig, preprocess
    from biodyn.systems.seizure.detect import WINDOWS_PER_CALL, detect, load_detector
    from biodyn.systems.seizure.inference import window_starts

    window_s = 4.0 if quick else 60.0
    rows, goals = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path, channels, source = _recording(tmp, seconds)
        for stack in stacks:
            load_before = os.getloadavg()[0]
            det = load_detector(_detector_checkpoint(tmp, stack, channels, window_s, quick))
            win = round(window_s * det.fs)
            # warm-up on one window (first-call allocations), not timed
            with torch.inference_mode():
                det.model(torch.zeros(1, len(channels), win))
            timer = PartTimer(det.model)
            t0 = time.perf_counter()
            d = detect(path, det, progress=False)
            total = time.perf_counter() - t0
            timer.remove()
            # the stages on their own (same functions detect calls)
            t0 = time.perf_counter()
            rec = read_recording(path)
            t_read = time.perf_counter() - t0
            t0 = time.perf_counter()
            x = select_channels(rec.data, rec.channels, det.channels, on_missing="zero")[0]
            x, _ = preprocess(x, rec.fs, PreprocessConfig(**det.preprocess), channels=det.channels)
            t_pre = time.perf_counter() - t0
            starts = window_starts(x.shape[1], win, max(1, round(win * 0.5)))
            model_s = timer.seconds["model"]
            # one eager forward per window, no overlap (what the model part's forward_rtf measures)
            k = min(WINDOWS_PER_CALL, len(starts))
            batch = torch.stack(
                [torch.from_numpy(np.ascontiguousarray(x[:, s : s + win])) for s in starts[:k]]
            )
            with torch.inference_mode():
                t_fwd = paired_median_times([lambda m=det.model, b=batch: m(b)], repeats=1, warmup=0)[0]
            row = {
                "case": f"detect {stack}",
                "stack": stack,
                "recording_s": d.duration_s,
                "windows": len(starts),
                "overlap": 0.5,
                "detect_s": total,
                "read_s": t_read,
                "preprocess_s": t_pre,
                "model_s": model_s,
                "stitch_and_rest_s": max(total - t_read - t_pre - model_s, 0.0),
                **{f"{p}_s": timer.seconds[p] for p in MODEL_PARTS},
                "model_rest_s": model_s - sum(timer.seconds[p] for p in MODEL_PARTS),
                "rtf_detect": d.duration_s / total,
                "forward_s_per_window": t_fwd / k,
                "rtf_forward_per_window": k * window_s / t_fwd,
                "events": len(d.events),
                "load_1min_before": load_before,
                "load_1min_after": os.getloadavg()[0],
                "source": source,
            }
            rows.append(row)
            goals[f"inference_rtf_{stack}"] = goal(
                row["rtf_detect"], 30.0, "x real time (biodyn detect)", True
            )
            if candidates:
                rows.extend(_candidate_rows(det, stack, x, batch, win, quick))
    return (
        rows,
        goals,
        {
            "inference": {
                "window_s": window_s,
                "recording_s": seconds,
                "recording": source,
                "weights": "random initialisation (no trained full-size checkpoint exists)",
                "candidates_threads": 1,
            }
        },
    )


def gpu_figures(n_chans: int, n_times: int) -> list[dict]:
    import torch

    out = []
    for stack in ("bimamba2", "gdn"):
        m = _build(stack, n_chans, n_times, False).cuda()
        x = torch.randn(8, n_chans, n_times, device="cuda")
        opt = torch.optim.AdamW(m.parameters(), 1e-4)

        def step(m=m, x=x, opt=opt):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = m(x).float().square().mean()
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        step()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        for _ in range(3):
            step()
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / 3
        out.append(
            {
                "case": f"gpu bf16 {stack}",
                "batch": 8,
                "train_windows_per_s": 8 / dt,
                "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20,
            }
        )
    return out


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()

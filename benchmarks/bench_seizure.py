"""Brain-Go-Brr seizure detector benchmark: MFU of fwd+bwd against this run's fp32 matmul rate, inference
real-time factor (inference mode, at ``biodyn detect``'s default batch of windows; one window per call
beside it), the dense graph stage against a per-graph torch_geometric loop, windows/s and peak
memory of both stacks (each stack measured in a child process so that its peak RSS is its own), and GPU
figures (bf16) when CUDA is available.

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
from _common import goal, median_time, parser, report
from biodyn.systems.seizure.detect import (
    WINDOWS_PER_CALL as DETECT_BATCH,  # windows per model call in biodyn detect
)

# quick mode: the CPU-sized widths of seizure_tiny (same architecture), 19 x 1024 samples
QUICK_CFG = {"tcn_channels": [16, 16, 32, 32], "node_dim": 16, "node_layers": 2, "edge_dim": 8, "edge_layers": 1,
             "d_state": 8, "edge_d_state": 4, "mamba_headdim": 8, "gdn_heads": 2, "edge_gdn_heads": 2, "pe_k": 8,
             "decoder_dim": 32}  # fmt: skip


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
    return {"stack": stack, "batch": batch, "n_chans": n_chans, "n_times": n_times, "params": n_params,
            "fwdbwd_gflop": flops / 1e9, "fwdbwd_s": t_train, "train_windows_per_s": batch / t_train,
            "infer_s": t_inf, "infer_windows_per_s": batch / t_inf, "rtf_batch1": batch * seconds / t_inf,
            "detect_batch": DETECT_BATCH, "rtf": DETECT_BATCH * seconds / t_det, "peak_rss_mib": rss_mib}  # fmt: skip


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
    g = graph_stage(n_chans, steps=(32 if quick else 960), batch=1, repeats=repeats)
    rows.append({"case": "graph stage", **g})
    gpu = None
    if torch.cuda.is_available():
        gpu = gpu_figures(n_chans, 15360)
        rows.extend(gpu)
    goals = {
        "mfu_bimamba2": goal(rows[0]["mfu"], 0.25, "of matmul rate", True),
        "mfu_gdn": goal(rows[1]["mfu"], 0.25, "of matmul rate", True),
        "inference_rtf_bimamba2": goal(rows[0]["rtf"], 10.0, "x real time", True),
        "inference_rtf_gdn": goal(rows[1]["rtf"], 10.0, "x real time", True),
    }
    if g.get("speedup") is not None:
        goals["graph_dense_vs_pyg_loop"] = goal(g["speedup"], 20.0, "x", True)
    report("bench_seizure", rows, goals, args.json, matmul_gflops=rate, quick=quick, threads=args.threads,
           note="quick mode: 19 x 1024 samples, seizure_tiny widths; full size 19 x 15360" if quick else "full size")  # fmt: skip


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
        out.append({"case": f"gpu bf16 {stack}", "batch": 8, "train_windows_per_s": 8 / dt,
                    "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20})  # fmt: skip
    return out


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()

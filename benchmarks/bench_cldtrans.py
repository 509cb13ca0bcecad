"""CLD-Trans stage-1 training step: fused lag path vs the dense ``(B, C, C, T)`` formulation.

At the CLD-Trans EEG size (64 channels, 160 Hz, 10 s windows = 1600 samples) one stage-1 step (forward +
backward of every ``forward_loss`` term: motif VQ-VAE, amortised lag encoder, LD-SEM likelihood) is timed
with the model's fused lag mix (``lag_impl=fused``) and with the dense reference (``lag_impl=dense``,
every delayed copy of every channel pair materialised), each case in a fresh subprocess. Peak memory is the
rise of the peak RSS (VmHWM, reset through ``/proc/self/clear_refs`` after a warm-up step) over the RSS
then, which sees every torch CPU allocation (Linux only). The LD-SEM part alone (the lag path: the mix
and the likelihood, fwd + bwd, for given ``tau``/``A``) is measured the same way, and the whole step once
more with the tokenizer's convolutions recomputed in backward (``checkpoint_tokenizer``, ``step_ckpt``).

The largest batch that fits 16 GiB is computed, not run: peak memory is measured at two batch sizes and
extrapolated linearly (``B_max = (16 GiB - intercept) / per-sample slope``); the JSON says so.

    python benchmarks/bench_cldtrans.py --quick --json out.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, parser, report

BUDGET_GIB = 16.0
# lag_path: the LD-SEM mix + likelihood alone; step: a whole stage-1 step; step_ckpt: the same step with the
# tokenizer's convolutions recomputed in backward (model.checkpoint_tokenizer)
PARTS = ("lag_path", "step", "step_ckpt")

_CHILD = r"""
import json, statistics, sys, time
import torch

def status_kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

part, impl, b, c, t, threads, repeats = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8])
model_cfg = json.loads(sys.argv[8])
torch.set_num_threads(threads)
torch.manual_seed(0)
from biodyn.models import create_model
from biodyn.nn.lag_encoder import ldsem_terms
x = torch.randn(b, c, t)
if part in ("step", "step_ckpt"):
    if part == "step_ckpt":
        model_cfg = {**model_cfg, "checkpoint_tokenizer": True}
    m = create_model("cldtrans", n_chans=c, n_outputs=1, n_times=t, sfreq=160.0, lag_impl=impl,
                     **model_cfg)
    def run():
        terms = m.forward_loss({"x": x})
        sum(terms.values()).backward()
        m.zero_grad(set_to_none=True)
else:
    tmax = 0.05 * 160.0
    tau = (torch.rand(b, c, c) * tmax).requires_grad_()
    w = (torch.randn(b, c, c) * 0.05).requires_grad_()
    def run():
        nll, l1, stab = ldsem_terms(x, tau, w, tmax, impl=impl)
        (nll + l1 + stab).backward()
        tau.grad = w.grad = None
run()  # warm-up: library set-up, FFT plans, allocator
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
    fh.write("5")
before = status_kib("VmRSS")
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    run()
    times.append(time.perf_counter() - t0)
peak = status_kib("VmHWM")
print(json.dumps({"time_s": statistics.median(times), "peak_rise_mib": (peak - before) / 1024}))
"""


def case(
    part: str, impl: str, b: int, c: int, t: int, model_cfg: dict, threads: int = 2, repeats: int = 1
) -> dict:
    args = [part, impl, *(str(v) for v in (b, c, t, threads, repeats)), json.dumps(model_cfg)]
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{part}/{impl}/B={b} failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def max_batch(b1: int, m1: float, b2: int, m2: float, budget_mib: float) -> dict:
    """Linear extrapolation of peak memory (MiB) in the batch size to ``budget_mib``."""
    slope = max((m2 - m1) / (b2 - b1), 1e-6)
    intercept = m1 - slope * b1
    return {
        "per_sample_mib": slope,
        "intercept_mib": intercept,
        "max_batch": int(max(0.0, (budget_mib - intercept) / slope)),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--n-times", type=int, default=1600, help="10 s at 160 Hz")
    p.add_argument("--batches", type=int, nargs=2, default=[2, 4], help="two batch sizes (memory fit)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    # the full model (CLDTransConfig defaults) or, with --quick, the CPU profile's narrower tokenizer
    model_cfg = {}
    if args.quick:
        model_cfg = {"latent_dim": 32, "hidden": 32, "downsample": 8, "lag_hidden": 32, "ode_hidden": 32}
        args.batches, args.repeats = [1, 2], 1
    c, t = args.channels, args.n_times
    rows, res = [], {}
    for part in PARTS:
        for impl in ("fused", "dense"):
            for b in args.batches:
                r = case(
                    "lag" if part == "lag_path" else part,
                    impl,
                    b,
                    c,
                    t,
                    model_cfg,
                    args.threads,
                    args.repeats,
                )
                res[(part, impl, b)] = r
                rows.append(
                    {
                        "part": part,
                        "lag_impl": impl,
                        "B": b,
                        "C": c,
                        "T": t,
                        "fwd_bwd_s": r["time_s"],
                        "peak_rise_mib": r["peak_rise_mib"],
                    }
                )
                print(
                    f"  {part} {impl} B={b}: {r['time_s']:.2f} s, +{r['peak_rise_mib']:.0f} MiB", flush=True
                )
    b1, b2 = args.batches
    fits = {}
    for part in PARTS:
        for impl in ("fused", "dense"):
            f = max_batch(
                b1,
                res[(part, impl, b1)]["peak_rise_mib"],
                b2,
                res[(part, impl, b2)]["peak_rise_mib"],
                BUDGET_GIB * 1024,
            )
            fits[f"{part}_{impl}"] = f
            rows.append(
                {
                    "part": f"{part} max batch in {BUDGET_GIB:g} GiB (extrapolated)",
                    "lag_impl": impl,
                    "per_sample_mib": f["per_sample_mib"],
                    "max_batch": f["max_batch"],
                }
            )
    goals = {}
    for part in PARTS:
        d, f = res[(part, "dense", b2)], res[(part, "fused", b2)]
        goals[f"{part}_memory_ratio_dense_over_fused"] = goal(
            d["peak_rise_mib"] / max(f["peak_rise_mib"], 1e-3), 10.0, "x", True
        )
        goals[f"{part}_speedup_fused_over_dense"] = goal(d["time_s"] / f["time_s"], 1.0, "x", True)
    for part in ("step", "step_ckpt"):
        goals[f"{part}_max_batch_ratio_fused_over_dense"] = goal(
            fits[f"{part}_fused"]["max_batch"] / max(fits[f"{part}_dense"]["max_batch"], 1), 10.0, "x", True
        )
    report(
        "cldtrans",
        rows,
        goals,
        args.json,
        model_config=model_cfg or "CLDTransConfig defaults",
        max_batch_method=f"linear fit of the measured peak memory at B={b1} and B={b2}, extrapolated to "
        f"{BUDGET_GIB:g} GiB (not run at that batch)",
        quick=bool(args.quick),
    )


if __name__ == "__main__":
    main()

"""Sequence mixers on CPU: reference recurrence vs chunked form, forward and forward+backward.

Each case runs in a fresh subprocess; its peak memory is the rise of the process' peak RSS during one
run (Linux: the watermark ``VmHWM`` is reset through ``/proc/self/clear_refs`` first; torch's CPU
allocations are invisible to tracemalloc).
Times are medians over repeats (3 for a reference loop, 7 for a chunked form); the three cases behind the goals
(reference and chunked at the middle T, chunked at the longest, fwd+bwd) stay alive together and are timed in turn.
This machine's fp32 matmul rate (2048^3) is measured in the same run.
Mixers: gated delta rule (biodyn.ops.gated_delta) and Mamba2 SSD (biodyn.ops.ssd, state size = head dim,
one group) and selective S4D (biodyn.ops.s4d: ``head dim`` real channels with 16 complex modes each, dt in
[0.001, 0.1], S4D-Lin A; B and T as for the others). A mixer whose module does not import is listed as missing.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, parser, report

CHILD = r"""
import json, statistics, sys, time
import torch
torch.set_num_threads(int(sys.argv[7]))
mixer, impl, T, B, H, D, threads, mode, repeats = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8]), sys.argv[8], int(sys.argv[9])
torch.manual_seed(0)
if mixer == "gdn":
    from biodyn.ops.gated_delta import gated_delta_rule_chunked, gated_delta_rule_reference
    fn = gated_delta_rule_reference if impl == "reference" else gated_delta_rule_chunked
    q = torch.randn(B, T, H, D)
    k = torch.nn.functional.normalize(torch.randn(B, T, H, D), dim=-1)
    v = torch.randn(B, T, H, D)
    g = -torch.rand(B, T, H) * 0.1
    beta = torch.rand(B, T, H)
    xs = [q, k, v, g, beta]
if mixer == "ssd":
    from biodyn.ops.ssd import ssd_chunked, ssd_reference
    fn = ssd_reference if impl == "reference" else ssd_chunked
    N = D  # state size = head dim
    xs = [torch.randn(B, T, H, D), torch.rand(B, T, H) * 0.1, -torch.rand(H) - 0.5,
          torch.randn(B, T, 1, N), torch.randn(B, T, 1, N)]
if mixer == "s4d":
    from biodyn.ops.s4d import s4d_chunked, s4d_lin_init, s4d_reference
    fn = s4d_reference if impl == "reference" else s4d_chunked
    CH, N = D, 16  # selective S4D: head_dim real channels, 16 complex modes each (see the module docstring)
    xs = [torch.randn(B, T, CH), torch.rand(B, T, CH) * 0.099 + 0.001, s4d_lin_init(CH, N),
          torch.complex(torch.randn(CH, N), torch.randn(CH, N)), torch.complex(torch.randn(CH, N), torch.randn(CH, N))]
def run():
    ins = [x.clone().requires_grad_(mode == "fwdbwd" and (x.is_floating_point() or x.is_complex())) for x in xs]
    with torch.set_grad_enabled(mode == "fwdbwd"):
        o, _ = fn(*ins)
        if mode == "fwdbwd":
            o.sum().backward()
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])  # KiB
import gc; gc.collect()
open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS watermark (Linux)
base = status("VmRSS:")
run()
peak = status("VmHWM:")
print(json.dumps({"peak_mib": (peak - base) / 1024}), flush=True)
for line in sys.stdin:  # one timed run per request, so the parent can interleave cases in time
    t0 = time.perf_counter(); run()
    print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
"""


class Case:
    """One case in its own process: the first (untimed) run gives the peak memory; then :meth:`time` runs it once
    more on request. Several cases alive at once can be timed in turn, so that a slow spell of a shared machine
    hits the figures of a ratio alike instead of only one of them."""

    def __init__(self, mixer, impl, t, b, h, d, threads, mode):
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, mixer, impl, str(t), str(b), str(h), str(d),
                                      str(threads), mode, "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.peak_mib = self._read()["peak_mib"]
        self.times = []

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark case failed:\n{self.proc.stderr.read()}")
        return json.loads(line)

    def time(self):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        self.times.append(self._read()["seconds"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        return {"seconds": statistics.median(self.times), "peak_mib": self.peak_mib, "runs": len(self.times)}


def run_case(mixer, impl, t, b, h, d, threads, mode, repeats):
    case = Case(mixer, impl, t, b, h, d, threads, mode)
    for _ in range(repeats):
        case.time()
    return case.close()


def run_interleaved(cases):
    """Time ``cases`` (name -> (Case args, number of runs)) in rounds, each case in turn, until all have their runs;
    the processes are started one after another (each case's peak is measured alone)."""
    started, result = {}, {}
    for name, (args, _) in cases.items():
        started[name] = Case(*args)
    rounds = max(n for _, n in cases.values())
    for i in range(rounds):
        for name, (_, n) in cases.items():
            if i * n // rounds != (i + 1) * n // rounds:  # spread each case's runs evenly over the rounds
                started[name].time()
    for name, case in started.items():
        result[name] = case.close()
    return result


def matmul_gflops(n=2048, repeats=3):
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mixers", default="gdn,ssd,s4d", help="comma-separated subset of gdn, ssd, s4d")
    p.add_argument(
        "--max-reference-T",
        type=int,
        default=4096,
        help="skip the token loop above this T (at B4 H8 K64, T=16384 fwd+bwd was killed for memory on 24 GiB)",
    )
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        b, h, d, ts, repeats = 1, 2, 32, (512, 2048), 2
    else:
        b, h, d, ts, repeats = 4, 8, 64, (1024, 4096, 16384), 3
    gflops = matmul_gflops()
    print(f"fp32 matmul 2048^3: {gflops:.1f} GFLOP/s ({args.threads} threads)")
    rows, goals = [], {}
    modules = {"gdn": "biodyn.ops.gated_delta", "ssd": "biodyn.ops.ssd", "s4d": "biodyn.ops.s4d"}
    missing = [m for m, mod in modules.items() if importlib.util.find_spec(mod) is None]
    chosen = [m.strip() for m in args.mixers.split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(modules))
    if unknown:
        p.error(f"unknown mixer(s) {unknown}; choose from {sorted(modules)}")
    t_mid, t_long = ts[-2], ts[-1]
    chunked_repeats = (
        2 * repeats + 1
    )  # the chunked forms are cheap to repeat: more samples steady their median
    for mixer in [m for m in chosen if m not in missing]:
        # the figures behind the goals first, timed in turn so a slow spell of the machine hits a ratio's two sides
        wanted = {
            ("chunked", t_mid, "fwdbwd"): chunked_repeats,
            ("chunked", t_long, "fwdbwd"): chunked_repeats,
        }
        if t_mid <= args.max_reference_T:
            wanted[("reference", t_mid, "fwdbwd")] = repeats
        res = run_interleaved(
            {key: ((mixer, key[0], key[1], b, h, d, args.threads, key[2]), n) for key, n in wanted.items()}
        )
        for t in ts:
            for mode in ("fwd", "fwdbwd"):
                for impl in ("reference", "chunked"):
                    if impl == "reference" and t > args.max_reference_T:
                        rows.append({"mixer": mixer, "impl": impl, "T": t, "mode": mode, "B": b, "H": h,
                                     "head_dim": d, "seconds": None, "peak_mib": None,
                                     "note": f"not run: T > --max-reference-T {args.max_reference_T}"})  # fmt: skip
                        continue
                    if (impl, t, mode) not in res:
                        res[(impl, t, mode)] = run_case(mixer, impl, t, b, h, d, args.threads, mode,
                                                        repeats if impl == "reference" else chunked_repeats)  # fmt: skip
                    r = res[(impl, t, mode)]
                    rows.append({"mixer": mixer, "impl": impl, "T": t, "mode": mode, "B": b, "H": h, "head_dim": d,
                                 "seconds": r["seconds"], "peak_mib": r["peak_mib"], "runs": r["runs"],
                                 "interleaved": (impl, t, mode) in wanted})  # fmt: skip
                    print(
                        f"  {mixer} {impl:9s} T={t:6d} {mode:6s} {r['seconds']:.3f} s  {r['peak_mib']:.0f} MiB",
                        flush=True,
                    )
        chk = res[("chunked", t_mid, "fwdbwd")]
        if ("reference", t_mid, "fwdbwd") in res:
            ref = res[("reference", t_mid, "fwdbwd")]
            goals[f"{mixer}_chunk_speedup_fwdbwd_T{t_mid}"] = goal(
                ref["seconds"] / chk["seconds"], 4.0, "x", True
            )
            goals[f"{mixer}_chunk_memory_ratio_fwdbwd_T{t_mid}"] = goal(
                ref["peak_mib"] / max(chk["peak_mib"], 1e-3), 4.0, "x", True
            )
        goals[f"{mixer}_chunk_scaling_{t_long}_over_{t_mid}"] = goal(
            res[("chunked", t_long, "fwdbwd")]["seconds"] / chk["seconds"], 4.5, "x", False
        )
    report("bench_ssm", rows, goals, args.json, quick=args.quick, matmul_gflops=gflops, missing_mixers=missing,
           sizes={"B": b, "H": h, "head_dim": d, "T": list(ts)})  # fmt: skip
    if missing:
        print(f"missing mixers (not implemented yet): {', '.join(missing)}")


if __name__ == "__main__":
    main()

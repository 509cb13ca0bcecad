"""Selective S4D's automatic block size against fixed ones: fwd+bwd seconds of ``s4d_chunked`` on CPU.

``s4d_chunked`` cuts time into blocks (each a two-level scan); ``block_size=None`` picks
``biodyn.ops.s4d.s4d_block_size`` (at least 512 tokens, more while a block holds fewer than 2^21 state
entries). Each shape ``(B, T, H, N)`` is timed at several fixed block sizes and at the automatic one, every
size once per repeat in turn (so a slow spell of a shared machine falls on all of them alike), medians over
the repeats. Shapes: PRISM's S4 layers in the speed benchmark (B 1, H 64, N 32 at T 16k), a narrower layer,
and batches of 4 and 16. Goal per shape: the automatic size at most 10 % slower than the best fixed size
measured; the JSON also gives its speed-up over the former fixed default of 512 tokens.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, paired_median_times, parser, report

FULL = [(1, 16384, 64, 32), (1, 16384, 32, 16), (4, 4096, 64, 32), (16, 1024, 64, 32)]
QUICK = [(1, 2048, 16, 8), (4, 512, 16, 8)]
FIXED = (128, 256, 512, 1024, 2048, 4096)
OLD_DEFAULT = 512


def _inputs(b, t, h, n):
    import torch

    from biodyn.ops.s4d import s4d_lin_init

    g = torch.Generator().manual_seed(0)
    u = torch.randn(b, t, h, generator=g)
    dt = torch.rand(b, t, h, generator=g) * 0.099 + 0.001
    bc = [torch.complex(torch.randn(h, n, generator=g), torch.randn(h, n, generator=g)) for _ in range(2)]
    return [z.requires_grad_(True) for z in (u, dt, s4d_lin_init(h, n), *bc)]


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import torch

    from biodyn.ops.s4d import s4d_block_size, s4d_chunked

    torch.set_num_threads(args.threads)
    shapes, repeats = (QUICK, 2) if args.quick else (FULL, 5)
    rows, goals = [], {}
    for b, t, h, n in shapes:
        xs = _inputs(b, t, h, n)
        auto = s4d_block_size(b, h, n)
        sizes = sorted({s for s in FIXED if s <= t} | {OLD_DEFAULT, auto})

        def fb(size, xs=xs):
            y, _ = s4d_chunked(*xs, chunk_size=32, block_size=size)
            y.sum().backward()

        secs = dict(zip(sizes, paired_median_times([lambda s=s: fb(s) for s in sizes], repeats)))
        for s in sizes:
            rows.append(
                {"B": b, "T": t, "H": h, "N": n, "block_size": s, "auto": s == auto, "fwdbwd_s": secs[s]}
            )
        best = min(secs, key=secs.get)
        tag = f"B{b}_T{t}_H{h}_N{n}"
        goals[f"auto_block_over_best_{tag}"] = {
            **goal(secs[auto] / secs[best], 1.1, "x", False),
            "auto": auto,
            "best": best,
            "speedup_over_512": secs[OLD_DEFAULT] / secs[auto],
        }
        print(
            f"  {tag}: auto {auto} {secs[auto]:.3f} s, best {best} {secs[best]:.3f} s, "
            f"512 {secs[OLD_DEFAULT]:.3f} s",
            flush=True,
        )
    report(
        "bench_s4d_blocks", rows, goals, args.json, quick=args.quick, threads=args.threads, repeats=repeats
    )


if __name__ == "__main__":
    main()

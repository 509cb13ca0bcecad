"""CLD-Trans stage-1 pretraining: does the motif VQ-VAE learn beside the LD-SEM objective?

Stage 1 of CLD-Trans trains the motif tokenizer (reconstruction + VQ commitment) and the amortised lag
encoder (LD-SEM) together; the lag encoder reads the motif latents, so the LD-SEM gradient reaches the
tokenizer through them, scaled by ``model.ldsem_latent_grad``. Each case is one ``python -m
biodyn.cldtrans mode=stage1 profile=cpu`` run (a subprocess, its own output folder, one shared window
cache) on the bundled EEGMMIDB sample and the PTB-XL records of folds 1-8 with a 500 Hz copy (the data the
CPU-sized evaluation pretrains on), for every pair of ``ldsem_latent_grad`` and ``vq_decay`` asked for.

Per case: the reconstruction MSE (the windows are z-scored, so ~1 means nothing is reconstructed) as the
mean of the first and of the last 10 logged steps, the LD-SEM NLL of the last 10 steps, and the share of
the 512 codes used and their perplexity on the last batch (``results.json``'s ``codebook``). Goals at the
defaults (``ldsem_latent_grad`` 0.1, the cpu profile's ``vq_decay`` 0.8): last/first reconstruction
<= 0.6 and codebook usage >= 0.5.

    python benchmarks/bench_cldtrans_tokenizer.py --json benchmarks/results/cldtrans_tokenizer.json
    python benchmarks/bench_cldtrans_tokenizer.py --quick          # EEG only, 20 steps
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, parser, report

DEFAULTS = (0.1, 0.8)  # (ldsem_latent_grad, the cpu profile's vq_decay)


def run_case(grad: float, decay: float, steps: int, corpora: str, work: Path, threads: int) -> dict:
    """One stage-1 training; returns its row."""
    out = work / f"g{grad:g}_d{decay:g}"
    overrides = [
        "mode=stage1",
        "profile=cpu",
        f"data.corpora=[{corpora}]",
        f"data.cache_dir={work / 'cache'}",
        f"train.max_steps={steps}",
        f"train.out_dir={out}",
        f"model.vq_decay={decay}",
        f"model.ldsem_latent_grad={grad}",
    ]
    if "ptbxl" in corpora:  # folds 1-8 only, all records of the sample (the CPU-sized evaluation's data)
        overrides += ["+data.splits.ptbxl=[train]", "data.limit=null"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "biodyn.cldtrans", *overrides], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"stage-1 run g={grad} decay={decay} failed:\n{proc.stderr[-2000:]}")
    log = [json.loads(line) for line in (out / "stage1" / "log.jsonl").read_text().splitlines()]
    train = [r for r in log if r.get("kind") == "train"]
    cb = json.loads((out / "stage1" / "results.json").read_text())["codebook"] or {}
    first = statistics.mean(r["loss_recon"] for r in train[:10])
    last = statistics.mean(r["loss_recon"] for r in train[-10:])
    return {
        "ldsem_latent_grad": grad,
        "vq_decay": decay,
        "steps": len(train),
        "recon_first10": first,
        "recon_last10": last,
        "recon_last_over_first": last / first,
        "ldsem_nll_last10": statistics.mean(r["loss_ldsem_nll"] for r in train[-10:]),
        "codebook_usage": cb.get("codebook_usage"),
        "codebook_perplexity": cb.get("codebook_perplexity"),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100, help="stage-1 steps per case")
    p.add_argument("--grads", type=float, nargs="+", default=[1.0, 0.1, 0.0], help="ldsem_latent_grad values")
    p.add_argument("--decays", type=float, nargs="+", default=[0.99, 0.8], help="vq_decay values")
    p.add_argument("--threads", type=int, default=1, help="threads per training")
    args = p.parse_args()
    corpora = "eegmmidb,ptbxl"
    if args.quick:
        corpora, args.steps, args.grads, args.decays = "eegmmidb", 20, [1.0, 0.1], [0.8]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_tokenizer_") as tmp:
        for decay in args.decays:
            for grad in args.grads:
                rows.append(run_case(grad, decay, args.steps, corpora, Path(tmp), args.threads))
                r = rows[-1]
                print(
                    f"  g={grad:g} decay={decay:g}: recon {r['recon_first10']:.3f} -> {r['recon_last10']:.3f}, "
                    f"usage {r['codebook_usage']:.3f}, {r['wall_s']:.0f} s",
                    flush=True,
                )
    goals = {}
    default = [r for r in rows if (r["ldsem_latent_grad"], r["vq_decay"]) == DEFAULTS]
    if default:
        d = default[0]
        goals["recon_last_over_first_at_defaults"] = goal(d["recon_last_over_first"], 0.6, "x", False)
        goals["codebook_usage_at_defaults"] = goal(d["codebook_usage"], 0.5, "share of codes", True)
    report(
        "cldtrans_tokenizer",
        rows,
        goals,
        args.json,
        corpora=corpora,
        profile="cpu",
        codebook="usage and perplexity of the last training batch",
        quick=bool(args.quick),
    )


if __name__ == "__main__":
    main()

"""``biodyn cldtrans mode=stage1 train.max_steps=1`` (also ``python -m biodyn.cldtrans ...``): CLD-Trans
training, one stage, from ``configs/cldtrans/`` with Hydra overrides; torchrun-aware (rank 0 reports).

Prints one JSON line: the mode, ablation, last step, the last training row's losses and the codebook's
usage and perplexity."""

from __future__ import annotations

import argparse

PASS_THROUGH = True  # key=value arguments reach run() as args.overrides


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [--print-config] [--force] [KEY=VALUE ...]"
    parser.epilog = (
        "KEY=VALUE: Hydra overrides of configs/cldtrans/, e.g. mode=stage1|stage2, ablation=none|no_vq|no_lag|"
        "integer_lag|no_ode, profile=cpu|gpu, train.max_steps=N, train.device=auto|cpu|cuda[:N], "
        "train.out_dir=DIR (default runs/cldtrans, relative to the current folder), data.cache_dir=DIR (default "
        "<train.out_dir>/cache), +data.roots.NAME=DIR. Unknown keys are errors. "
        "Example: python -m biodyn.cldtrans mode=stage1 train.max_steps=1"
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in <train.out_dir>/<mode> (without train.resume=true or --force it is "
        "refused)",
    )


def run(args) -> int:
    import json
    import os

    from omegaconf import OmegaConf

    from biodyn.errors import ConfigError
    from biodyn.systems.cldtrans import compose, run_cldtrans
    from biodyn.train.distributed import init_from_env, shutdown

    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        raise ConfigError(f"arguments must be key=value Hydra overrides, got {bad}")
    run_cfg = compose(args.overrides)
    if args.print_config:
        print(OmegaConf.to_yaml(OmegaConf.structured(run_cfg)))
        return 0
    init_from_env()
    try:
        res = run_cldtrans(run_cfg, force=args.force)
    finally:
        shutdown()
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun rank 0 reports
        return 0
    row = res.get("last_train_row") or {}
    losses = {k: v for k, v in row.items() if k.startswith("loss")}
    summary = {"mode": res["mode"], "ablation": res["ablation"], "step": res["train_summary"]["step"]}
    print(json.dumps({**summary, **losses, **(res.get("codebook") or {})}))
    return 0

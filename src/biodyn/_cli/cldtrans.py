"""``biodyn cldtrans mode=stage1 train.max_steps=1`` (also ``python -m biodyn.cldtrans ...``): CLD-Trans
training, one stage: an alias of ``biodyn train system=cldtrans ...`` (the same config, ``configs/cldtrans/``
with Hydra overrides, the same run; torchrun-aware, rank 0 reports).

Prints one JSON line: the mode, ablation, last step, the last training row's losses and the codebook's
usage and perplexity."""

from __future__ import annotations

import argparse

PASS_THROUGH = True  # key=value arguments reach run() as args.overrides


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from biodyn._cli.train import add_common_arguments

    parser.usage = "%(prog)s [--print-config] [--config-dir DIR] [--force] [KEY=VALUE ...]"
    parser.epilog = (
        "KEY=VALUE: Hydra overrides of configs/cldtrans/, e.g. mode=stage1|stage2, ablation=none|no_vq|no_lag|"
        "integer_lag|no_ode, profile=cpu|gpu, train.max_steps=N, train.device=auto|cpu|cuda[:N], "
        "train.out_dir=DIR (default runs/cldtrans, relative to the current folder; the stage's run folder is "
        "DIR/<mode>), train.resume=true, data.cache_dir=DIR (default <train.out_dir>/cache), "
        "+data.roots.NAME=DIR. Unknown keys are errors. Example: python -m biodyn.cldtrans mode=stage1 "
        "train.max_steps=1 (= biodyn train system=cldtrans mode=stage1 train.max_steps=1)"
    )
    add_common_arguments(parser)  # --config-dir, --print-config
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the stage's run already in train.out_dir (without train.resume=true or --force it is "
        "refused)",
    )


def run(args) -> int:
    from biodyn._cli.train import run_cldtrans_system, split_system
    from biodyn.errors import ConfigError

    system, overrides = split_system(args.overrides)
    if any(o.partition("=")[0] == "system" for o in args.overrides) and system != "cldtrans":
        raise ConfigError(
            f"biodyn cldtrans trains CLD-Trans; system={system} is `biodyn train system={system}`"
        )
    return run_cldtrans_system(args, overrides)

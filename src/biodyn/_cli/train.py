"""``biodyn train experiment=NAME key=value ...`` (Hydra overrides; torchrun-aware)."""

from __future__ import annotations

import argparse

from biodyn._cli._common import SEEDS_HELP
from biodyn._cli._common import seeds as parse_seeds

PASS_THROUGH = True  # key=value arguments reach run() as args.overrides


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir",
        default=None,
        help="Hydra config tree (default: $BIODYN_CONFIG_DIR or the packaged biodyn/configs)",
    )
    parser.add_argument("--fewshot", action="store_true", help="run the few-shot protocol (budgets x seeds)")
    parser.add_argument("--budgets", default="0.01,0.1,1.0", help="few-shot label budgets (fractions)")
    parser.add_argument("--seeds", default=None, help=f"few-shot seeds; {SEEDS_HELP}")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in train.out_dir (without train.resume=true or --force it is refused)",
    )


def run(args) -> int:
    import json

    from omegaconf import OmegaConf

    from biodyn.errors import ConfigError
    from biodyn.train.distributed import init_from_env, shutdown
    from biodyn.train.experiment import compose_config, run_experiment, run_fewshot, to_dataclass

    bad = [o for o in args.overrides if "=" not in o]
    if bad:
        raise ConfigError(f"biodyn train: arguments must be key=value Hydra overrides, got {bad}")
    cfg = compose_config(args.overrides, config_dir_=args.config_dir)
    exp = to_dataclass(cfg)  # range-checks every setting, so --print-config validates as a run does
    if args.print_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    from biodyn.rundir import check_device, check_new_run, check_out_dir, clear_run

    check_device(exp.train.device, "train.device")
    if args.fewshot:
        check_out_dir(exp.results_dir, "results_dir")
    else:
        if args.force and exp.train.resume:
            raise ConfigError(
                "train.resume=true and --force exclude each other: resume continues the run, "
                "--force replaces it"
            )
        check_new_run(
            exp.train.out_dir,
            resume=exp.train.resume,
            force=args.force,
            key="train.out_dir",
            resume_hint="add train.resume=true",
            force_hint="add --force",
        )
        if args.force:
            clear_run(exp.train.out_dir)
    init_from_env()
    try:
        if args.fewshot:
            budgets = [float(b) for b in args.budgets.split(",")]
            seeds = list(parse_seeds(args.seeds))
            for p in run_fewshot(exp, budgets=budgets, seeds=seeds):
                print(p)
        else:
            import os

            res = run_experiment(exp)
            if int(os.environ.get("RANK", "0")) == 0:
                print(
                    json.dumps(
                        {k: res[k] for k in ("experiment", "model", "metrics", "train_summary")}, indent=2
                    )
                )
    finally:
        shutdown()
    return 0

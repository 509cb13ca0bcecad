"""``biodyn eval RUN_DIR --split test``: evaluate a checkpoint and write JSON."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a training run folder (config.yaml + checkpoints/)")
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument(
        "--json", default=None, help="write the metrics here (default: RUN_DIR/eval_<split>.json)"
    )


def run(args) -> int:
    from pathlib import Path

    from biodyn.atomic import atomic_write_json
    from biodyn.train.evaluate import dumps, evaluate_run

    res = evaluate_run(args.run_dir, which=args.checkpoint, split=args.split)
    atomic_write_json(args.json or Path(args.run_dir) / f"eval_{args.split}.json", res)
    print(dumps(res))
    return 0

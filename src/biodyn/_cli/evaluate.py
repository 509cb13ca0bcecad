"""``biodyn eval RUN_DIR --split test``: evaluate a checkpoint and write JSON."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a training run folder (config.yaml + checkpoints/)")
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "dev", "eval"),
                        help="dev/eval: the seizure report of a seizure run (eval_results.json + PNG)")  # fmt: skip
    parser.add_argument("--post", nargs="*", default=[], metavar="KEY=VALUE",
                        help="seizure post-processing overrides (hysteresis_gap, opening_samples, closing_samples, "
                             "merge_gap_s, min_duration_s, max_duration_s)")  # fmt: skip
    parser.add_argument(
        "--json", default=None, help="write the metrics here (default: RUN_DIR/eval_<split>.json)"
    )


def run(args) -> int:
    import json
    from pathlib import Path

    from biodyn.atomic import atomic_write_json
    from biodyn.train.evaluate import dumps, evaluate_run

    if args.split in ("dev", "eval"):
        from biodyn.metrics.postprocess import parse_post
        from biodyn.systems.seizure import evaluate_seizure_run

        res = evaluate_seizure_run(
            args.run_dir, split=args.split, which=args.checkpoint, post=parse_post(args.post)
        )
        if args.json:
            atomic_write_json(args.json, res)
        rows = res["operating_points"]
        for r in rows:
            ev = r["eval"] or {}
            print(f"{r['target_fa_per_24h']:>5g} FA/24h: threshold {r['threshold']}, {args.split} sensitivity "
                  f"{ev.get('sensitivity')}, FA/24h {ev.get('fa_per_24h')}")  # fmt: skip
        print(json.dumps(res["sample_metrics"], indent=2))
        print(f"wrote {Path(args.run_dir) / 'eval_results.json'} and eval_results.png")
        return 0
    res = evaluate_run(args.run_dir, which=args.checkpoint, split=args.split)
    atomic_write_json(args.json or Path(args.run_dir) / f"eval_{args.split}.json", res)
    print(dumps(res))
    return 0

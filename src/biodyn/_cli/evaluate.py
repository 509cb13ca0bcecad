"""``biodyn eval RUN_DIR --split test``: evaluate a run's checkpoint with the metrics its task defines and write
JSON. The run chooses the scoring (a ``seizure`` run: the event-scoring report of :mod:`biodyn.systems.seizure`;
any other: the task's metrics); ``--split`` chooses only the split (``dev``/``eval`` are the seizure corpora's
names for ``val``/``test``)."""

from __future__ import annotations

import argparse

SPLITS = {"train": "train", "val": "val", "test": "test", "dev": "val", "eval": "test"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a training run folder (config.yaml + checkpoints/)")
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    parser.add_argument(
        "--split",
        default=None,
        choices=tuple(SPLITS),
        help="the split to evaluate (default test; dev = val, eval = test); the run's task picks the "
        "metrics (a seizure run: the event-scoring report, eval_results.json + PNG; a focal-lead run has no "
        "splits: top-1/3/5 over its seizures)",
    )
    parser.add_argument(
        "--post",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="seizure post-processing overrides (hysteresis_gap, opening_samples, closing_samples, "
        "merge_gap_s, min_duration_s, max_duration_s)",
    )
    parser.add_argument(
        "--json", default=None, help="write the metrics here (default: RUN_DIR/eval_<split>.json)"
    )


def run(args) -> int:
    import json
    from pathlib import Path

    from biodyn.atomic import atomic_write_json
    from biodyn.train.evaluate import dumps, evaluate_run, run_system, run_task

    split = SPLITS[args.split or "test"]
    system = run_system(args.run_dir)  # read once: it decides which evaluation the run gets
    if args.json:  # before the evaluation (exit 8 naming --json, not the OS's error after the work)
        from biodyn.rundir import check_out_file

        check_out_file(args.json, "--json")
    if system == "cldtrans_focal":  # a focal-lead run: its rankings recomputed from what it stored
        from biodyn.errors import ConfigError
        from biodyn.systems.cldtrans.evaluate import evaluate_focal_run

        if args.post or args.split:
            raise ConfigError(
                f"{'--post' if args.post else '--split'}: a focal-lead run has no "
                f"{'post-processing' if args.post else 'splits'} (it scores every seizure it ranked)"
            )
        res = evaluate_focal_run(args.run_dir)
        atomic_write_json(args.json or Path(args.run_dir) / "eval_focal.json", res)
        m = res["metrics"]
        print(
            f"{res['method']} seed {res['seed']}: top1 {m['top1']:.3f} top3 {m['top3']:.3f} "
            f"top5 {m['top5']:.3f} over {m['n_seizures']} seizures"
        )
        return 0
    if system == "prism":  # a PRISM run (biodyn prism): its data and its task's metrics
        from biodyn.systems.prism import evaluate_prism_run

        if args.post:
            from biodyn.errors import ConfigError

            raise ConfigError(
                "--post applies to a seizure run's event scoring; a PRISM run has no post-processing"
            )
        res = evaluate_prism_run(args.run_dir, which=args.checkpoint, split=split)
        atomic_write_json(args.json or Path(args.run_dir) / f"eval_{split}.json", res)
        print(dumps(res))
        return 0
    if system == "cldtrans_fewshot":  # a cell of the few-shot grid: its data as the grid built it
        from biodyn.systems.cldtrans.fewshot_grid import evaluate_cell

        res = evaluate_cell(args.run_dir, which=args.checkpoint, split=split)
        atomic_write_json(args.json or Path(args.run_dir) / f"eval_{split}.json", res)
        print(dumps(res))
        return 0
    if system == "cldtrans":  # a CLD-Trans stage: the terms of its objective
        from biodyn.systems.cldtrans.evaluate import evaluate_cldtrans_run

        res = evaluate_cldtrans_run(args.run_dir, which=args.checkpoint)
        atomic_write_json(args.json or Path(args.run_dir) / "eval_objective.json", res)
        print(dumps(res))
        return 0
    if run_task(args.run_dir) == "seizure":
        from biodyn.metrics.postprocess import parse_post
        from biodyn.systems.seizure import evaluate_seizure_run

        res = evaluate_seizure_run(
            args.run_dir, split=split, which=args.checkpoint, post=parse_post(args.post)
        )
        if args.json:
            atomic_write_json(args.json, res)
        rows = res["operating_points"]
        for r in rows:
            ev = r["eval"] or {}
            print(
                f"{r['target_fa_per_24h']:>5g} FA/24h: threshold {r['threshold']}, {split} sensitivity "
                f"{ev.get('sensitivity')}, FA/24h {ev.get('fa_per_24h')}"
            )
        print(json.dumps(res["sample_metrics"], indent=2))
        print(f"wrote {Path(args.run_dir) / 'eval_results.json'} and eval_results.png")
        return 0
    if args.post:
        from biodyn.errors import ConfigError

        raise ConfigError(
            "--post applies to a seizure run's event scoring; this run's task has no post-processing"
        )
    res = evaluate_run(args.run_dir, which=args.checkpoint, split=split)
    atomic_write_json(args.json or Path(args.run_dir) / f"eval_{split}.json", res)
    print(dumps(res))
    return 0

"""``biodyn fewshot``: the few-shot transfer grid (datasets x models x budgets x seeds x probe / fine-tune)."""

from __future__ import annotations

from biodyn._cli._common import SEEDS_HELP
from biodyn._cli._common import seeds as parse_seeds


def add_arguments(p) -> None:
    p.add_argument(
        "--datasets", default="chbmit,ptbxl,sleepedf", help="comma-separated: chbmit, ptbxl, sleepedf"
    )
    p.add_argument(
        "--models",
        default="biot,bendr,eeg_gcnn",
        help="registered model names, or labels given --weights (cldtrans=DIR, cldtrans_no_vq=DIR, ...)",
    )
    p.add_argument(
        "--budgets", default="0.01,0.1,1.0", help="label budgets (fractions of what --budget-unit counts)"
    )
    p.add_argument(
        "--budget-unit",
        action="append",
        default=[],
        metavar="DATASET=UNIT",
        help="what a budget counts per dataset: subject (a fraction of the training patients, the default) or "
        "window (a fraction of the training windows, by class); the cpu preset counts the CHB-MIT "
        "excerpts' windows (one training patient), the full preset CHB-MIT's and Sleep-EDF's windows",
    )
    p.add_argument("--seeds", default=None, help=SEEDS_HELP)
    p.add_argument("--modes", default="linear_probe,finetune")
    p.add_argument(
        "--preset",
        choices=("cpu", "full"),
        default="cpu",
        help="configs/fewshot/<preset>.yaml; cpu: tiny models and steps on the bundled samples; full: "
        "paper-sized on full corpora (GPU)",
    )
    p.add_argument(
        "--root", action="append", default=[], metavar="DATASET=FOLDER", help="corpus root per dataset"
    )
    p.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="LABEL=FOLDER",
        help="trained weights for a model label (an export or a Trainer checkpoint, e.g. the train.out_dir of "
        "python -m biodyn.cldtrans): every weight but the head is copied; the label may be new "
        "(cldtrans_no_vq=DIR)",
    )
    p.add_argument(
        "--out",
        default="results",
        help="results folder; finished cells are skipped (one run with other settings is an error)",
    )
    p.add_argument("--force", action="store_true",
                   help="run again, and replace, finished cells whose settings differ from this run's")  # fmt: skip
    p.add_argument("--cache-dir", default="cache/fewshot")
    p.add_argument("--experiment", default="fewshot")
    p.add_argument("--json", metavar="OUT", help="also write the list of cell files as JSON")
    p.add_argument("--print-config", action="store_true", help="print the resolved grid config and exit")


def run(args) -> int:
    from biodyn._cli._common import write_json
    from biodyn.errors import ConfigError, check_option
    from biodyn.systems.cldtrans import fewshot_grid as fg
    from biodyn.train.config import BUDGET_UNITS

    preset = fg.load_preset(args.preset)
    for item in args.budget_unit:
        dataset, sep, unit = item.partition("=")
        if not sep:
            raise ConfigError(f"--budget-unit {item!r}: expected DATASET=UNIT, e.g. chbmit=window")
        check_option("dataset", dataset, fg.DATASETS)
        check_option("--budget-unit", unit, BUDGET_UNITS)
        preset.setdefault("budget_unit", {})[dataset] = unit
    grid = fg.GridConfig(
        datasets=tuple(args.datasets.split(",")), models=tuple(args.models.split(",")),
        budgets=tuple(float(b) for b in args.budgets.split(",")), seeds=parse_seeds(args.seeds),
        modes=tuple(args.modes.split(",")), experiment=args.experiment, cache_dir=args.cache_dir,
        roots=dict(r.split("=", 1) for r in args.root), weights=dict(w.split("=", 1) for w in args.weights),
        **preset,
    )  # fmt: skip
    if args.print_config:
        import json
        from dataclasses import asdict

        import yaml

        print(yaml.safe_dump(json.loads(json.dumps(asdict(grid))), sort_keys=False), end="")
        return 0
    paths = fg.run_grid(grid, args.out, force=args.force)
    print(f"{len(paths)} cells under {args.out}/{args.experiment}; tables: biodyn report {args.out}")
    write_json(args.json, {"cells": [str(p) for p in paths]})
    return 0

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
        help="results folder (default: ./results, relative to the current folder); finished cells are skipped (one run with other settings is an error)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run again, and replace, finished cells whose settings differ from this run's",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="window caches (default: OUT/cache, inside --out; give a shared folder to reuse caches)",
    )
    p.add_argument("--experiment", default="fewshot")
    p.add_argument("--json", metavar="OUT", help="also write the list of cell files as JSON")
    p.add_argument("--print-config", action="store_true", help="print the resolved grid config and exit")


def run(args) -> int:
    from pathlib import Path

    from biodyn._cli._common import floats, names, pairs, write_json
    from biodyn.errors import check_option, check_range
    from biodyn.rundir import check_out_dir, check_out_file
    from biodyn.systems.cldtrans import fewshot_grid as fg
    from biodyn.train.config import BUDGET_UNITS

    # every flag checked before the preset's data is touched or a cache folder made
    preset = fg.load_preset(args.preset)
    for dataset, unit in pairs(
        args.budget_unit, "--budget-unit", "DATASET=UNIT, e.g. chbmit=window", fg.DATASETS
    ).items():
        check_option("--budget-unit", unit, BUDGET_UNITS)
        preset.setdefault("budget_unit", {})[dataset] = unit
    budgets = floats(args.budgets, "--budgets")
    for b in budgets:
        check_range("--budgets", b, low=0, high=1, low_open=True)
    cache_dir = args.cache_dir or str(Path(args.out) / "cache")
    check_out_dir(args.out, "--out")
    check_out_dir(cache_dir, "--cache-dir")
    if args.json:
        check_out_file(args.json, "--json")
    grid = fg.GridConfig(
        datasets=names(args.datasets, "--datasets", fg.DATASETS),
        models=names(args.models, "--models"),
        budgets=budgets,
        seeds=parse_seeds(args.seeds),
        modes=names(args.modes, "--modes", fg.MODES),
        experiment=args.experiment,
        cache_dir=cache_dir,
        roots=pairs(args.root, "--root", "DATASET=FOLDER", fg.DATASETS),
        weights=pairs(args.weights, "--weights", "LABEL=FOLDER"),
        **preset,
    )
    from biodyn.errors import ConfigError, DataRootError

    for flag, given in (("--root", grid.roots), ("--weights", grid.weights)):
        for name, folder in given.items():
            if not Path(folder).exists():  # a missing data folder is exit 6, as everywhere
                raise (DataRootError if flag == "--root" else ConfigError)(
                    f"{flag} {name}={folder}: no such folder"
                )
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

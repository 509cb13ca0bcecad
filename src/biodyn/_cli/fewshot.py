"""``biodyn fewshot``: the few-shot transfer grid (datasets x models x budgets x seeds x probe / fine-tune), an
alias of ``biodyn train system=fewshot``.

Each flag becomes an override of the config that ``biodyn train system=fewshot`` composes (schema
:class:`~biodyn.systems.cldtrans.fewshot_grid.FewshotRun`): ``--preset full`` is ``preset=full`` (``cpu``
when not given), ``--models a,b`` is ``models=[a,b]``, ``--root D=DIR`` is ``++roots.D=DIR``,
``--budget-unit D=U`` is ``++budget_unit.D=U`` (over the preset's), ``--cache-dir`` is ``cache_dir``. Hydra
and the schema check the keys, types and ranges before any cache folder is made.
"""

from __future__ import annotations

from biodyn._cli._common import SEEDS_HELP, add_typed_flags

# comma-separated flags -> (FewshotRun list field, help)
_LISTS = {
    "--datasets": ("datasets", "comma-separated: chbmit, ptbxl, sleepedf"),
    "--models": (
        "models",
        "registered model names, or labels given --weights (cldtrans=DIR, cldtrans_no_vq=DIR, ...)",
    ),
    "--modes": ("modes", "comma-separated: linear_probe, finetune"),
}
# repeatable NAME=VALUE flags -> (FewshotRun mapping field, metavar, help)
_PAIRS = {
    "--root": ("roots", "DATASET=FOLDER", "corpus root per dataset"),
    "--budget-unit": (
        "budget_unit",
        "DATASET=UNIT",
        "what a budget counts per dataset: subject (a fraction of the training patients, the default) or "
        "window (a fraction of the training windows, by class); the cpu preset counts the CHB-MIT "
        "excerpts' windows (one training patient), the full preset CHB-MIT's and Sleep-EDF's windows",
    ),
    "--weights": (
        "weights",
        "LABEL=FOLDER",
        "trained weights for a model label (an export or a Trainer checkpoint, e.g. the train.out_dir of "
        "python -m biodyn.cldtrans): every weight but the head is copied; the label may be new "
        "(cldtrans_no_vq=DIR)",
    ),
}
# flag -> (FewshotRun field, type, help)
_FLAGS = {
    "--out": (
        "out",
        str,
        "results folder, relative to the current folder; finished cells are skipped (one run with other "
        "settings is an error)",
    ),
    "--cache-dir": (
        "cache_dir",
        str,
        "window caches (default: OUT/cache; give a shared folder to reuse caches)",
    ),
    "--experiment": ("experiment", str, "the results' experiment folder"),
}


def add_arguments(p) -> None:
    from biodyn.systems.cldtrans.fewshot_grid import FewshotRun

    d = FewshotRun()
    for flag, (dest, help_) in _LISTS.items():
        p.add_argument(flag, dest=dest, default=None, help=f"{help_} (default: {','.join(getattr(d, dest))})")
    p.add_argument(
        "--budgets",
        default=None,
        help="label budgets: fractions of what --budget-unit counts (default: "
        f"{','.join(map(str, d.budgets))})",
    )
    p.add_argument("--seeds", default=None, help=SEEDS_HELP)
    for flag, (dest, metavar, help_) in _PAIRS.items():
        p.add_argument(flag, dest=dest, action="append", default=[], metavar=metavar, help=help_)
    add_typed_flags(p, _FLAGS, d)
    p.add_argument(
        "--preset",
        choices=("cpu", "full"),
        default=None,
        help="preset=NAME, configs/fewshot/preset/<NAME>.yaml; cpu (the default): tiny models and steps on the "
        "bundled samples; full: paper-sized on full corpora (GPU)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run again, and replace, finished cells whose settings differ from this run's",
    )
    p.add_argument("--json", metavar="OUT", help="also write the list of cell files as JSON")
    from biodyn._cli.train import add_common_arguments

    add_common_arguments(p)  # --config-dir, --print-config


def overrides(args) -> list[str]:
    """The flags as overrides of ``configs/fewshot/`` (``--models biot`` -> ``models=['biot']``): ``biodyn train
    system=fewshot`` with these overrides composes the same config."""
    from biodyn._cli._common import flag_overrides, floats, listed, pairs, quoted
    from biodyn._cli._common import seeds as parse_seeds

    out = [f"preset={args.preset}"] if args.preset else []
    out += flag_overrides(args, _FLAGS, _LISTS)
    if args.budgets is not None:
        out.append(f"budgets={listed(floats(args.budgets, '--budgets'))}")
    if args.seeds is not None:
        out.append(f"seeds={listed(parse_seeds(args.seeds))}")
    for flag, (dest, metavar, _) in _PAIRS.items():
        out += [f"++{dest}.{k}={quoted(v)}" for k, v in pairs(getattr(args, dest), flag, metavar).items()]
    return out


def run(args) -> int:
    from biodyn._cli.train import compose_experiment, run_fewshot_system

    cfg = compose_experiment("fewshot", args, overrides(args))  # checked before any cache folder is made
    if args.json and not args.print_config:
        from biodyn.rundir import check_out_file

        check_out_file(args.json, "--json")
    return run_fewshot_system(args, [], cfg=cfg, json_path=args.json)

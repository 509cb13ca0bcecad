"""``biodyn report RESULTS_DIR``: seeds -> mean ± 95 % CI tables (markdown, LaTeX) and PNG figures."""

from __future__ import annotations

import argparse

from biodyn._cli._common import SEEDS_HELP
from biodyn._cli._common import seeds as parse_seeds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results_dir", help="folder holding <experiment>/<model>/<task>/<budget>/seed<k>.json"
    )
    parser.add_argument("--out", default=None, help="output folder (default: RESULTS_DIR/report)")
    parser.add_argument("--seeds", default=None, help=f"seeds expected per cell, gaps marked; {SEEDS_HELP}")


def run(args) -> int:
    from pathlib import Path

    from biodyn.report import make_report
    from biodyn.rundir import check_out_dir

    seeds = list(parse_seeds(args.seeds))
    if args.out is not None:  # before a seed file is read
        check_out_dir(args.out, "--out")
    elif Path(args.results_dir).is_dir():
        check_out_dir(Path(args.results_dir) / "report", "RESULTS_DIR/report")
    res = make_report(args.results_dir, args.out, seeds=seeds)
    print(open(res["report"]).read())
    for f in [res["latex"], *res["figures"]]:
        print(f)
    return 0

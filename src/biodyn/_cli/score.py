"""``biodyn score REF_LIST HYP_LIST [--method overlap|taes|epoch|dpalign|ira|all] [--json OUT]``."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("ref_list", help="list of reference annotation files (.csv_bi/.csv/.tse_bi), one per line")
    p.add_argument("hyp_list", help="list of hypothesis annotation files, in the same order")
    p.add_argument(
        "--method",
        default="all",
        choices=["overlap", "epoch", "ira", "all"],
        help="scoring method (TAES and DP alignment are not implemented yet)",
    )
    p.add_argument("--nfc", help="value of $NEDC_NFC in the lists (default: two folders above the list's)")
    p.add_argument("--json", metavar="OUT", help="write per-method, per-label counts and rates as JSON")


def run(args) -> int:
    from biodyn._cli._common import write_json
    from biodyn.metrics.nedc import METHODS, format_summary, read_list, score_files

    methods = METHODS if args.method == "all" else (args.method,)
    ref, hyp = read_list(args.ref_list, args.nfc), read_list(args.hyp_list, args.nfc)
    results = score_files(ref, hyp, methods)
    print(format_summary(results))
    write_json(args.json, {m: r.to_dict() for m, r in results.items()})
    return 0

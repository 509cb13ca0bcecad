"""``biodyn score REF_LIST HYP_LIST [--method overlap|taes|epoch|dpalign|ira|all] [--json OUT]``."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument(
        "ref_list", help="list of reference annotation files (.csv_bi/.csv/.tse_bi/.json), one per line"
    )
    p.add_argument("hyp_list", help="list of hypothesis annotation files, in the same order")
    p.add_argument(
        "--method",
        default="all",
        choices=["dpalign", "epoch", "overlap", "taes", "ira", "all"],
        help="scoring method (default: all five)",
    )
    p.add_argument(
        "--nfc",
        help="value of $NEDC_NFC in the lists (default: $NEDC_NFC, else two folders above the list's)",
    )
    p.add_argument(
        "--params",
        metavar="TOML",
        help="NEDC parameter file (nedc_eeg_eval_params_v00.toml: label map, DP penalties, epoch duration); "
        "default: NEDC's two-class seizure defaults",
    )
    p.add_argument(
        "--per-file",
        action="store_true",
        help="print NEDC's per-file blocks (label sequences and counts) before the summary",
    )
    p.add_argument(
        "--szcore",
        action="store_true",
        help="also score with SzCORE (timescoring: 30 s before, 60 s after, merge < 90 s, split > 5 min)",
    )
    p.add_argument("--json", metavar="OUT", help="write per-method, per-label counts and rates as JSON")


def run(args) -> int:
    import sys

    from biodyn.errors import BiodynError

    try:
        return _run(args)
    except BiodynError as e:  # bad input: one clear line naming the file/parameter, no traceback
        print(f"biodyn: error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from biodyn._cli._common import write_json
    from biodyn.io.events import read_annotation_files, read_nedc_list, read_nedc_params
    from biodyn.metrics.nedc import METHODS, NedcParams, format_summary, score_annotations
    from biodyn.rundir import check_out_file

    if args.json:  # before any file is read (exit 8 as the OS would refuse it, but before the scoring)
        check_out_file(args.json, "--json")
    methods = METHODS if args.method == "all" else (args.method,)
    params = (
        NedcParams.from_mapping(read_nedc_params(args.params), args.params) if args.params else NedcParams()
    )
    ref, hyp = read_nedc_list(args.ref_list, args.nfc), read_nedc_list(args.hyp_list, args.nfc)
    if len(ref) != len(hyp):
        from biodyn.errors import ConfigError

        raise ConfigError(f"{args.ref_list} names {len(ref)} files but {args.hyp_list} names {len(hyp)}")
    ref, hyp = read_annotation_files(ref), read_annotation_files(hyp)
    results = score_annotations(ref, hyp, methods, params=params, details=args.per_file)
    if args.per_file:
        from biodyn.metrics.nedc import format_per_file

        for m, r in results.items():
            if m != "ira":
                print(f"{m.upper()} PER-FILE RESULTS:\n")
                print(format_per_file(r))
    print(format_summary(results))
    out = {m: r.to_dict() for m, r in results.items()}
    if args.szcore:
        from biodyn.metrics.szcore import szcore_score_annotations

        sz = szcore_score_annotations(ref, hyp, null_label=params.null_class)
        out["szcore"] = sz
        print("SzCORE EVENT SCORING (timescoring):")
        print(
            f"  seizures {sz['ref_events']}, detected {sz['tp']}, false alarms {sz['fp']}; "
            f"sensitivity {100 * sz['sensitivity']:.4f}%, precision {100 * sz['precision']:.4f}%, "
            f"F1 {sz['f1']:.4f}, {sz['fa_per_24h']:.4f} FA per 24 hours"
        )
    write_json(args.json, out)
    return 0

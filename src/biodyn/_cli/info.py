"""``biodyn info DATASET --root DIR [--json OUT]``."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("dataset", help="chbmit, siena, tusz, ptbxl, sleepedf, eegmmidb, mimic_ecg or synthetic")
    p.add_argument("--root", help="the corpus folder (default: <data root>/<dataset> when it exists)")
    p.add_argument("--json", metavar="OUT", help="also write the summary as JSON")


def run(args) -> int:
    from pathlib import Path

    from biodyn._cli._common import print_table, write_json
    from biodyn.data_root import data_root
    from biodyn.datasets import CORPORA, get_corpus
    from biodyn.errors import DataRootError, NothingMatchedError, RecordingError, check_option
    from biodyn.rundir import check_out_file

    check_option("dataset", args.dataset, CORPORA)  # a name biodyn does not know is a bad value (2), not data
    if args.json:
        check_out_file(args.json, "--json")  # before the corpus is scanned
    root = args.root
    if root is None and args.dataset != "synthetic":
        base = data_root()
        folder = {"sleepedf": "sleep_edf"}.get(args.dataset, args.dataset)
        if base is None or not (base / folder).is_dir():
            raise DataRootError(f"info {args.dataset}: no --root given and no {folder}/ under the data root")
        root = base / folder
    corpus = get_corpus(args.dataset, root)
    s = corpus.summary()
    if not s["records"]:
        raise NothingMatchedError(f"{root}: no recordings of {args.dataset} found there")
    bad = s.pop("bad_files", {})
    missing = s.pop("missing_signal_files")
    rows = list(s.items())
    rows.append(
        ("missing_signal_files", f"{len(missing)}" + (f" (e.g. {Path(missing[0]).name})" if missing else ""))
    )
    print_table(f"{args.dataset} at {root}", rows)
    if missing and not s["records_with_signals"]:
        print(
            f"note: no signal files found; the figures above come from the label files only ({len(missing)} missing)"
        )
    s["missing_signal_files"] = missing
    s["bad_files"] = bad
    write_json(args.json, s)
    if bad:  # the rest is summarised above; the bad files are named and the exit status says so
        import sys

        for path, problem in bad.items():
            print(f"  unreadable: {path}: {problem}", file=sys.stderr)
        # bad_files counts files (signal, annotation and hypnogram files), not records: never "15 of 13"
        print(
            f"biodyn: error: {len(bad)} file(s) could not be read (listed above); the summary covers the rest of "
            f"the {s['records']} record(s)",
            file=sys.stderr,
        )
        return RecordingError.exit_code
    return 0

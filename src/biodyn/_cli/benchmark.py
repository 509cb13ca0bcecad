"""``biodyn benchmark szcore BIDS_ROOT --checkpoint RUN --out DIR``: a detector on an open benchmark."""

from __future__ import annotations

import argparse

BENCHMARKS = {"szcore": "SzCORE (esl-epfl/szcore): event scoring over a BIDS dataset, leaderboard figures"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    p = sub.add_parser("szcore", help=BENCHMARKS["szcore"], description=BENCHMARKS["szcore"])
    p.add_argument("bids_root", help="a BIDS dataset as epilepsy2bids writes it (sub-*/ses-*/eeg/*_eeg.edf)")
    p.add_argument("--checkpoint", required=True, help="a seizure run folder or its checkpoints/best")
    p.add_argument("--out", required=True, help="output folder (reused recordings are not detected again)")
    p.add_argument(
        "--duration-tolerance",
        type=float,
        default=0.0,
        metavar="S",
        help="a hypothesis up to S seconds shorter/longer than its reference is padded/cut (SzCORE: 0)",
    )
    p.add_argument("--no-figure", action="store_true", help="skip per_subject.png")
    p.add_argument("--json", default=None, help="also write results.json here")
    add_detection_arguments(p)


def add_detection_arguments(p: argparse.ArgumentParser) -> None:
    """The detection settings ``biodyn benchmark szcore`` and ``biodyn szcore`` share with ``biodyn detect``."""
    p.add_argument("--threshold", type=float, default=None, help="switch-on probability (default 0.86)")
    p.add_argument("--overlap", type=float, default=0.5, help="window overlap fraction (default 0.5)")
    p.add_argument(
        "--on-missing",
        default="raise",
        choices=("raise", "zero"),
        help="montage channels a recording lacks: error (default) or zero-filled rows",
    )
    p.add_argument("--post", nargs="*", default=[], metavar="KEY=VALUE", help="post-processing overrides")
    p.add_argument("--batch-size", type=int, default=4, help="windows per model call")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--no-progress", action="store_true")


def detection_settings(args) -> dict:
    from biodyn.systems.seizure.szcore import THRESHOLD, parse_post

    return {
        "threshold": THRESHOLD if args.threshold is None else args.threshold,
        "overlap": args.overlap,
        "on_missing": args.on_missing,
        "post": parse_post(args.post),
        "batch_size": args.batch_size,
    }


def run(args) -> int:
    from pathlib import Path

    from biodyn._cli._common import write_json
    from biodyn.systems.seizure.szcore import run_szcore_benchmark

    res = run_szcore_benchmark(
        args.bids_root,
        args.checkpoint,
        args.out,
        duration_tolerance_s=args.duration_tolerance,
        device=args.device,
        progress=not args.no_progress,
        figure=not args.no_figure,
        **detection_settings(args),
    )
    print((Path(args.out) / "table.md").read_text())
    print(
        f"{res['detected']} recording(s) detected, {res['reused']} reused, {len(res['failed'])} failed; "
        f"{res['hours_detected']:.2f} h in {res['detect_seconds']:.1f} s -> {args.out}"
    )
    write_json(args.json, res)
    return 0

"""``biodyn szcore INPUT.edf OUTPUT.tsv --checkpoint RUN``: the one-file contract of a SzCORE container."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from biodyn._cli.benchmark import add_detection_arguments

    parser.add_argument("input", help="the EDF to annotate (SzCORE mounts it as /data/$INPUT)")
    parser.add_argument("output", help="the events TSV to write (SzCORE reads /output/$OUTPUT)")
    parser.add_argument("--checkpoint", required=True, help="a seizure run folder or its checkpoints/best")
    add_detection_arguments(parser)


def run(args) -> int:
    from biodyn._cli.benchmark import detection_settings
    from biodyn.systems.seizure.szcore import szcore_contract

    s = szcore_contract(
        args.input,
        args.output,
        args.checkpoint,
        device=args.device,
        progress=not args.no_progress,
        **detection_settings(args),
    )
    print(
        f"{args.input}: {s['n_events']} seizure event(s) in {s['recording_duration_s']:.1f} s -> {args.output}"
    )
    return 0

"""``biodyn detect RECORDING... --checkpoint DIR [--out DIR] [--json F]``: seizure detection on recordings."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from biodyn.systems.seizure.detect import WINDOWS_PER_CALL

    parser.add_argument("recordings", nargs="+", help="EDF/BDF files or WFDB records")
    parser.add_argument(
        "--checkpoint", required=True, help="a seizure run folder, its checkpoints/best, or an export folder"
    )
    parser.add_argument("--out", default="detections", help="output folder (default: ./detections)")
    parser.add_argument("--json", default=None, help="write the summary (events, real-time factor) here")
    parser.add_argument(
        "--on-missing",
        default="raise",
        choices=("raise", "zero"),
        help="montage channels the recording lacks: error (default) or zero-filled rows",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="switch-on probability (default: the detector's operating threshold)",
    )
    parser.add_argument("--overlap", type=float, default=0.5, help="window overlap fraction (default 0.5)")
    parser.add_argument("--batch-size", type=int, default=WINDOWS_PER_CALL)
    parser.add_argument(
        "--post",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="post-processing overrides (hysteresis_gap, opening_samples, closing_samples, "
        "merge_gap_s, min_duration_s, max_duration_s)",
    )
    parser.add_argument(
        "--edf", action="store_true", help="also write the recording as EDF+ with annotations"
    )
    parser.add_argument("--no-png", action="store_true", help="skip the PNG")
    parser.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    from biodyn.metrics.postprocess import parse_post
    from biodyn.systems.seizure import detect_files

    thr = args.threshold  # None: the detector's recorded operating threshold
    rep = detect_files(
        args.recordings,
        args.checkpoint,
        args.out,
        json_path=args.json,
        edf_annotations=args.edf,
        png=not args.no_png,
        progress=not args.no_progress,
        on_missing=args.on_missing,
        threshold=thr,
        overlap=args.overlap,
        batch_size=args.batch_size,
        post=parse_post(args.post),
    )
    for r in rep["recordings"]:
        print(
            f"{r['recording']}: {r['n_events']} seizure event(s) in {r['duration_s']:.1f} s at threshold "
            f"{r['threshold']:.3g}; "
            f"real-time factor {r['real_time_factor']:.1f}x"
            + ("; shorter than one window: zero-padded" if r["padded_to_one_window"] else "")
            + (f"; zero-filled {', '.join(r['zero_filled_channels'])}" if r["zero_filled_channels"] else "")
        )
        for e in r["events"]:
            print(
                f"  seiz {e['onset_s']:.2f}-{e['onset_s'] + e['duration_s']:.2f} s (mean p {e['confidence']:.2f})"
            )
        print(f"  wrote {', '.join(r['outputs'].values())}")
    if args.json:
        print(f"summary: {args.json}")
    if rep["failed"]:  # the others' outputs are written; the failures are one error line, exit 3
        from biodyn.errors import RecordingError

        n, m = len(rep["failed"]), len(rep["failed"]) + len(rep["recordings"])
        raise RecordingError(None, f"{n} of {m} recording(s) failed: " + "; ".join(rep["failed"].values()))
    return 0

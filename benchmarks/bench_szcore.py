"""Seconds per hour of EEG of ``biodyn benchmark szcore`` end to end (EDF read, montage, preprocessing, stitched
windows at 50 % overlap, post-processing, TSV, scoring), on generated recordings laid out as epilepsy2bids
writes CHB-MIT and Siena (19 common-average channels at 256 Hz) and an untrained detector of the published
size (timing does not depend on the weights). The time a dataset takes is its hours (``biodyn info``) times
``s_per_eeg_hour`` measured on the machine that will run it.

Full: ``seizure_bimamba2`` (or ``--stack gdn``) at its default widths, 60 s windows on the 18 CHB-MIT
bipolar derivations, 4 recordings of 30 min. ``--quick``: ``seizure_tiny``, 4 s windows, 2 recordings of
1 min. ``--device cuda`` when a GPU is there (default: cuda if available)."""

from __future__ import annotations

import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, report

ELECTRODES = [
    "Fp1",
    "F3",
    "C3",
    "P3",
    "O1",
    "F7",
    "T3",
    "T5",
    "Fz",
    "Cz",
    "Pz",
    "Fp2",
    "F4",
    "C4",
    "P4",
    "O2",
    "F8",
    "T4",
    "T6",
]


def write_bids(root: Path, n_rec: int, seconds: int) -> None:
    import edfio

    rng = np.random.default_rng(0)
    for k in range(n_rec):
        base = (
            root / f"sub-{k + 1:02d}" / "ses-01" / "eeg" / f"sub-{k + 1:02d}_ses-01_task-szMonitoring_run-01"
        )
        base.parent.mkdir(parents=True, exist_ok=True)
        x = rng.standard_normal((len(ELECTRODES), seconds * 256)) * 20
        sigs = [
            edfio.EdfSignal(
                x[i], 256, label=f"{c}-Avg", physical_dimension="uV", physical_range=(-200.0, 200.0)
            )
            for i, c in enumerate(ELECTRODES)
        ]
        edfio.Edf(sigs, starttime=datetime.time(0, 0, 0)).write(f"{base}_eeg.edf")
        on = seconds / 2
        Path(f"{base}_events.tsv").write_text(
            "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"
            f"{on:.2f}\t60.00\tsz\tn/a\tn/a\tn/a\t{seconds:.2f}\n"
        )


def checkpoint(folder: Path, stack: str, window_s: float) -> None:
    import torch

    from biodyn.datasets.chbmit import CHANNELS
    from biodyn.models import create_model
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    mcfg = {"n_chans": len(CHANNELS), "n_outputs": 1, "n_times": int(window_s * 256), "sfreq": 256.0}
    model = create_model(f"seizure_{stack}", **mcfg)
    mcfg = model.init_config()
    spec = {
        "channels": list(CHANNELS),
        "fs": 256.0,
        "window_s": window_s,
        "preprocess": SEIZURE_EEG.to_dict(),
    }
    save_checkpoint(
        folder,
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={"model_name": f"seizure_{stack}", "model_config": mcfg, "step": 0, "extra": {"data": spec}},
    )


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument(
        "--stack", default=None, help="bimamba2, gdn or tiny (default: bimamba2; tiny with --quick)"
    )
    ap.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--batch-size", type=int, default=None, help="windows per model call (default 4; 32 on GPU)"
    )
    ap.add_argument(
        "--recordings", type=int, default=None, help="how many recordings (default 4; 2 with --quick)"
    )
    ap.add_argument(
        "--seconds", type=int, default=None, help="seconds per recording (default 1800; 60 --quick)"
    )
    args = ap.parse_args()
    import torch

    from biodyn.systems.seizure.szcore import run_szcore_benchmark

    torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    stack = args.stack or ("tiny" if args.quick else "bimamba2")
    window_s = 4.0 if args.quick else 60.0
    n_rec = args.recordings or (2 if args.quick else 4)
    seconds = args.seconds or (60 if args.quick else 1800)
    batch = args.batch_size or (32 if device.startswith("cuda") else 4)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_bids(tmp / "bids", n_rec, seconds)
        checkpoint(tmp / "run" / "checkpoints" / "best", stack, window_s)
        t0 = time.perf_counter()
        res = run_szcore_benchmark(
            tmp / "bids",
            tmp / "run",
            tmp / "out",
            device=device,
            batch_size=batch,
            progress=False,
            figure=False,
        )
        wall = time.perf_counter() - t0
    hours = res["hours_detected"]
    model_s = sum(d["compute_s"] for d in res["detections"])
    row = {
        "stack": stack,
        "device": device,
        "batch": batch,
        "window_s": window_s,
        "recordings": n_rec,
        "eeg_hours": hours,
        "wall_s": wall,
        "model_s": model_s,
        "other_s": wall - model_s,
        "s_per_eeg_hour": wall / hours,
        "model_s_per_eeg_hour": model_s / hours,
        "real_time_factor": hours * 3600 / wall,
    }
    if device.startswith("cuda"):
        row["gpu"] = torch.cuda.get_device_name()
    report(
        "bench_szcore",
        [row],
        {},
        args.json,
        quick=args.quick,
        threads=args.threads,
        note="untrained detector (timing only); overlap 0.5; EDF read, preprocessing, TSV and scoring included",
    )


if __name__ == "__main__":
    main()

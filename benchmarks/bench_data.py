"""Data-layer throughput.

(a) Hours of 19-channel EEG per second through read + band-pass (0.5-120 Hz) + 60 Hz notch + resample
    250 -> 256 Hz + z-score: biodyn (edfio + one SOS cascade + polyphase, threaded over channels) vs the same
    steps through MNE (read_raw_edf, filter, notch_filter, resample, then a numpy z-score), on an EDF of
    1 hour (10 minutes with --quick) written by this script. Medians over repeats.
(b) Windows per second through WindowDataset vs slicing np.load(..., mmap_mode="r") directly.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, median_time, parser, report


def write_eeg(path: Path, hours: float, fs: float = 250.0) -> None:
    from biodyn.io import write_edf
    from biodyn.montage import TEN_TWENTY_19
    from biodyn.types import Recording

    rng = np.random.default_rng(0)
    n = int(hours * 3600 * fs)
    data = (rng.standard_normal((19, n)) * 30).astype(np.float32)
    data += (50 * np.sin(2 * np.pi * 60 * np.arange(n) / fs)).astype(np.float32)
    names = [f"EEG {c.upper()}-REF" for c in TEN_TWENTY_19]
    write_edf(path, Recording(data, fs, names, meta={"units": ["uV"] * 19}))


def ours(path: Path) -> np.ndarray:
    from biodyn.io import read_edf
    from biodyn.signal import PreprocessConfig, preprocess

    rec = read_edf(path)
    cfg = PreprocessConfig(fs=256.0, l_freq=0.5, h_freq=120.0, notch_freq=60.0, zscore=True)
    return preprocess(rec.data, rec.fs, cfg)[0]


def with_mne(path: Path) -> np.ndarray:
    import mne

    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    raw.filter(0.5, 120.0, verbose="error")
    raw.notch_filter(60.0, verbose="error")
    raw.resample(256.0, verbose="error")
    x = raw.get_data()
    return ((x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)).astype(np.float32)


def bench_cache(tmp: Path, quick: bool) -> tuple[float, float, int]:
    from biodyn.cache import WindowDataset, build_cache
    from biodyn.datasets import get_corpus

    corpus = get_corpus("synthetic", n_records=2 if quick else 4, duration_s=300.0)
    out = tmp / "cache"
    build_cache(corpus, out, progress=False)
    ds = WindowDataset(out)
    rng = np.random.default_rng(0)
    n = 200 if quick else 1000
    order = rng.integers(0, len(ds), n)

    def via_dataset():
        for i in order:
            ds[int(i)]

    entries = ds.entries
    maps = {}

    def direct():
        for i in order:
            k, s = int(ds._rec[i]), int(ds._start[i])
            m = maps.get(k)
            if m is None:
                m = maps[k] = np.load(Path(entries[k]["dir"]) / entries[k]["x_file"], mmap_mode="r")
            np.array(m[:, s : s + ds.window])

    t_ds = median_time(via_dataset, 3)
    t_mm = median_time(direct, 3)
    return n / t_ds, n / t_mm, n


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    hours = 1 / 6 if args.quick else 1.0
    repeats = 2 if args.quick else 3
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        edf = tmp / "eeg.edf"
        t0 = time.perf_counter()
        write_eeg(edf, hours)
        print(f"wrote {hours:.3g} h of 19-ch 250 Hz EEG in {time.perf_counter() - t0:.1f} s")
        a, b = ours(edf), with_mne(edf)
        # agreement below 40 Hz (near Nyquist the two resamplers differ; see the README's note)
        from biodyn.signal import bandpass

        la, lb = bandpass(a, 256.0, None, 40.0), bandpass(b, 256.0, None, 40.0)
        corr = float(np.mean([np.corrcoef(la[c], lb[c])[0, 1] for c in range(a.shape[0])]))
        t_ours = median_time(lambda: ours(edf), repeats)
        t_mne = median_time(lambda: with_mne(edf), repeats)
        rows.append(
            {"case": "preprocess biodyn", "hours": hours, "seconds": t_ours, "hours_per_s": hours / t_ours}
        )
        rows.append(
            {
                "case": "preprocess MNE",
                "hours": hours,
                "seconds": t_mne,
                "hours_per_s": hours / t_mne,
                "corr_below_40Hz": corr,
            }
        )
        ds_rate, mm_rate, n = bench_cache(tmp, args.quick)
        rows.append({"case": "WindowDataset", "windows": n, "windows_per_s": ds_rate})
        rows.append({"case": "np.load mmap slicing", "windows": n, "windows_per_s": mm_rate})
    goals = {
        "preprocess_speedup_vs_mne": goal(t_mne / t_ours, 2.0, "x", True),
        "cache_read_ratio_vs_mmap": goal(ds_rate / mm_rate, 0.5, "ratio", True),
    }
    report("bench_data", rows, goals, args.json, quick=args.quick)


if __name__ == "__main__":
    main()

"""Synthetic EEG with known events, for demos and tests when no recordings are available.

Each record is 19-channel 10-20 EEG at 256 Hz: 1/f background plus a posterior alpha rhythm, with
"seizure" events of 3 Hz spike-and-wave discharges at known times that start in one channel and
reach the others with small delays. Everything is derived from ``seed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from biodyn.datasets._base import Corpus, RecordRef, Target, events_to_labels, summarize
from biodyn.montage import TEN_TWENTY_19
from biodyn.signal.config import SEIZURE_EEG, PreprocessConfig
from biodyn.types import Event, Recording


def _pink(rng: np.random.Generator, c: int, t: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal((c, t)), axis=-1)
    f = np.fft.rfftfreq(t)
    spec /= np.sqrt(np.maximum(f, f[1]))
    x = np.fft.irfft(spec, n=t, axis=-1)
    return x / x.std(axis=-1, keepdims=True)


class Synthetic(Corpus):
    """Synthetic seizure-like EEG: per-sample labels (0 background, 1 event)."""

    name = "synthetic"
    modality = "eeg"
    classes = ("bckg", "seiz")
    default_preprocess: PreprocessConfig = SEIZURE_EEG
    window_s = 60.0
    stride_s = 10.0

    def __init__(
        self, root=None, n_records: int = 4, duration_s: float = 300.0, fs: float = 256.0, seed: int = 0
    ):
        self.root = Path(root) if root is not None else Path(".")
        self.n_records, self.duration_s, self.fs, self.seed = n_records, duration_s, fs, seed

    def records(self) -> list[RecordRef]:
        return [
            RecordRef(
                f"synth{i:03d}",
                Path(f"synthetic://{i}"),
                subject=f"s{i:02d}",
                split=("train", "train", "dev", "eval")[i % 4],
                meta={"index": i},
            )
            for i in range(self.n_records)
        ]

    def load(self, ref: RecordRef) -> Recording:
        i = ref.meta["index"]
        rng = np.random.default_rng([self.seed, i])
        c, t = len(TEN_TWENTY_19), int(self.duration_s * self.fs)
        x = 20.0 * _pink(rng, c, t)
        tt = np.arange(t) / self.fs
        post = np.array([ch in ("O1", "O2", "P3", "P4", "Pz", "P7", "P8") for ch in TEN_TWENTY_19], float)
        x += 15.0 * post[:, None] * np.sin(2 * np.pi * (9.5 + rng.uniform(-1, 1)) * tt)
        events = []
        n_events = 1 + i % 2
        for k in range(n_events):
            dur = rng.uniform(20, 45)
            onset = rng.uniform(
                k * self.duration_s / n_events + 5, (k + 1) * self.duration_s / n_events - dur - 5
            )
            focus = rng.integers(c)
            delay_s = 0.02 * rng.permutation(c)
            delay_s -= delay_s[focus]
            for ch in range(c):
                s = tt - onset - delay_s[ch]
                on = (s >= 0) & (s < dur)
                phase = 2 * np.pi * 3.0 * s
                spike_wave = 120.0 * (
                    np.exp(-((np.mod(phase, 2 * np.pi) - 0.3) ** 2) / 0.02) - 0.4 * np.sin(phase)
                )
                x[ch] += np.where(on, spike_wave, 0.0)
            events.append(Event(float(onset), float(dur), "seiz"))
        meta = {
            "record_id": ref.record_id,
            "subject": ref.subject,
            "split": ref.split,
            "synthetic": True,
            "units": ["uV"] * c,
        }
        return Recording(x.astype(np.float32), self.fs, list(TEN_TWENTY_19), events, meta)

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        return Target(
            per_sample=events_to_labels(rec.events, rec.n_times, rec.fs, {"seiz": 1}, 0), classes=self.classes
        )

    def record_info(self, ref: RecordRef) -> dict[str, Any]:
        return {"channels": list(TEN_TWENTY_19), "fs": [self.fs], "duration_s": self.duration_s}

    def summary(self) -> dict[str, Any]:
        refs = self.records()
        n_events = sum(1 + r.meta["index"] % 2 for r in refs)
        return summarize(
            self.name,
            refs,
            [self.record_info(r) for r in refs],
            [],
            label_counts={"seiz": n_events},
            synthetic=True,
        )

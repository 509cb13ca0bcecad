"""The corpus interface every module in ``biodyn.datasets`` implements.

A corpus knows where its files are and how its labels are encoded; it never preprocesses beyond
bringing channels to canonical names and one sampling rate (that is ``biodyn.signal``'s job,
driven by :attr:`Corpus.default_preprocess`, and the cache's).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from biodyn.errors import DataRootError, RecordingError
from biodyn.signal.config import SEIZURE_EEG, PreprocessConfig
from biodyn.types import Recording


@dataclass
class RecordRef:
    """One recording on disk, before it is read."""

    record_id: str  # unique within the corpus, stable across runs (used as the cache key)
    path: Path  # the signal file (or WFDB record path without extension)
    subject: str | None = None  # patient / subject id: few-shot splits never share one across splits
    split: str | None = None  # the corpus's official split if it has one (train/dev/eval, strat_fold, ...)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Target:
    """Labels of one recording, in one of two shapes.

    * ``per_sample``: int array ``(T,)`` at the recording's rate after loading (seizure 0/1, sleep stage,
      motor class, ``-1`` = unlabelled); the cache cuts it with the windows.
    * ``per_record``: float array ``(K,)`` for a whole-recording label (PTB-XL multi-hot superclasses).
    """

    per_sample: np.ndarray | None = None
    per_record: np.ndarray | None = None
    classes: tuple[str, ...] = ()


class Corpus(ABC):
    """Base class of a corpus reader. Subclasses set the class attributes and implement three methods."""

    name: ClassVar[str]
    modality: ClassVar[str]  # "eeg", "ecg" or "psg"
    classes: ClassVar[tuple[str, ...]] = ()
    default_preprocess: ClassVar[PreprocessConfig]
    # windowing defaults for the cache (seconds)
    window_s: ClassVar[float] = 10.0
    stride_s: ClassVar[float] = 10.0
    # rates a corpus is distributed at, when more than one (PTB-XL: 100 and 500 Hz); its constructor then
    # takes ``sampling_rate`` (kept as ``self.sampling_rate``), which :func:`biodyn.datasets.get_corpus`
    # chooses from the windows' rate
    stored_rates: ClassVar[tuple[int, ...]] = ()

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataRootError(f"{self.name}: data root {self.root} is not a directory")

    @abstractmethod
    def records(self) -> list[RecordRef]:
        """Every recording of the corpus under ``root``, sorted by ``record_id``."""

    @abstractmethod
    def load(self, ref: RecordRef) -> Recording:
        """Read one recording: canonical channel names, one rate, events attached."""

    @abstractmethod
    def target(self, ref: RecordRef, rec: Recording) -> Target:
        """The labels of a loaded recording."""

    def summary(self) -> dict[str, Any]:
        """Records, channels, rates, hours and label counts (``biodyn info``).

        The default reads signal headers only (:meth:`record_info`); subclasses add label counts and
        report what they could learn from label files when signal files are missing.
        """
        refs = self.records()
        infos, missing = self.header_infos(refs)
        return summarize(self.name, refs, infos, missing)

    def header_infos(self, refs: list[RecordRef]) -> tuple[list[dict[str, Any]], list[str]]:
        """:meth:`record_info` of every record whose signal file exists, and the paths that do not.

        A file that cannot be read (a :class:`~biodyn.errors.RecordingError`) does not stop the summary: it
        goes to :attr:`bad_files` (``{path: problem}``), which :func:`summarize` reports, and the rest is
        summarised."""
        from tqdm.auto import tqdm

        self.bad_files: dict[str, str] = {}
        infos, missing = [], []
        # a bar only on a terminal (disable=None), and only while it runs (leave=False)
        for ref in tqdm(refs, desc=f"reading {self.name} headers", unit="file", disable=None, leave=False):
            try:
                infos.append(self.record_info(ref))
            except FileNotFoundError:
                missing.append(str(ref.path))
            except RecordingError as e:
                self.bad_files[e.path or str(ref.path)] = e.problem
        return infos, missing

    def note_bad(self, error: RecordingError, ref: RecordRef | None = None) -> None:
        """Record a file that a summary could not read (see :meth:`header_infos`)."""
        if not hasattr(self, "bad_files"):
            self.bad_files = {}
        self.bad_files[error.path or (str(ref.path) if ref else "?")] = error.problem

    def record_info(self, ref: RecordRef) -> dict[str, Any]:
        """``{"channels": [...], "fs": [...], "duration_s": float}`` from headers; FileNotFoundError if absent."""
        from biodyn.io import edf_info

        if not Path(ref.path).exists():
            raise FileNotFoundError(ref.path)
        return edf_info(ref.path)


def summarize(
    name: str, refs: list[RecordRef], infos: list[dict], missing: list[str], *, bad_files=None, **extra
) -> dict[str, Any]:
    """The common part of a corpus summary; ``bad_files`` ``{path: problem}`` lists files that could not be read."""
    channels = sorted({c for i in infos for c in i["channels"]})
    rates = sorted({float(f) for i in infos for f in i["fs"]})
    out: dict[str, Any] = {
        "corpus": name,
        "records": len(refs),
        "records_with_signals": len(infos),
        "subjects": len({r.subject for r in refs if r.subject is not None}),
        "channels": channels,
        "n_channels": sorted({len(i["channels"]) for i in infos}),
        "rates_hz": rates,
        "hours": round(sum(i["duration_s"] for i in infos) / 3600, 4),
        "missing_signal_files": missing,
        "bad_files": dict(bad_files or {}),
    }
    out.update(extra)
    return out


def events_to_labels(
    events, n_times: int, fs: float, label_map: dict[str, int], default: int = -1
) -> np.ndarray:
    """Per-sample int labels ``(T,)`` from interval events; samples no event covers get ``default``.

    An event covers samples ``round(onset*fs)`` to ``round((onset+duration)*fs)`` (exclusive). Labels not in
    ``label_map`` are ignored. Later events overwrite earlier ones.
    """
    out = np.full(n_times, default, dtype=np.int64)
    for e in events:
        if e.label not in label_map:
            continue
        a = max(0, round(e.onset_s * fs))
        b = min(n_times, round((e.onset_s + e.duration_s) * fs))
        out[a:b] = label_map[e.label]
    return out


class SeizureCorpus(Corpus):
    """A scalp-EEG corpus with seizure annotations (CHB-MIT, Siena, TUSZ, a folder of your own): one channel
    set (``channels``, read in that order), per-sample labels 0 (background) / 1 (an event whose label is one
    of :attr:`seizure_labels`), and Brain-Go-Brr's windowing (60 s windows, 10 s hop)."""

    modality = "eeg"
    classes = ("bckg", "seiz")
    default_preprocess: PreprocessConfig = SEIZURE_EEG
    window_s = 60.0
    stride_s = 10.0
    seizure_labels: ClassVar[tuple[str, ...]] = ("seiz",)

    def __init__(self, root: str | Path, channels: tuple[str, ...]):
        super().__init__(root)
        self.channels = tuple(channels)

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        y = events_to_labels(
            rec.events, rec.n_times, rec.fs, dict.fromkeys(self.seizure_labels, 1), default=0
        )
        return Target(per_sample=y, classes=self.classes)

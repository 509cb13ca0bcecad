"""Building a window cache: recordings -> preprocessed continuous arrays + window index + manifest.

Layout of ``out_dir``::

    manifest.json               corpus, preprocessing config + hash, window/stride, rate, channels, classes
    records/<id>.x.npy          float32 (C, T): the preprocessed recording (memory-mapped when read)
    records/<id>.y.npy          int16 (T,): per-sample labels (only for corpora with per-sample labels)
    records/<id>.json           the record's entry: subject, split, window starts and labels (written last)
    failures.json               records that could not be read, with the reason

Windows are offsets into the continuous arrays (overlapping windows are not stored twice). The unit of
work is one record; its files are written under temporary names and renamed, and its ``.json`` is
written last, so a record is either complete or absent: a killed build resumes on rerun and redoes only
unfinished records. ``shard=(i, n)`` processes records ``i, i + n, i + 2n, ...`` so n machines can split
a corpus into one folder (or into several folders that :class:`~biodyn.cache.WindowDataset` reads together).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.atomic import atomic_path, atomic_write_json
from biodyn.datasets._base import Corpus, RecordRef
from biodyn.errors import BiodynError, ConfigError
from biodyn.provenance import stable_hash, versions
from biodyn.signal import PreprocessConfig, preprocess, window_starts

CACHE_FORMAT = 1


class CacheError(BiodynError):
    """A cache folder that cannot be built into or read as asked."""


@dataclass
class BuildReport:
    """What a build did: ``built`` now, ``skipped`` (already complete), ``failed`` ``{record_id: reason}``."""

    out_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    n_windows: int = 0
    seconds: float = 0.0

    @property
    def all_failed(self) -> bool:
        return bool(self.failed) and not self.built and not self.skipped

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "built": self.built, "skipped": self.skipped, "failed": self.failed,
                "n_windows": self.n_windows, "seconds": round(self.seconds, 3)}  # fmt: skip


def _safe_id(record_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in record_id)


def window_label(y: np.ndarray, binary: bool) -> int:
    """Label of a window from its per-sample labels: any positive for binary tasks, else the most
    frequent labelled class (``-1`` when nothing in the window is labelled)."""
    if binary:
        return int((y > 0).any())
    lab = y[y >= 0]
    if lab.size == 0:
        return -1
    return int(np.bincount(lab).argmax())


def _process(corpus: Corpus, ref: RecordRef, cfg: PreprocessConfig, out: Path, window_s: float,
             stride_s: float) -> dict[str, Any]:  # fmt: skip
    """Load, preprocess and store one record; returns its entry (also written as ``<id>.json``)."""
    rec = corpus.load(ref)
    target = corpus.target(ref, rec)
    x, fs = preprocess(rec.data, rec.fs, cfg, channels=rec.channels, source=str(ref.path))
    win, stride = round(window_s * fs), round(stride_s * fs)
    starts = window_starts(x.shape[1], win, stride)
    if len(starts) == 0:
        raise ConfigError(
            f"{ref.path}: recording of {x.shape[1] / fs:.1f} s is shorter than one {window_s} s window"
        )
    sid = _safe_id(ref.record_id)
    entry: dict[str, Any] = {
        "record_id": ref.record_id, "subject": ref.subject, "split": ref.split, "path": str(ref.path),
        "channels": rec.channels, "fs": fs, "n_times": int(x.shape[1]), "starts": starts.tolist(),
        "x_file": f"{sid}.x.npy",
    }  # fmt: skip
    rdir = out / "records"
    with atomic_path(rdir / entry["x_file"], suffix=".npy") as tmp:
        np.save(tmp, x)
    if target.per_sample is not None:
        y = target.per_sample
        if len(y) != rec.n_times:
            raise ConfigError(f"{ref.path}: {len(y)} labels for {rec.n_times} samples")
        if fs != rec.fs:  # labels follow the signal to the new rate (nearest sample)
            idx = np.minimum((np.arange(x.shape[1]) * rec.fs / fs).round().astype(np.int64), len(y) - 1)
            y = y[idx]
        y = y.astype(np.int16)
        binary = len(target.classes) == 2
        entry["y_file"] = f"{sid}.y.npy"
        entry["labels"] = [window_label(y[s : s + win], binary) for s in starts]
        with atomic_path(rdir / entry["y_file"], suffix=".npy") as tmp:
            np.save(tmp, y)
    elif target.per_record is not None:
        entry["record_label"] = np.asarray(target.per_record, dtype=float).tolist()
    atomic_write_json(rdir / f"{sid}.json", entry)
    return entry


def _task(args):
    corpus, ref, cfg, out, window_s, stride_s = args
    try:
        return ref.record_id, _process(corpus, ref, cfg, out, window_s, stride_s), None
    except Exception as e:  # report and skip: one bad file must not stop a corpus build
        return ref.record_id, None, f"{type(e).__name__}: {e}"


def _manifest(corpus: Corpus, cfg: PreprocessConfig, window_s: float, stride_s: float) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "corpus": corpus.name,
        "modality": corpus.modality,
        "classes": list(corpus.classes),
        "preprocess": cfg.to_dict(),
        "window_s": window_s,
        "stride_s": stride_s,
        "preprocess_hash": stable_hash(
            {"preprocess": cfg.to_dict(), "window_s": window_s, "stride_s": stride_s, "corpus": corpus.name}
        ),
        "versions": versions(),
    }


def build_cache(
    corpus: Corpus,
    out_dir: str | os.PathLike,
    *,
    preprocess: PreprocessConfig | None = None,
    window_s: float | None = None,
    stride_s: float | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    records: list[str] | None = None,
    progress: bool = True,
) -> BuildReport:
    """Preprocess ``corpus`` into ``out_dir`` (resumable; see the module docstring).

    Args:
        corpus: a :class:`~biodyn.datasets.Corpus`.
        preprocess, window_s, stride_s: default to the corpus' ``default_preprocess``, ``window_s``, ``stride_s``.
        jobs: worker processes.
        shard: ``(i, n)`` with ``0 <= i < n``: process every n-th record starting at i.
        records: restrict to these record ids.

    Raises:
        CacheError: ``out_dir`` holds a cache built with another configuration.
    """
    t0 = time.perf_counter()
    cfg = preprocess or corpus.default_preprocess
    window_s = float(window_s or corpus.window_s)
    stride_s = float(stride_s or corpus.stride_s)
    out = Path(out_dir)
    (out / "records").mkdir(parents=True, exist_ok=True)
    manifest = _manifest(corpus, cfg, window_s, stride_s)
    mpath = out / "manifest.json"
    if mpath.exists():
        old = json.loads(mpath.read_text())
        if old.get("preprocess_hash") != manifest["preprocess_hash"]:
            raise CacheError(
                f"{out}: holds a cache built with another configuration (hash {old.get('preprocess_hash')}, "
                f"corpus {old.get('corpus')}); use a new --out folder"
            )
    else:
        atomic_write_json(mpath, manifest)
    for stale in (out / "records").glob(".*"):  # temp files of a killed build
        stale.unlink(missing_ok=True)
    refs = corpus.records()
    if records is not None:
        wanted = set(records)
        refs = [r for r in refs if r.record_id in wanted]
    if shard is not None:
        i, n = shard
        if not (n >= 1 and 0 <= i < n):
            raise ConfigError(f"invalid shard={shard!r}; expected (i, n) with 0 <= i < n")
        refs = refs[i::n]
    report = BuildReport(out)
    todo = []
    for r in refs:
        done = out / "records" / f"{_safe_id(r.record_id)}.json"
        if done.exists():
            report.skipped.append(r.record_id)
            report.n_windows += len(json.loads(done.read_text())["starts"])
        else:
            todo.append((corpus, r, cfg, out, window_s, stride_s))
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="rec", desc=f"build-cache {corpus.name}", disable=not progress)

    def collect(result):
        rid, entry, err = result
        if err is None:
            report.built.append(rid)
            report.n_windows += len(entry["starts"])
        else:
            report.failed[rid] = err
            bar.write(f"skipped {rid}: {err}")
        bar.update(1)

    if jobs <= 1 or len(todo) <= 1:
        for t in todo:
            collect(_task(t))
    else:
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
            for fut in as_completed([pool.submit(_task, t) for t in todo]):
                collect(fut.result())
    bar.close()
    if report.failed:
        failures_path = out / (f"failures.shard{shard[0]}of{shard[1]}.json" if shard else "failures.json")
        atomic_write_json(failures_path, report.failed)
    report.seconds = time.perf_counter() - t0
    return report

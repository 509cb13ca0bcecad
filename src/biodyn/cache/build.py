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

Reliability: temporary names carry the writer's host and pid, so concurrent writers (shards, or two builds
of one record) never touch each other's files, and a rerun removes only temporary files whose writer is
gone; two writers of one record write the same bytes and each renames its own complete file. A record
counts as done only when its ``.json`` parses and its arrays have the sizes and shapes the ``.json``
records; a damaged record is rebuilt. Worker processes die with the build (``PR_SET_PDEATHSIG`` and a
parent watchdog). A warning that concerns many records is said once, with the number of records.
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

from biodyn.atomic import atomic_path, atomic_write_json, temp_writer_alive
from biodyn.datasets._base import Corpus, RecordRef
from biodyn.errors import BiodynError, ConfigError, NothingMatchedError
from biodyn.provenance import stable_hash, versions
from biodyn.signal import PreprocessConfig, preprocess, window_starts

CACHE_FORMAT = 1


class CacheError(BiodynError):
    """A cache folder that cannot be built into or read as asked."""

    exit_code = 5


@dataclass
class BuildReport:
    """What a build did: ``built`` now, ``skipped`` (already complete), ``failed`` ``{record_id: reason}``."""

    out_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    n_windows: int = 0
    seconds: float = 0.0
    rebuilt: dict[str, str] = field(default_factory=dict)  # damaged records found and rebuilt: why
    warnings: dict[str, int] = field(default_factory=dict)  # warning (file names replaced) -> records

    @property
    def all_failed(self) -> bool:
        return bool(self.failed) and not self.built and not self.skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "built": self.built,
            "skipped": self.skipped,
            "failed": self.failed,
            "rebuilt": self.rebuilt,
            "warnings": self.warnings,
            "n_windows": self.n_windows,
            "seconds": round(self.seconds, 3),
        }


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


def _process(
    corpus: Corpus, ref: RecordRef, cfg: PreprocessConfig, out: Path, window_s: float, stride_s: float
) -> dict[str, Any]:
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
        "record_id": ref.record_id,
        "subject": ref.subject,
        "split": ref.split,
        "path": str(ref.path),
        "channels": rec.channels,
        "fs": fs,
        "n_times": int(x.shape[1]),
        "starts": starts.tolist(),
        "x_file": f"{sid}.x.npy",
    }
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
    entry["file_bytes"] = {
        entry[k]: (rdir / entry[k]).stat().st_size for k in ("x_file", "y_file") if k in entry
    }
    atomic_write_json(rdir / f"{sid}.json", entry)
    return entry


def _npy_shape(path: Path) -> tuple[tuple[int, ...], int]:
    """Shape and expected file size of an ``.npy`` file from its header."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        header_end = f.tell()
    return tuple(shape), header_end + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def check_record(rdir: Path, record_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(entry, None)`` when the cached record is complete, ``(None, why)`` when it is damaged, ``(None, None)``
    when it is absent. Complete: its ``.json`` parses, and each array file exists with the size recorded in
    the ``.json`` (or, for caches written before sizes were recorded, the size its header implies) and the
    shape ``(C, T)`` / ``(T,)`` the entry describes."""
    jf = rdir / f"{_safe_id(record_id)}.json"
    if not jf.exists():
        return None, None
    try:
        entry = json.loads(jf.read_text())
        n_times, n_chans = int(entry["n_times"]), len(entry["channels"])
        files = {entry["x_file"]: (n_chans, n_times)}
        if "y_file" in entry:
            files[entry["y_file"]] = (n_times,)
        len(entry["starts"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"{jf.name} unreadable ({type(e).__name__}: {e})"
    sizes = entry.get("file_bytes", {})
    for name, shape in files.items():
        f = rdir / name
        if not f.is_file():
            return None, f"{name} missing"
        size = f.stat().st_size
        if name in sizes and size != sizes[name]:
            return None, f"{name} holds {size} bytes, {jf.name} says {sizes[name]}"
        try:
            got, expected = _npy_shape(f)
        except (OSError, ValueError) as e:
            return None, f"{name} has a bad header ({e})"
        if got != shape or size != expected:
            return None, f"{name} is {size} bytes of shape {got}, expected {expected} bytes of shape {shape}"
    return entry, None


def _normalise_warning(message: str, ref: RecordRef) -> str:
    """A warning's text with the record's file and id replaced, so one cause repeated per record is one key."""
    for name in (str(ref.path), ref.record_id):
        if name:
            message = message.replace(name, "<record>")
    return message.removeprefix("<record>: ")


def _task(args):
    import warnings

    corpus, ref, cfg, out, window_s, stride_s = args
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            entry, err = _process(corpus, ref, cfg, out, window_s, stride_s), None
        except Exception as e:  # report and skip: one bad file must not stop a corpus build
            entry, err = None, f"{type(e).__name__}: {e}"
    said = sorted({_normalise_warning(str(w.message), ref) for w in caught})
    return ref.record_id, entry, err, said


def _die_with_parent(parent_pid: int) -> None:
    """Worker initialiser: the kernel kills this worker when its parent dies (Linux ``PR_SET_PDEATHSIG``),
    and a watchdog thread exits it when it is re-parented (any POSIX system)."""
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover (no libc prctl)
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="biodyn-parent-watchdog").start()


def _remove_stale_temps(rdir: Path, max_age_s: float = 24 * 3600) -> list[str]:
    """Delete temporary files whose writer is gone (or, for names without a writer, older than a day)."""
    removed = []
    now = time.time()
    for tmp in rdir.glob(".*"):
        alive = temp_writer_alive(tmp.name)
        if alive is None:
            try:
                alive = now - tmp.stat().st_mtime < max_age_s
            except FileNotFoundError:
                continue
        if not alive:
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
    return removed


def _manifest(corpus: Corpus, cfg: PreprocessConfig, window_s: float, stride_s: float) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "corpus": corpus.name,
        "modality": corpus.modality,
        "classes": list(corpus.classes),
        "preprocess": cfg.to_dict(),
        "window_s": window_s,
        "stride_s": stride_s,
        # a corpus distributed at several rates: which copy was read is part of the configuration
        "preprocess_hash": stable_hash(
            {
                "preprocess": cfg.to_dict(),
                "window_s": window_s,
                "stride_s": stride_s,
                "corpus": corpus.name,
                **({"stored_rate": corpus.sampling_rate} if corpus.stored_rates else {}),
            }
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
    from biodyn.errors import check_range

    check_range("window_s", window_s, low=0, low_open=True)
    check_range("stride_s", stride_s, low=0, low_open=True)
    check_range("jobs", jobs, low=1, integer=True)
    if shard is not None:
        i, n = shard
        if not (n >= 1 and 0 <= i < n):
            raise ConfigError(f"invalid shard={shard!r}; expected (i, n) with 0 <= i < n")
    # select before anything is written: a selection that matches nothing leaves no folder behind
    all_refs = corpus.records()
    if not all_refs:
        raise NothingMatchedError(
            f"{getattr(corpus, 'root', corpus.name)}: no recordings of {corpus.name} found there; nothing to build"
        )
    refs = all_refs
    if records is not None:
        known = {r.record_id for r in all_refs}
        unknown = [r for r in records if r not in known]
        if unknown or not records:
            example = ", ".join(sorted(known)[:3])
            raise NothingMatchedError(
                f"--records: {', '.join(map(repr, unknown)) or 'an empty list'} "
                f"{'matches' if len(unknown) <= 1 else 'match'} no record of {corpus.name} "
                f"({len(known)} records, e.g. {example})"
            )
        wanted = set(records)
        refs = [r for r in refs if r.record_id in wanted]
    if shard is not None:
        refs = refs[shard[0] :: shard[1]]
    out = Path(out_dir)
    (out / "records").mkdir(parents=True, exist_ok=True)
    manifest = _manifest(corpus, cfg, window_s, stride_s)
    mpath = out / "manifest.json"
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except ValueError as e:
            raise CacheError(f"{mpath}: unreadable ({e}); use a new --out folder or delete it") from None
        if old.get("preprocess_hash") != manifest["preprocess_hash"]:
            raise CacheError(
                f"{out}: holds a cache built with another configuration (hash {old.get('preprocess_hash')}, "
                f"corpus {old.get('corpus')}); use a new --out folder"
            )
    else:
        atomic_write_json(mpath, manifest)
    rdir = out / "records"
    _remove_stale_temps(rdir)
    report = BuildReport(out)
    todo = []
    for r in refs:
        entry, damaged = check_record(rdir, r.record_id)
        if entry is not None:
            report.skipped.append(r.record_id)
            report.n_windows += len(entry["starts"])
            continue
        if damaged is not None:  # the .json goes first: the record reads as absent until rebuilt
            report.rebuilt[r.record_id] = damaged
            (rdir / f"{_safe_id(r.record_id)}.json").unlink(missing_ok=True)
        todo.append((corpus, r, cfg, out, window_s, stride_s))
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="rec", desc=f"build-cache {corpus.name}", disable=not progress)
    for rid, why in report.rebuilt.items():
        bar.write(f"rebuilding {rid}: {why}")

    def collect(result):
        rid, entry, err, said = result
        for w in said:
            report.warnings[w] = report.warnings.get(w, 0) + 1
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
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            for fut in as_completed([pool.submit(_task, t) for t in todo]):
                collect(fut.result())
    bar.close()
    import warnings

    for w, n in sorted(report.warnings.items()):  # once per run, with the count
        warnings.warn(f"{w} ({n} of {len(todo)} records)", stacklevel=2)
    failures_path = out / (f"failures.shard{shard[0]}of{shard[1]}.json" if shard else "failures.json")
    _update_failures(failures_path, report)
    report.seconds = time.perf_counter() - t0
    return report


def _update_failures(path: Path, report: BuildReport) -> None:
    """Keep ``failures.json`` true: drop records that are now cached, add those that failed now, and
    remove the file when nothing is left in it."""
    old: dict[str, str] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    done = set(report.built) | set(report.skipped)
    merged = {k: v for k, v in old.items() if k not in done}
    merged.update(report.failed)
    if merged:
        atomic_write_json(path, merged)
    else:
        path.unlink(missing_ok=True)

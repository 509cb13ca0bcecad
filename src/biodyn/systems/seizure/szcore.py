"""The SzCORE benchmark of a trained detector (Dan et al. 2024; esl-epfl/szcore): every EEG recording of a BIDS
dataset in, SzCORE's leaderboard figures out.

The dataset is laid out as epilepsy2bids writes CHB-MIT, Siena, SeizeIT and TUSZ::

    BIDS_ROOT/sub-01/ses-01/eeg/sub-01_ses-01_task-szMonitoring_run-01_eeg.edf
    BIDS_ROOT/sub-01/ses-01/eeg/sub-01_ses-01_task-szMonitoring_run-01_events.tsv   (the reference)

:func:`run_szcore_benchmark` writes, under ``OUT``:

* ``hypotheses/`` — the detector's events TSV of each recording at the reference's relative path, which is
  where SzCORE's evaluation looks for it (``onset duration eventType confidence channels dateTime
  recordingDuration``; a ``bckg`` row spanning the recording when there is no detection);
* ``detections/`` — one JSON per finished recording (its summary and the settings it was made with): a rerun
  reuses every recording whose JSON matches the checkpoint's weights and the settings;
* ``results.json`` (everything: per recording, per subject, both aggregations, provenance), ``szcore.json``
  (the figures alone, shaped as szcore-evaluation's output), ``table.md`` and ``per_subject.png``.

Scoring is SzCORE's (:mod:`biodyn.metrics.szcore`): each reference TSV against the hypothesis at the same
relative path (none: no detection), 1 Hz masks, timescoring's sample and event scoring (30 s before / 60 s
after tolerance, events closer than 90 s merged, events split at 5 min), counts summed per subject, then the
mean and standard deviation over subjects. :func:`szcore_contract` is the one-file form a SzCORE container
runs (``biodyn szcore INPUT.edf OUTPUT.tsv --checkpoint DIR``).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The seizure system's detection API: imported here, in one place, and used through these names by this
# module, biodyn benchmark / biodyn szcore and their tests.
from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS as POSTPROCESS
from biodyn.metrics.postprocess import SEIZURE_THRESHOLD as THRESHOLD
from biodyn.metrics.postprocess import parse_post
from biodyn.systems.seizure.detect import Detector, check_detection_settings, detect, load_detector
from biodyn.systems.seizure.detect import event_confidence as e_conf

EEG_SUFFIXES = ("_eeg.edf", "_eeg.bdf")
EVENTS_SUFFIX = "_events.tsv"


@dataclass
class BidsRecording:
    """One EEG file of a BIDS dataset: its subject folder (``sub-01``), the signal file and the path of its
    events TSV relative to the dataset root (the reference there, the hypothesis under ``OUT/hypotheses``)."""

    subject: str
    edf: Path
    rel_events: Path


def bids_recordings(root: str | os.PathLike) -> list[BidsRecording]:
    """Every ``sub-*/**/*_eeg.edf`` (or ``.bdf``) under ``root``, sorted."""
    root = Path(root)
    out = []
    for suffix in EEG_SUFFIXES:
        for p in root.glob(f"sub-*/**/*{suffix}"):
            rel = p.relative_to(root)
            out.append(BidsRecording(rel.parts[0], p, rel.with_name(p.name[: -len(suffix)] + EVENTS_SUFFIX)))
    return sorted(out, key=lambda r: str(r.rel_events))


def reference_files(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """``(subject, path relative to root)`` of every reference ``sub-*/**/*_events.tsv``, sorted."""
    root = Path(root)
    return sorted(
        (p.relative_to(root).parts[0], p.relative_to(root)) for p in root.glob(f"sub-*/**/*{EVENTS_SUFFIX}")
    )


def edf_start(path: str | os.PathLike) -> str:
    """``YYYY-MM-DD HH:MM:SS`` from an EDF/BDF header's start date and time (bytes 168-183), or ``n/a``."""
    try:
        with open(path, "rb") as f:
            head = f.read(184)
        d, t = head[168:176].decode("ascii"), head[176:184].decode("ascii")
        m1, m2 = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", d), re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", t)
        if not (m1 and m2):
            return "n/a"
        dd, mm, yy = (int(g) for g in m1.groups())
        year = 1900 + yy if yy >= 85 else 2000 + yy  # the EDF specification's clipping date
        return f"{year:04d}-{mm:02d}-{dd:02d} {m2.group(1)}:{m2.group(2)}:{m2.group(3)}"
    except (OSError, UnicodeDecodeError):
        return "n/a"


def detect_to_tsv(
    edf: str | os.PathLike,
    tsv: str | os.PathLike,
    det: Detector,
    *,
    threshold: float = THRESHOLD,
    post: dict[str, Any] | None = None,
    overlap: float = 0.5,
    on_missing: str = "raise",
    batch_size: int = 4,
    progress: bool = False,
) -> dict[str, Any]:
    """Detect seizures in ``edf`` and write SzCORE's events TSV to ``tsv``; returns the detection summary.

    ``recordingDuration`` is the duration the file's header gives (what epilepsy2bids writes in the reference),
    so both masks have the same length; events are clipped to it."""
    from biodyn.io import edf_info
    from biodyn.metrics.szcore import write_events_tsv
    from biodyn.types import Event

    d = detect(
        edf,
        det,
        on_missing=on_missing,
        threshold=threshold,
        post=post,
        overlap=overlap,
        batch_size=batch_size,
        progress=progress,
    )
    duration = float(edf_info(edf)["duration_s"])
    events = [
        Event(e.onset_s, min(e.offset_s, duration) - e.onset_s, "sz")
        for e in d.events
        if e.onset_s < duration
    ]
    conf = [e_conf(d.probs, d.fs, e) for e in events]
    Path(tsv).parent.mkdir(parents=True, exist_ok=True)
    write_events_tsv(tsv, events, duration, confidences=conf, date_time=edf_start(edf))
    summary = d.summary()
    summary.update(recording_duration_s=duration, n_events=len(events))
    return summary


def checkpoint_digest(det: Detector) -> str:
    """SHA-256 of the detector's weights and ``state.json`` (an export's ``config.json``): what a reused
    recording must have been made with."""
    h = hashlib.sha256()
    for name in ("state.json", "config.json", "model.safetensors"):
        p = Path(det.checkpoint) / name
        if p.is_file():
            with open(p, "rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def score_dataset(
    bids_root: str | os.PathLike,
    hypotheses: str | os.PathLike,
    *,
    duration_tolerance_s: float = 0.0,
    params=None,
) -> dict[str, Any]:
    """SzCORE's evaluation of a hypotheses folder against a BIDS dataset's events files (module docstring).

    Returns ``{"szcore": {...sample_results, event_results with _std}, "cumulated": {...}, "subjects":
    {subject: {"sample": scores+counts, "event": ..., "recordings": n}}, "recordings": [...]}``."""
    from dataclasses import asdict

    from biodyn.metrics.szcore import (
        Counts,
        aggregate_subjects,
        events_mask,
        read_events_tsv,
        score_recording,
    )

    bids_root, hypotheses = Path(bids_root), Path(hypotheses)
    per_subject: dict[str, dict[str, Counts]] = {}
    n_rec: dict[str, int] = {}
    rows = []
    for subject, rel in reference_files(bids_root):
        ref = read_events_tsv(bids_root / rel)
        if ref.duration_s is None:
            from biodyn.errors import RecordingError

            raise RecordingError(bids_root / rel, "no rows: the recording's duration is unknown")
        ref_mask = events_mask(ref.events, ref.duration_s)
        hyp_path = hypotheses / rel
        hyp_mask = None
        if hyp_path.is_file():
            hyp = read_events_tsv(hyp_path)
            hyp_mask = events_mask(
                hyp.events, hyp.duration_s if hyp.duration_s is not None else ref.duration_s
            )
        counts, note = score_recording(
            ref_mask, hyp_mask, duration_tolerance_s=duration_tolerance_s, params=params
        )
        acc = per_subject.setdefault(subject, {"sample": Counts(), "event": Counts()})
        for k in acc:
            acc[k] = acc[k] + counts[k]
        n_rec[subject] = n_rec.get(subject, 0) + 1
        rows.append(
            {
                "events_tsv": str(rel),
                "subject": subject,
                "note": note,
                **{k: {**asdict(c), **c.scores()} for k, c in counts.items()},
            }
        )
    subjects = {
        s: {**{k: {**asdict(c), **c.scores()} for k, c in acc.items()}, "recordings": n_rec[s]}
        for s, acc in sorted(per_subject.items())
    }
    return {
        "szcore": aggregate_subjects(per_subject, True),
        "cumulated": aggregate_subjects(per_subject, False),
        "subjects": subjects,
        "recordings": rows,
    }


def dataset_name(root: Path) -> str:
    """``Name`` of the BIDS ``dataset_description.json``, else the folder's name."""
    import json

    try:
        return str(json.loads((root / "dataset_description.json").read_text())["Name"])
    except (OSError, ValueError, KeyError, TypeError):
        return root.resolve().name


def run_szcore_benchmark(
    bids_root: str | os.PathLike,
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    threshold: float = THRESHOLD,
    post: dict[str, Any] | None = None,
    overlap: float = 0.5,
    on_missing: str = "raise",
    batch_size: int = 4,
    duration_tolerance_s: float = 0.0,
    device: str = "cpu",
    progress: bool = True,
    figure: bool = True,
) -> dict[str, Any]:
    """Detect over every recording of ``bids_root`` (reusing finished ones), score as SzCORE does and write
    the outputs listed in the module docstring; returns the ``results.json`` dict.

    A recording the detector cannot read (missing channels, an unreadable file) is listed in ``failed`` and,
    as in SzCORE, scored as no detection."""
    import json

    from tqdm.auto import tqdm

    from biodyn.atomic import atomic_write_json, atomic_write_text
    from biodyn.errors import ConfigError, DataRootError, NothingMatchedError, RecordingError
    from biodyn.provenance import git_commit, stable_hash, versions
    from biodyn.rundir import check_out_dir

    check_detection_settings(
        threshold=threshold, overlap=overlap, batch_size=batch_size, on_missing=on_missing, post=post
    )
    check_out_dir(out_dir, "--out")
    bids_root, out = Path(bids_root), Path(out_dir)
    if not bids_root.is_dir():
        raise DataRootError(f"{bids_root}: not a directory (expected a BIDS dataset)")
    recs = bids_recordings(bids_root)
    if not recs:
        raise NothingMatchedError(f"{bids_root}: no sub-*/**/*_eeg.edf recordings (is it a BIDS dataset?)")
    det = load_detector(checkpoint, device=device)
    pp = {**POSTPROCESS, **(post or {})}
    settings = {
        "threshold": float(threshold),
        "postprocess": pp,
        "overlap": float(overlap),
        "on_missing": on_missing,
    }
    key = stable_hash({"weights": checkpoint_digest(det), **settings})
    hyp_dir, det_dir = out / "hypotheses", out / "detections"
    t0 = time.perf_counter()
    summaries, failed, reused = [], {}, 0
    for r in tqdm(recs, desc="szcore", unit="rec", disable=not progress):
        tsv, side = hyp_dir / r.rel_events, (det_dir / r.rel_events).with_suffix(".json")
        if side.is_file() and tsv.is_file():
            try:
                prev = json.loads(side.read_text())
            except ValueError:
                prev = {}
            if prev.get("key") == key:
                summaries.append(prev["summary"])
                reused += 1
                continue
        try:
            s = detect_to_tsv(
                r.edf,
                tsv,
                det,
                threshold=threshold,
                post=pp,
                overlap=overlap,
                on_missing=on_missing,
                batch_size=batch_size,
            )
        except (RecordingError, ConfigError) as e:
            failed[str(r.rel_events)] = str(e)
            tsv.unlink(missing_ok=True)  # a stale hypothesis of other settings must not be scored
            continue
        s["events_tsv"] = str(r.rel_events)
        side.parent.mkdir(parents=True, exist_ok=True)
        # written last: the done mark
        atomic_write_json(side, {"key": key, "settings": settings, "summary": s})
        summaries.append(s)
    detect_s = time.perf_counter() - t0
    scores = score_dataset(bids_root, hyp_dir, duration_tolerance_s=duration_tolerance_s)
    hours = sum(s.get("recording_duration_s", 0.0) for s in summaries) / 3600
    result = {
        "benchmark": "szcore",
        "dataset": dataset_name(bids_root),
        "bids_root": str(bids_root),
        "checkpoint": str(det.checkpoint),
        "model": det.model_name,
        "channels": det.channels,
        "settings": {**settings, "duration_tolerance_s": duration_tolerance_s},
        "scoring": {
            "mask_fs": 1,
            "tolerance_start_s": 30.0,
            "tolerance_end_s": 60.0,
            "min_gap_s": 90.0,
            "max_event_s": 300.0,
            "aggregation": "mean and std over subjects of per-subject sums",
        },
        **scores,
        "detected": len(summaries) - reused,
        "reused": reused,
        "failed": failed,
        "hours_detected": hours,
        "detect_seconds": detect_s,
        "detections": summaries,
        "git_commit": git_commit(),
        "versions": versions(),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "results.json", result)
    atomic_write_json(out / "szcore.json", scores["szcore"])
    atomic_write_text(out / "table.md", markdown_table(result))
    if figure:
        plot_subjects(result, out / "per_subject.png")
    return result


def _f(x: float, pct: bool = False) -> str:
    import math

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}" if pct else f"{x:.2f}"


def markdown_table(result: dict[str, Any]) -> str:
    """Per-subject event scores, then SzCORE's mean ± std over subjects and the pooled (cumulated) scores."""
    ev = result["szcore"]["event_results"]
    lines = [
        f"SzCORE event scoring of `{result['model']}` ({result['checkpoint']}) on {result['dataset']}: "
        f"{len(result['recordings'])} recordings, {len(result['subjects'])} subjects.",
        "",
        "| subject | recordings | seizures | TP | FP | sensitivity % | precision % | F1 % | FP/24 h |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s, v in result["subjects"].items():
        e = v["event"]
        lines.append(
            f"| {s} | {v['recordings']} | {e['ref_true']} | {e['tp']} | {e['fp']} | {_f(e['sensitivity'], True)} "
            f"| {_f(e['precision'], True)} | {_f(e['f1'], True)} | {_f(e['fpRate'])} |"
        )
    pm = lambda m, pct: f"{_f(ev[m], pct)} ± {_f(ev[m + '_std'], pct)}"  # noqa: E731
    lines.append(
        f"| **mean ± std over subjects (SzCORE)** | | | | | {pm('sensitivity', True)} | {pm('precision', True)} "
        f"| {pm('f1', True)} | {pm('fpRate', False)} |"
    )
    c = result["cumulated"]["event_results"]
    lines.append(
        f"| all recordings pooled | | | | | {_f(c['sensitivity'], True)} | {_f(c['precision'], True)} "
        f"| {_f(c['f1'], True)} | {_f(c['fpRate'])} |"
    )
    if result.get("failed"):
        lines += [
            "",
            f"{len(result['failed'])} recording(s) the detector could not process, scored as no detection:",
        ]
        lines += [f"- {k}: {v}" for k, v in result["failed"].items()]
    return "\n".join(lines) + "\n"


def plot_subjects(result: dict[str, Any], png: str | os.PathLike) -> None:
    """Event sensitivity, precision, F1 and false positives per 24 h per subject, SzCORE's mean (over the
    subjects where the figure is defined) dashed; an undefined figure is marked ``n/a``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from biodyn.atomic import atomic_path

    subjects = list(result["subjects"])
    ev = result["szcore"]["event_results"]
    panels = (
        ("sensitivity", "sensitivity"),
        ("precision", "precision"),
        ("f1", "F1"),
        ("fpRate", "false positives / 24 h"),
    )
    fig, axes = plt.subplots(1, 4, figsize=(max(11, 0.35 * len(subjects) * 4), 3.6), layout="constrained")
    for ax, (m, label) in zip(axes, panels):
        vals = np.array([result["subjects"][s]["event"][m] for s in subjects], dtype=float)
        x = np.arange(len(subjects))
        ax.bar(x, np.nan_to_num(vals), color="tab:blue")
        for k in np.flatnonzero(np.isnan(vals)):
            ax.text(x[k], 0.01 * ax.get_ylim()[1], "n/a", ha="center", va="bottom", fontsize=7, color="grey")
        ax.axhline(ev[m], color="k", ls="--", lw=0.8, label=f"mean {_f(ev[m])}")
        ax.set_xticks(x, subjects, rotation=90, fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        if m != "fpRate":
            ax.set_ylim(0, 1.15)
    fig.suptitle(
        f"SzCORE event scoring of {result['model']} on {result['dataset']}: {len(result['recordings'])} "
        f"recordings, {len(result['failed'])} not processed (scored as no detection)",
        fontsize=9,
    )
    with atomic_path(png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def szcore_contract(
    input_edf: str | os.PathLike, output_tsv: str | os.PathLike, checkpoint: str | os.PathLike, **kw
) -> dict[str, Any]:
    """The SzCORE container's contract: one EDF in, its events TSV out (``kw`` as :func:`detect_to_tsv`). The
    settings and the output path are checked before the detector is loaded or the EDF read."""
    from biodyn.rundir import check_out_file

    device = kw.pop("device", "cpu")
    check_detection_settings(
        **{k: kw[k] for k in ("threshold", "overlap", "batch_size", "on_missing", "post") if k in kw}
    )
    check_out_file(output_tsv, "OUTPUT")
    return detect_to_tsv(input_edf, output_tsv, load_detector(checkpoint, device=device), **kw)


__all__ = [
    "POSTPROCESS",
    "THRESHOLD",
    "bids_recordings",
    "detect",
    "detect_to_tsv",
    "load_detector",
    "parse_post",
    "run_szcore_benchmark",
    "score_dataset",
    "szcore_contract",
]

"""Brain-Go-Brr: running a trained seizure detector on any recording: montage mapping, the training preprocessing,
overlapping windows stitched into one probability track, post-processing, and the output files.

Outputs for ``<out>/<stem>``: ``.csv_bi`` (TUSZ v2 ``TERM`` rows), ``_events.tsv`` (BIDS / SzCORE columns
``onset duration eventType confidence channels dateTime recordingDuration``), ``_probs.npy`` (float32
per-sample seizure probability at the model's rate), ``.png`` (the probability over the recording with the
threshold used, a zoom on each event: :mod:`biodyn.report.detection_figure`) and, on request,
``_annotated.edf`` (the recording as EDF+ with the detections as annotations).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.errors import CheckpointError, ConfigError, RecordingError
from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS, SEIZURE_THRESHOLD
from biodyn.models._pretrained import read_state
from biodyn.systems.seizure.inference import OverlapAverage, window_starts
from biodyn.types import Event

WINDOWS_PER_CALL = 4  # windows per model call (biodyn detect --batch-size)
MISSING_HINT = " (use --on-missing zero to zero-fill)"


@dataclass
class Detector:
    """A loaded seizure detector and what applying it needs (from its ``input_spec``)."""

    model: Any
    model_name: str
    channels: list[str]
    fs: float
    window_s: float
    preprocess: dict[str, Any]
    checkpoint: Path
    step: int = 0
    threshold: float = SEIZURE_THRESHOLD


@dataclass
class Detection:
    path: str
    duration_s: float
    fs: float
    probs: np.ndarray
    events: list[Event]
    rtf: float
    compute_s: float
    padded: bool = False
    zero_filled: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    threshold: float = SEIZURE_THRESHOLD
    start_time: str | None = None  # the recording's start (ISO 8601) when its file has one
    renamed_channels: list[dict[str, str]] = field(default_factory=list)  # repeated names the reader renamed

    def summary(self) -> dict[str, Any]:
        events = [
            {
                "onset_s": e.onset_s,
                "duration_s": e.duration_s,
                "label": e.label,
                "confidence": event_confidence(self.probs, self.fs, e),
            }
            for e in self.events
        ]
        return {
            "recording": self.path,
            "duration_s": self.duration_s,
            "fs": self.fs,
            "events": events,
            "n_events": len(self.events),
            "threshold": self.threshold,
            "real_time_factor": self.rtf,
            "compute_s": self.compute_s,
            "padded_to_one_window": self.padded,
            "zero_filled_channels": self.zero_filled,
            "derived_bipolar_channels": self.derived,
            "outputs": self.outputs,
            "start_time": self.start_time,
            "renamed_channels": self.renamed_channels,
        }


def event_confidence(probs: np.ndarray, fs: float, e: Event) -> float:
    """Mean probability over the event's samples (NaN for an event outside the track)."""
    a, b = round(e.onset_s * fs), max(round(e.offset_s * fs), round(e.onset_s * fs) + 1)
    return float(np.mean(probs[a:b])) if b > a and a < len(probs) else float("nan")


def szcore_datetime(iso: str | None) -> str:
    """The recording's start as SzCORE's ``dateTime`` (``YYYY-MM-DD HH:MM:SS``), ``n/a`` when unknown."""
    if not iso:
        return "n/a"
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return "n/a"


def load_detector(path: str | os.PathLike, device: str = "cpu") -> Detector:
    """The seizure detector in ``path``: an export folder (``save_pretrained`` / ``biodyn export``), a Trainer
    checkpoint folder, a training run, or a Hub repository id ``org/name[@revision]`` of an export
    (:func:`biodyn.models.from_pretrained`). The montage, rate, window,
    preprocessing and operating threshold are read from the model's ``input_spec`` (checkpoints written before
    the spec existed: from ``state.json``'s ``extra.data``)."""
    from biodyn.models import find_checkpoint, from_pretrained, model_output
    from biodyn.models._hub import resolve
    from biodyn.models._pretrained import is_export

    path = resolve(path)  # a Hub id (org/name[@rev]) -> its local snapshot, once; a local folder as it is
    model = from_pretrained(path, device=device)
    name = model.model_name
    export = is_export(path)
    folder = Path(path) if export else find_checkpoint(path)
    if model_output(name) != "per_sample":
        raise CheckpointError(
            f"{folder}: a checkpoint of model {name!r}, not a seizure detector (a model "
            "with per-sample output)"
        )
    spec = model.input_spec.to_dict() if model.input_spec is not None else {}
    step = 0
    if not export:
        st = read_state(folder)
        step = int(st.get("step", 0))
        old = (st.get("extra") or {}).get("data") or {}  # runs written before the input spec
        spec.setdefault("channels", old.get("channels"))
        spec.setdefault("sfreq", old.get("fs"))
        spec.setdefault("window_s", old.get("window_s"))
        spec.setdefault("preprocessing", old.get("preprocess"))
    missing = [k for k in ("channels", "sfreq", "window_s") if not spec.get(k)]
    if missing:
        raise CheckpointError(
            f"{folder}: the model records no {'/'.join(missing)} (input_spec): it cannot be applied to a recording"
        )
    if len(spec["channels"]) != model.n_chans:
        raise CheckpointError(
            f"{folder}: montage of {len(spec['channels'])} channels, model of {model.n_chans}"
        )
    pre = spec.get("preprocessing")
    if isinstance(pre, str):  # a named chain of biodyn.signal.config
        from biodyn.signal import config as sigcfg

        chain = getattr(sigcfg, pre, None)
        if chain is None:
            raise CheckpointError(f"{folder}: unknown preprocessing chain {pre!r}")
        pre = chain.to_dict()
    thr = spec.get("threshold")
    return Detector(
        model,
        name,
        list(spec["channels"]),
        float(spec["sfreq"]),
        float(spec["window_s"]),
        dict(pre or {}),
        Path(folder),
        step,
        SEIZURE_THRESHOLD if thr is None else float(thr),
    )


def as_recording(source, *, fs: float | None = None, channels: list[str] | None = None):
    """A :class:`~biodyn.types.Recording` of ``source``: a file path (any format
    :func:`biodyn.io.read_recording` reads), a ``Recording``, an MNE ``Raw`` (volts -> microvolts, as the
    readers give them), or an array ``(C, T)`` with its rate ``fs`` and ``channels``."""
    from biodyn.types import Recording

    if isinstance(source, Recording):
        return source
    if isinstance(source, (str, os.PathLike)):
        from biodyn.io import read_recording

        return read_recording(source)
    if isinstance(source, np.ndarray):
        if fs is None or channels is None:
            raise ConfigError(
                "an array needs its rate and channel names: detect(x, det, fs=..., channels=[...])"
            )
        if source.ndim != 2 or source.shape[0] != len(channels):
            raise ConfigError(
                f"array of shape {source.shape}: expected (C, T) with C = {len(channels)} channels"
            )
        return Recording(np.asarray(source, dtype=np.float32), float(fs), list(channels), [], {})
    if hasattr(source, "get_data") and hasattr(source, "info"):  # an MNE Raw
        return Recording.from_mne(source)
    raise ConfigError(
        f"cannot detect on a {type(source).__name__}: pass a file path, a Recording, an MNE Raw or an array"
    )


def predict_probs(
    det: Detector,
    x: np.ndarray,
    *,
    overlap: float = 0.5,
    batch_size: int = WINDOWS_PER_CALL,
    progress: bool = True,
) -> np.ndarray:
    """Per-sample probabilities ``(T,)`` of a preprocessed ``(C, T)`` array with ``T >=`` one window:
    windows overlapping by ``overlap``, each sample the mean over the windows covering it."""
    import torch
    from tqdm.auto import tqdm

    if not 0 <= overlap < 1:
        raise ConfigError(f"invalid overlap={overlap!r}; must be in [0, 1)")
    win = round(det.window_s * det.fs)
    n = x.shape[1]
    stride = max(1, round(win * (1 - overlap)))
    starts = window_starts(n, win, stride)
    track = OverlapAverage(n)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    dev = next(det.model.parameters()).device
    with (
        torch.inference_mode(),
        tqdm(total=len(starts), unit="win", desc="detect", disable=not progress) as bar,
    ):
        for i in range(0, len(starts), batch_size):
            ss = starts[i : i + batch_size]
            batch = torch.stack([xt[:, s : s + win] for s in ss]).to(dev)
            p = torch.sigmoid(det.model(batch).float()).cpu().numpy().astype(np.float64)
            for s, row in zip(ss, p):
                track.add(s, row)
            bar.update(len(ss))
    return track.mean()[0].astype(np.float32)


def detect(
    source,
    det: Detector | str | os.PathLike,
    *,
    fs: float | None = None,
    channels: list[str] | None = None,
    on_missing: str = "raise",
    threshold: float | None = None,
    post: dict[str, Any] | None = None,
    overlap: float = 0.5,
    batch_size: int = WINDOWS_PER_CALL,
    progress: bool = True,
) -> Detection:
    """Detect seizures in one recording (no files written). ``source``: a file path, a
    :class:`~biodyn.types.Recording`, an MNE ``Raw``, or an array ``(C, T)`` with ``fs`` and ``channels``;
    ``det``: a loaded :class:`Detector` or the folder to load it from (an export or a run).
    ``threshold``: default the detector's operating threshold."""
    from biodyn.metrics.postprocess import probs_to_events
    from biodyn.montage import select_channels
    from biodyn.signal import PreprocessConfig, preprocess

    if not isinstance(det, Detector):
        det = load_detector(det)
    threshold = det.threshold if threshold is None else threshold
    rec = as_recording(source, fs=fs, channels=channels)
    path = (
        source
        if isinstance(source, (str, os.PathLike))
        else rec.meta.get("path", f"<{type(source).__name__}>")
    )
    x, _, zero, derived = select_channels(
        rec.data, rec.channels, det.channels, on_missing=on_missing, source=str(path), hint=MISSING_HINT
    )
    cfg = PreprocessConfig(**det.preprocess) if det.preprocess else PreprocessConfig(fs=det.fs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, fs = preprocess(
                x,
                rec.fs,
                cfg,
                channels=det.channels,
                source=str(path),
                on_flat="zero" if on_missing == "zero" else "raise",
            )
    except ConfigError as e:  # e.g. a rate that cannot be resampled to the model's
        raise RecordingError(path, f"cannot preprocess as in training: {e}") from e
    if abs(fs - det.fs) > 1e-3 * det.fs:
        raise RecordingError(path, f"preprocessed rate {fs:g} Hz differs from the detector's {det.fs:g} Hz")
    n = x.shape[1]
    win = round(det.window_s * det.fs)
    padded = n < win
    if padded:
        warnings.warn(
            f"{path}: {n / fs:.1f} s is shorter than one {det.window_s:g} s window; zero-padded to "
            f"{det.window_s:g} s (probabilities kept for the real samples only)",
            stacklevel=2,
        )
        x = np.pad(x, ((0, 0), (0, win - n)))
    t0 = time.perf_counter()
    probs = predict_probs(det, x, overlap=overlap, batch_size=batch_size, progress=progress)[:n]
    compute = time.perf_counter() - t0
    pp = {**SEIZURE_POSTPROCESS, **(post or {})}
    events = probs_to_events(probs.astype(np.float64), fs, threshold=threshold, **pp)
    dur = n / fs
    return Detection(
        str(path),
        dur,
        fs,
        probs,
        events,
        dur / max(compute, 1e-9),
        compute,
        padded,
        zero,
        derived,
        threshold=threshold,
        start_time=rec.meta.get("start_time"),
        renamed_channels=list(rec.meta.get("renamed_channels") or []),
    )


def write_outputs(
    d: Detection,
    rec_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    edf_annotations: bool = False,
    png: bool = True,
    det: Detector | None = None,
    reference: list[Event] | None = None,
) -> dict[str, str]:
    """Write the detection's files (module docstring); returns ``{kind: path}``."""
    from biodyn.atomic import atomic_path, atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = output_stem(rec_path)
    paths = {
        "csv_bi": out / f"{stem}.csv_bi",
        "events_tsv": out / f"{stem}_events.tsv",
        "probs": out / f"{stem}_probs.npy",
    }
    lines = [
        "# version = csv_v1.0.0",
        f"# bname = {stem}",
        f"# duration = {d.duration_s:.4f} secs",
        "#",
        "channel,start_time,stop_time,label,confidence",
    ]
    for e in d.events:
        lines.append(f"TERM,{e.onset_s:.4f},{e.offset_s:.4f},seiz,{event_confidence(d.probs, d.fs, e):.4f}")
    atomic_write_text(paths["csv_bi"], "\n".join(lines) + "\n")
    tsv = ["onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration"]
    start = szcore_datetime(d.start_time)
    for e in d.events:
        tsv.append(
            f"{e.onset_s:.4f}\t{e.duration_s:.4f}\tsz\t{event_confidence(d.probs, d.fs, e):.4f}\tn/a\t{start}\t"
            f"{d.duration_s:.4f}"
        )
    atomic_write_text(paths["events_tsv"], "\n".join(tsv) + "\n")
    with atomic_path(paths["probs"], suffix=".npy") as tmp:
        np.save(tmp, d.probs.astype(np.float32))
    if edf_annotations:
        from biodyn.io import read_recording, write_edf

        rec = read_recording(rec_path)
        rec.events = [
            *rec.events,
            *[Event(e.onset_s, e.duration_s, "seiz (biodyn detect)") for e in d.events],
        ]
        paths["edf"] = out / f"{stem}_annotated.edf"
        write_edf(paths["edf"], rec)
    if png:
        paths["png"] = out / f"{stem}.png"
        plot_detection(d, rec_path, paths["png"], det, reference=reference)
    d.outputs = {k: str(v) for k, v in paths.items()}
    return d.outputs


def plot_detection(
    d: Detection,
    rec_path,
    png_path,
    det: Detector | None = None,
    max_traces: int = 23,
    reference: list[Event] | None = None,
) -> None:
    """The detection figure (:mod:`biodyn.report.detection_figure`): the probability over the whole recording
    with the threshold the events were found with, a zoom on each event with the EEG of the detector's
    montage (the recording's channels without a detector)."""
    from biodyn.io import read_recording
    from biodyn.montage import select_channels
    from biodyn.report.detection_figure import detection_figure, save_figure

    rec = read_recording(rec_path)
    names = det.channels if det is not None else rec.channels
    x = select_channels(rec.data, rec.channels, names, on_missing="zero")[0] if det is not None else rec.data
    units = (rec.meta.get("units") or ["µV"])[0] or "µV"
    units = "µV" if units.lower() in ("uv", "µv") else units
    fig = detection_figure(
        x,
        rec.fs,
        list(names),
        d.probs,
        d.fs,
        d.threshold,
        d.events,
        reference=reference,
        confidences=[event_confidence(d.probs, d.fs, e) for e in d.events],
        units=units,
        title=f"{Path(rec_path).name}: {len(d.events)} detection(s) at threshold {d.threshold:.3g}",
        max_channels=max_traces,
    )
    save_figure(fig, png_path)


def output_stem(path: str | os.PathLike) -> str:
    """The name the outputs of one recording share: its file name up to the first dot."""
    return Path(path).name.split(".")[0]


def check_detection_settings(
    *,
    threshold: float | None = None,
    overlap: float = 0.5,
    batch_size: int = WINDOWS_PER_CALL,
    on_missing: str = "raise",
    post=None,
) -> None:
    """The settings the detection commands share (``detect``, ``szcore``, ``benchmark szcore``), checked before
    the detector is loaded: the threshold a probability in (0, 1) (None: the detector's own), the overlap in
    [0, 1), the batch size >= 1, ``on_missing`` raise|zero and every post-processing value >= 0 (the message names the key)."""
    from biodyn.errors import check_option, check_range

    if threshold is not None:
        check_range("--threshold", threshold, low=0, high=1, low_open=True, high_open=True)
    check_range("--overlap", overlap, low=0, high=1, high_open=True)
    check_range("--batch-size", batch_size, low=1, integer=True)
    check_option("--on-missing", on_missing, ("raise", "zero"))
    for k, v in (post or {}).items():
        if v is not None:
            check_range(f"--post {k}", v, low=0, integer=k.endswith("_samples"))


def check_detect_args(
    paths,
    out_dir,
    json_path=None,
    *,
    threshold: float | None = None,
    overlap: float = 0.5,
    batch_size: int = WINDOWS_PER_CALL,
    on_missing: str = "raise",
    post=None,
) -> None:
    """Every setting of :func:`detect_files` checked before a recording is read or a file written: the
    detection settings (:func:`check_detection_settings`), the output folder and JSON path writable, and no
    two recordings writing the same output names."""
    from biodyn.rundir import check_out_dir, check_out_file

    check_detection_settings(
        threshold=threshold, overlap=overlap, batch_size=batch_size, on_missing=on_missing, post=post
    )
    check_out_dir(out_dir, "--out")
    if json_path:
        check_out_file(json_path, "--json")
    seen: dict[str, str] = {}
    for p in paths:
        stem = output_stem(p)
        if stem in seen:
            raise ConfigError(
                f"{seen[stem]} and {p} would write the same outputs ({Path(out_dir) / stem}.*); "
                "give each name once, or run them with different --out folders"
            )
        seen[stem] = str(p)


def detect_files(
    paths, checkpoint, out_dir, *, json_path=None, edf_annotations=False, png=True, progress=True, **kw
) -> dict[str, Any]:
    """Batch job: every recording in ``paths``; a file that fails is skipped and reported."""
    from biodyn.atomic import atomic_write_json

    check_detect_args(paths, out_dir, json_path, **kw)
    det = load_detector(checkpoint)
    done, failed = [], {}
    for p in paths:
        try:
            d = detect(p, det, progress=progress, **kw)
            write_outputs(d, p, out_dir, edf_annotations=edf_annotations, png=png, det=det)
            done.append(d.summary())
        except (RecordingError, ConfigError) as e:
            failed[str(p)] = str(e)
    report = {
        "checkpoint": str(det.checkpoint),
        "model": det.model_name,
        "channels": det.channels,
        "fs": det.fs,
        "window_s": det.window_s,
        "threshold": det.threshold if kw.get("threshold") is None else kw["threshold"],
        "postprocess": {**SEIZURE_POSTPROCESS, **(kw.get("post") or {})},
        "recordings": done,
        "failed": failed,
    }
    if json_path:
        atomic_write_json(json_path, report)
    return report


__all__ = [
    "Detection",
    "Detector",
    "as_recording",
    "check_detection_settings",
    "detect",
    "detect_files",
    "event_confidence",
    "load_detector",
    "write_outputs",
]

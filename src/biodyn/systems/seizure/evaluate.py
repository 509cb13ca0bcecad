"""Seizure-detection scoring shared by training (early stopping), ``biodyn eval`` and ``biodyn detect``.

Post-processing defaults are the Brain-Go-Brr reference implementation's: hysteresis (on at 0.86, off below
0.78), binary opening over 11 and closing over 31 samples, events merged across gaps under 2 s, events
kept when 3-600 s long.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from biodyn.types import Event

THRESHOLD = 0.86  # switch-on level; the switch-off level is THRESHOLD - hysteresis_gap
POSTPROCESS: dict[str, Any] = {"hysteresis_gap": 0.08, "opening_samples": 11, "closing_samples": 31,
                               "merge_gap_s": 2.0, "min_duration_s": 3.0, "max_duration_s": 600.0}  # fmt: skip


def parse_post(items) -> dict[str, Any]:
    """``["opening_samples=21", "merge_gap_s=5"]`` -> post-processing overrides, checked against
    :data:`POSTPROCESS` (an unknown key or a non-number is a :class:`~biodyn.errors.ConfigError`)."""
    from biodyn.errors import ConfigError

    out: dict[str, Any] = {}
    for it in items or []:
        key, sep, val = str(it).partition("=")
        if not sep or key not in POSTPROCESS:
            raise ConfigError(
                f"invalid --post {it!r}; expected KEY=VALUE with KEY one of {', '.join(POSTPROCESS)}"
            )
        try:
            out[key] = (
                None
                if val.lower() in ("none", "null")
                else (int(val) if key.endswith("_samples") else float(val))
            )
        except ValueError:
            raise ConfigError(f"invalid --post {it!r}: {val!r} is not a number") from None
    return out


def mask_events(mask: np.ndarray, fs: float, label: str = "seiz") -> list[Event]:
    """Reference events from a per-sample 0/1 mask ``(T,)`` (negative = unlabelled counts as background)."""
    from biodyn.metrics.postprocess import mask_to_intervals

    return [
        Event(float(a / fs), float((b - a) / fs), label) for a, b in mask_to_intervals(np.asarray(mask) > 0)
    ]


def window_metrics(probs: np.ndarray, target: np.ndarray, fs: float, fa_target: float = 10.0,
                   post: dict[str, Any] | None = None) -> dict[str, float]:  # fmt: skip
    """Metrics of per-sample probabilities ``(N, T)`` against masks ``(N, T)``, each window a recording:
    ``auroc`` (per sample), ``window_auroc`` (window max vs any seizure sample), and the OVERLAP
    ``sens_at_10fa`` (highest sensitivity among thresholds with FA/24h <= ``fa_target``; 0 when none),
    with its ``threshold_at_10fa`` and ``fa_at_10fa``."""
    from biodyn.metrics.classification import auroc
    from biodyn.metrics.detection import Scored, choose_thresholds_bisect

    probs = np.asarray(probs, np.float64).reshape(len(probs), -1)
    target = np.asarray(target).reshape(probs.shape)
    out: dict[str, float] = {}
    y = (target > 0).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["auroc"] = auroc(y, probs.ravel()) if 0 < y.sum() < y.size else float("nan")
        wy = (target > 0).any(axis=1)
        out["window_auroc"] = auroc(wy, probs.max(axis=1)) if 0 < wy.sum() < len(wy) else float("nan")
    recs = [
        Scored(p, fs, mask_events(t, fs), record_id=str(i)) for i, (p, t) in enumerate(zip(probs, target))
    ]
    pp = {**POSTPROCESS, **(post or {})}
    op = choose_thresholds_bisect(recs, (fa_target,), **pp)[fa_target]
    out["sens_at_10fa"] = 0.0 if op is None or np.isnan(op.sensitivity) else float(op.sensitivity)
    out["threshold_at_10fa"] = float("nan") if op is None else float(op.threshold)
    out["fa_at_10fa"] = float("nan") if op is None else float(op.fa_per_24h)
    return out


# ------------------------------------------------------------------------------------------ record-level eval
def record_probs(model, ds, *, batch_size: int = 4, device="cpu", progress: bool = False) -> list:
    """Per-record probability tracks of a :class:`~biodyn.cache.WindowDataset`: every window of a record
    is scored and overlapping windows are averaged, over the span the windows cover. Returns
    :class:`~biodyn.metrics.detection.Scored` records (reference events from the cached masks)."""
    import torch
    from tqdm.auto import tqdm

    from biodyn.metrics.detection import Scored

    model.eval()
    out = []
    rec_of = ds._rec
    with torch.no_grad():
        for k, e in enumerate(tqdm(ds.entries, desc="records", disable=not progress)):
            idx = np.flatnonzero(rec_of == k)
            if not len(idx):
                continue
            starts = ds._start[idx]
            span = int(starts.max()) + ds.window
            acc, cnt = np.zeros(span), np.zeros(span)
            mask = np.zeros(span, np.int64)
            for i in range(0, len(idx), batch_size):
                items = [ds[int(j)] for j in idx[i : i + batch_size]]
                x = torch.stack([it["x"] for it in items]).to(device)
                p = torch.sigmoid(model(x).float()).reshape(len(items), -1).cpu().numpy()
                for it, row in zip(items, p):
                    s = it["meta"]["start"]
                    acc[s : s + ds.window] += row
                    cnt[s : s + ds.window] += 1
                    if "mask" in it:
                        mask[s : s + ds.window] = it["mask"].numpy()
            covered = cnt > 0
            probs = np.where(covered, acc / np.maximum(cnt, 1), 0.0)
            sc = Scored(probs, ds.fs, mask_events(mask, ds.fs), record_id=e["record_id"])
            sc.mask = mask  # type: ignore[attr-defined]
            out.append(sc)
    return out


def _event_totals(records, threshold: float, post: dict[str, Any]) -> dict[str, Any]:
    """OVERLAP and TAES counts (seizure label) over records at one threshold."""
    from biodyn.metrics.events import Counts, normalize, score_overlap, score_taes
    from biodyn.metrics.postprocess import probs_to_events

    tot = {"overlap": Counts(), "taes": Counts()}
    dur = 0.0
    for r in records:
        hyp = probs_to_events(r.probs, r.fs, threshold=threshold, **post)
        ref = normalize([e for e in r.reference if e.label == "seiz"], r.duration_s)
        h = normalize(hyp, r.duration_s)
        tot["overlap"] += score_overlap(ref, h, ("seiz", "bckg"))["seiz"]
        tot["taes"] += score_taes(ref, h, ("seiz", "bckg"))["seiz"]
        dur += r.duration_s
    res = {}
    for k, c in tot.items():
        res[k] = {"targets": c.targets, "hits": c.hits, "misses": c.misses, "false_alarms": c.false_alarms,
                  "sensitivity": c.hits / c.targets if c.targets else float("nan"),
                  "fa_per_24h": c.false_alarms / dur * 86400.0 if dur else float("nan")}  # fmt: skip
    res["duration_s"] = dur
    return res


def score_records(
    dev, evalset, *, post: dict[str, Any] | None = None, threshold: float = THRESHOLD
) -> dict[str, Any]:
    """The full seizure report: thresholds tuned on ``dev`` for 10/5/2.5/1 FA/24h and applied frozen to
    ``evalset`` (OVERLAP + SzCORE), OVERLAP and TAES at the default threshold, and per-sample AUROC, AUPRC,
    ECE and F1 (at the default threshold) over ``evalset``."""
    from biodyn.metrics.classification import auprc, auroc, ece, f1_at_threshold
    from biodyn.metrics.detection import FA_TARGETS, sensitivity_at_fa

    pp = {**POSTPROCESS, **(post or {})}
    rep = sensitivity_at_fa(dev, evalset, FA_TARGETS, search="bisect", **pp)
    y = np.concatenate([r.mask for r in evalset]) > 0
    p = np.concatenate([r.probs for r in evalset])
    both = 0 < y.sum() < y.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep["sample_metrics"] = {
            "auroc": auroc(y, p) if both else float("nan"),
            "auprc": auprc(y, p) if both else float("nan"),
            "ece": ece(p, y.astype(int)),
            "f1": f1_at_threshold(y, p, threshold),
            "n_samples": int(y.size), "seizure_fraction": float(y.mean()),
        }  # fmt: skip
    rep["default_threshold"] = {"threshold": threshold, **_event_totals(evalset, threshold, pp)}
    rep["n_records"] = {"dev": len(dev), "eval": len(evalset)}
    return rep


def evaluate_seizure_run(
    run_dir,
    *,
    split: str = "eval",
    which: str = "best",
    progress: bool = False,
    post: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``biodyn eval RUN_DIR --split dev|eval`` for a seizure run: writes ``eval_results.json`` (schema in
    ``docs/seizure.md``) and ``eval_results.png`` (dev sensitivity vs FA/24h) in ``run_dir``."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from biodyn.errors import ConfigError, check_option
    from biodyn.metrics.detection import save_report
    from biodyn.models import create_model
    from biodyn.train.checkpoint import load_checkpoint, read_state
    from biodyn.train.config import ExperimentConfig
    from biodyn.train.experiment import build_data

    check_option("split", split, ("dev", "eval"))
    run = Path(run_dir)
    if not (run / "config.yaml").is_file():
        raise ConfigError(f"{run}: not a training run (no config.yaml)")
    exp = OmegaConf.to_object(
        OmegaConf.merge(OmegaConf.structured(ExperimentConfig), OmegaConf.load(run / "config.yaml"))
    )
    ckpt = run / "checkpoints" / which
    st = read_state(ckpt, model_name=exp.model.name)
    model = create_model(exp.model.name, **st["model_config"])
    load_checkpoint(ckpt, model=model, model_name=exp.model.name, restore_rng=False)
    data = build_data(exp)
    dev = record_probs(model, data["val"], progress=progress)
    evalset = dev if split == "dev" else record_probs(model, data["test"], progress=progress)
    rep = score_records(dev, evalset, post=post)
    rep.update({"run_dir": str(run), "checkpoint": which, "step": st["step"], "split": split,
                "model": exp.model.name, "data_manifest_hash": data["manifest_hash"]})  # fmt: skip
    save_report(rep, run / "eval_results.json", run / "eval_results.png",
                title=f"{exp.model.name}: OVERLAP sensitivity vs FA/24h (dev)")  # fmt: skip
    return rep

"""Brain-Go-Brr: evaluation of a seizure-detection training run (``biodyn eval RUN``).

Every window of a record is scored and overlapping windows are averaged into one probability track per
record; the records are then scored with :mod:`biodyn.metrics` (OVERLAP/TAES events after the seizure
post-processing :data:`biodyn.metrics.postprocess.SEIZURE_POSTPROCESS`, sensitivity at fixed FA/24h with
thresholds tuned on dev and frozen on eval, per-sample AUROC/AUPRC/ECE/F1).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biodyn.metrics.detection import Scored, mask_events
from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS, SEIZURE_THRESHOLD
from biodyn.systems.seizure.inference import OverlapAverage


@dataclass
class RecordScores(Scored):
    """A record's stitched probability track with its reference events and its per-sample 0/1 ``mask``."""

    mask: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


# ------------------------------------------------------------------------------------------ record-level eval
def record_probs(model, ds, *, batch_size: int = 4, device="cpu", progress: bool = False) -> list:
    """Per-record probability tracks of a :class:`~biodyn.cache.WindowDataset`: every window of a record
    is scored and overlapping windows are averaged, over the span the windows cover. Returns
    :class:`RecordScores` (reference events and masks from the cache)."""
    import torch
    from tqdm.auto import tqdm

    model.eval()
    out = []
    with torch.no_grad():
        for k, e in enumerate(tqdm(ds.entries, desc="records", disable=not progress)):
            idx, starts = ds.record_windows(k)
            if not len(idx):
                continue
            track = OverlapAverage(int(starts.max()) + ds.window)
            mask = np.zeros(len(track.total), np.int64)
            for i in range(0, len(idx), batch_size):
                items = [ds[int(j)] for j in idx[i : i + batch_size]]
                x = torch.stack([it["x"] for it in items]).to(device)
                p = torch.sigmoid(model(x).float()).reshape(len(items), -1).cpu().numpy()
                for it, row in zip(items, p):
                    s = it["meta"]["start"]
                    track.add(s, row)
                    if "mask" in it:
                        mask[s : s + ds.window] = it["mask"].numpy()
            probs = track.mean()[0]
            out.append(
                RecordScores(probs, ds.fs, mask_events(mask, ds.fs), record_id=e["record_id"], mask=mask)
            )
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
        res[k] = {
            "targets": c.targets,
            "hits": c.hits,
            "misses": c.misses,
            "false_alarms": c.false_alarms,
            "sensitivity": c.hits / c.targets if c.targets else float("nan"),
            "fa_per_24h": c.false_alarms / dur * 86400.0 if dur else float("nan"),
        }
    res["duration_s"] = dur
    return res


def score_records(
    dev, evalset, *, post: dict[str, Any] | None = None, threshold: float = SEIZURE_THRESHOLD
) -> dict[str, Any]:
    """The full seizure report: thresholds tuned on ``dev`` for 10/5/2.5/1 FA/24h and applied frozen to
    ``evalset`` (OVERLAP + SzCORE), OVERLAP and TAES at the default threshold, and per-sample AUROC, AUPRC,
    ECE and F1 (at the default threshold) over ``evalset``."""
    from biodyn.metrics.classification import auprc, auroc, ece, f1_at_threshold
    from biodyn.metrics.detection import FA_TARGETS, sensitivity_at_fa

    pp = {**SEIZURE_POSTPROCESS, **(post or {})}
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
            "n_samples": int(y.size),
            "seizure_fraction": float(y.mean()),
        }
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
    """``biodyn eval RUN_DIR`` for a seizure run: thresholds tuned on the validation (dev) records and applied
    frozen to ``split`` (``train``/``val``/``test``; ``dev``/``eval`` name ``val``/``test``); writes
    ``eval_results.json`` (schema in ``docs/seizure.md``) and ``eval_results.png`` (dev sensitivity vs FA/24h)
    in ``run_dir``."""
    from pathlib import Path

    from biodyn.errors import CheckpointError, check_option
    from biodyn.metrics.plot import save_report
    from biodyn.models import find_checkpoint, from_pretrained
    from biodyn.models._pretrained import read_state
    from biodyn.train.evaluate import load_run_config
    from biodyn.train.experiment import build_data

    check_option("split", split, ("train", "val", "test", "dev", "eval"))
    split = {"dev": "val", "eval": "test"}.get(split, split)
    run = Path(run_dir)
    exp = load_run_config(run)  # train.out_dir = run_dir: a moved run builds no cache at its old place
    ckpt = find_checkpoint(run / "checkpoints" / which)  # with the fallback of an interrupted swap
    if ckpt is None:
        raise CheckpointError(f"{run}: no {which!r} checkpoint (checkpoints/{which}/state.json)")
    st = read_state(ckpt, model_name=exp.model.name)
    model = from_pretrained(ckpt)
    data = build_data(exp)
    dev = record_probs(model, data["val"], progress=progress)
    evalset = dev if split == "val" else record_probs(model, data[split], progress=progress)
    rep = score_records(dev, evalset, post=post)
    rep.update(
        {
            "run_dir": str(run),
            "checkpoint": which,
            "step": st["step"],
            "split": split,
            "model": exp.model.name,
            "data_manifest_hash": data["manifest_hash"],
        }
    )
    save_report(
        rep,
        run / "eval_results.json",
        run / "eval_results.png",
        title=f"{exp.model.name}: OVERLAP sensitivity vs FA/24h (dev)",
    )
    return rep

"""PRISM: evaluation of a run folder (``biodyn eval RUN``) and prediction on new data (``biodyn prism
--predict``, :func:`predict`).

Evaluation reloads the run's model with :func:`biodyn.models.from_pretrained` and its data with the run's own
config, and scores a split with the task's metrics (multiclass accuracy/AUROC/F1/kappa; PTB-XL's multilabel
macro-AUROC). Prediction featurises only the inputs it is given, with the settings and the training split's
normalisation statistics the model carries in its ``input_spec``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.errors import CheckpointError, ConfigError, check_option


def evaluate_prism_run(
    run_dir: str | os.PathLike, *, which: str = "best", split: str = "test"
) -> dict[str, Any]:
    """Metrics of a PRISM run's ``checkpoints/<which>`` on ``split`` (``train``/``val``/``test``): a single run
    ``{"metrics": {...}}``, a joint run one entry per modality under ``"metrics"``."""
    from biodyn.models import find_checkpoint, from_pretrained
    from biodyn.systems.prism.config import PrismRunConfig
    from biodyn.systems.prism.run import classification_metrics, load_modality, predict, read_run_config

    check_option("split", split, ("train", "val", "test"))
    run = Path(run_dir)
    saved = read_run_config(run)
    cfg = PrismRunConfig.from_dict({**saved["run"], "progress": False})
    ckpt = find_checkpoint(run / "checkpoints" / which)
    if ckpt is None:
        raise CheckpointError(f"{run}: no {which!r} checkpoint (checkpoints/{which}/state.json)")
    model = from_pretrained(ckpt)
    out: dict[str, Any] = {"run_dir": str(run), "system": "prism", "checkpoint": which, "split": split}
    if saved.get("mode") == "joint" or cfg.mode == "joint":
        out["metrics"] = {}
        for m in model.input_spec.modalities if model.input_spec else []:
            data = load_modality(m, cfg)
            lg, y = predict(
                model,
                getattr(data, split),
                cfg.batch_size,
                "cpu",
                forward=lambda x, m=m: model(x, modality=m),
            )
            out["metrics"][m] = classification_metrics(lg, y, data.task)
        return out
    data = load_modality(cfg.modality, cfg)
    lg, y = predict(model, getattr(data, split), cfg.batch_size, "cpu")
    out.update(
        modality=cfg.modality, model=model.model_name, metrics=classification_metrics(lg, y, data.task)
    )
    return out


@dataclass
class Predictions:
    """What :func:`predict` returns: ``probs`` ``(N, K)`` (softmax, or per-class sigmoid for a multi-label
    model), ``labels`` the top class name of each input, ``classes`` the names in the order of ``K``."""

    probs: np.ndarray
    labels: list[str]
    classes: list[str]


def featurize(inputs, spec) -> np.ndarray:
    """The model input ``x`` ``(N, C, T)`` of raw ``inputs`` as the model's training saw them (``spec``: its
    :class:`~biodyn.models.InputSpec`): audio WAV paths or 1-D waveforms (at the mel rate) -> log-mel frames;
    ECG ``(N, 12, T)`` or ``(12, T)`` arrays; images ``(N, H, W, 3)`` uint8 -> patch tokens; each standardised
    with the training statistics in ``spec.feature_norm``."""
    form = spec.input_form if spec is not None else None
    if spec is not None and spec.extra.get("synthetic"):  # synthetic runs are trained on feature arrays
        form = None
    norm = spec.feature_norm if spec is not None else None
    extra = spec.extra if spec is not None else {}
    if form == "log-mel":
        from scipy.signal import resample_poly

        from biodyn.datasets.audio import MelConfig, fix_length, log_mel, mel_filterbank, read_wav

        mc = MelConfig(**extra["mel"])
        fb = mel_filterbank(mc)
        one = isinstance(inputs, (str, os.PathLike)) or (isinstance(inputs, np.ndarray) and inputs.ndim == 1)
        items = [inputs] if one else list(inputs)
        feats = []
        for it in items:
            if isinstance(it, (str, os.PathLike)):
                wav, sr = read_wav(it)
                if sr != mc.sample_rate:
                    g = np.gcd(sr, mc.sample_rate)
                    wav = resample_poly(wav, mc.sample_rate // g, sr // g).astype(np.float32)
            else:
                wav = np.asarray(it, dtype=np.float32)
            feats.append(fix_length(log_mel(wav, mc, fb), mc.n_frames))  # (n_frames, n_mels)
        x = np.stack(feats)
        if norm:
            x = (x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32)
        return x.transpose(0, 2, 1).astype(np.float32)  # (N, n_mels, n_frames)
    if form == "patches":
        p = int(extra["patch_size"])
        img = np.asarray(inputs)
        img = img[None] if img.ndim == 3 else img
        x = img.astype(np.float32) / 255.0
        if norm:
            x = (x - np.asarray(norm["mean"], np.float32)) / np.asarray(norm["std"], np.float32)
        n, h, w, c = x.shape
        tok = x.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, -1, p * p * c)
        return np.ascontiguousarray(tok.transpose(0, 2, 1), dtype=np.float32)  # (N, p p 3, L)
    x = np.asarray(inputs, dtype=np.float32)
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3:
        raise ConfigError(f"expected (N, C, T) or (C, T) signals, got an array of shape {x.shape}")
    if norm:
        x = (x - np.asarray(norm["mean"], np.float32)[:, None]) / np.asarray(norm["std"], np.float32)[:, None]
    return x


def predict(model_or_path, inputs, *, batch_size: int = 64) -> Predictions:
    """Class probabilities of a trained PRISM model (or of the export / run folder holding one) on ``inputs``:
    WAV paths or waveforms for an audio model, ``(N, 12, T)`` signals for an ECG model, ``(N, H, W, 3)``
    images for an image model (see :func:`featurize`). Nothing of the training data is read."""
    import torch

    from biodyn.models import from_pretrained

    model = from_pretrained(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else model_or_path
    spec = getattr(model, "input_spec", None)
    if spec is None or spec.input_form is None:
        raise CheckpointError(
            "the model carries no input spec (input form, feature settings): it cannot featurise"
        )
    x = torch.from_numpy(featurize(inputs, spec))
    dev = next(model.parameters()).device
    model.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            outs.append(model(x[i : i + batch_size].to(dev)).float().cpu())
    logits = torch.cat(outs)
    multilabel = spec.extra.get("task") == "multilabel"
    probs = (torch.sigmoid(logits) if multilabel else torch.softmax(logits, -1)).numpy()
    classes = list(spec.classes or range(probs.shape[1]))
    return Predictions(probs, [str(classes[k]) for k in probs.argmax(1)], [str(c) for c in classes])

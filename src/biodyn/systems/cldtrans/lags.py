"""CLD-Trans lag read-out: a trained CLD-Trans rebuilt from its checkpoint, and a recording's lag graph from it
(``biodyn lags REC --checkpoint DIR``)."""

from __future__ import annotations

import os

import numpy as np

from biodyn.errors import ConfigError


def load_cldtrans(folder: str | os.PathLike):
    """The trained CLD-Trans in ``folder`` (an export, a checkpoint, a run or a training folder with
    ``stage2/`` and ``stage1/``, stage 2 first): :func:`biodyn.models.from_pretrained`, checked to be a
    CLD-Trans, in eval mode."""
    from biodyn.models import from_pretrained

    model = from_pretrained(folder)
    if model.model_name != "cldtrans":
        raise ConfigError(f"--checkpoint {folder}: a model {model.model_name!r}, not a CLD-Trans")
    return model


def lags_from_checkpoint(
    data,
    fs: float,
    channels: list[str],
    checkpoint,
    modality: str | None = None,
    edge_threshold: float | None = None,
):
    """``biodyn lags REC --checkpoint DIR``: a recording's lag graph from a trained CLD-Trans (amortised, one
    forward pass per window) instead of the per-recording fit. ``data`` ``(C, T)`` at ``fs`` is preprocessed
    with its modality's CLD-Trans chain (band-pass, resampling to the modality's rate, z-score); a
    checkpoint trained on another modality is refused."""
    from biodyn.montage import guess_modality
    from biodyn.signal import preprocess
    from biodyn.signal.config import CLDTRANS_ECG, CLDTRANS_EEG

    model = load_cldtrans(checkpoint)
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ConfigError(f"a lag graph needs a (C, T) recording with at least 2 channels, got {data.shape}")
    modality = modality or guess_modality(channels)
    model.check_modality(modality)
    pre = CLDTRANS_ECG if modality == "ecg" else CLDTRANS_EEG
    x, fs_new = preprocess(data, fs, pre, channels=channels)
    return model.lag_graph(x, channels=list(channels), fs=fs_new, edge_threshold=edge_threshold)

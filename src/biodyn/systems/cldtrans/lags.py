"""CLD-Trans lag read-out: a trained CLD-Trans rebuilt from its checkpoint, and a recording's lag graph from it
(``biodyn lags REC --checkpoint DIR``)."""

from __future__ import annotations

import os

import numpy as np

from biodyn.errors import ConfigError


def load_cldtrans(folder: str | os.PathLike):
    """Rebuild a trained CLD-Trans from a Trainer checkpoint folder (``.../checkpoints/last``, or the run
    or stage folder holding it; stage 2 before stage 1), in eval mode."""
    from biodyn.train.checkpoint import read_state
    from biodyn.train.pretrained import find_checkpoint, load_trained

    found = find_checkpoint(folder)
    if found is None or not (found / "state.json").is_file():
        raise ConfigError(f"--checkpoint {folder}: no CLD-Trans checkpoint (state.json) found there")
    st = read_state(found, model_name="cldtrans")
    if st.get("model_name") != "cldtrans" or not st.get("model_config"):
        raise ConfigError(f"{found}: not a CLD-Trans checkpoint (model {st.get('model_name')!r})")
    return load_trained(found)


def lags_from_checkpoint(data, fs: float, channels: list[str], checkpoint, modality: str | None = None,
                         edge_threshold: float | None = None):  # fmt: skip
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

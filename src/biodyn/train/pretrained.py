"""Trained weights for the evaluation runners (focal leads, few-shot): one loader for both kinds of folder.

A folder is either an export (``save_pretrained``: ``config.json`` + ``model.safetensors``) or a Trainer
checkpoint: a ``checkpoints/best|last`` folder, the run folder holding it, or a CLD-Trans training folder
(``train.out_dir`` of ``python -m biodyn.cldtrans``, holding ``stage2/`` and/or ``stage1/``; stage 2 is
preferred). :func:`load_encoder` copies every weight but the head into a model built for a new task.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from biodyn.errors import CheckpointError, ConfigError

SHAPE_KEYS = ("n_chans", "n_outputs", "n_times", "sfreq")


def find_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The Trainer checkpoint folder (holding ``state.json``) in or under ``folder``, or None."""
    from biodyn.train.checkpoint import resolve_checkpoint

    folder = Path(folder)
    for cand in (folder, folder / "checkpoints" / "best", folder / "checkpoints" / "last",
                 folder / "stage2" / "checkpoints" / "last", folder / "stage1" / "checkpoints" / "last"):  # fmt: skip
        found = resolve_checkpoint(cand)
        if found is not None:
            return found
    return None


def load_trained(folder: str | os.PathLike):
    """The trained model in ``folder`` (an export or a Trainer checkpoint, see the module doc), in eval mode."""
    from biodyn.models import create_model
    from biodyn.models._pretrained import CONFIG_FILE, from_pretrained

    folder = Path(folder)
    if (folder / CONFIG_FILE).is_file():
        return from_pretrained(folder)
    found = find_checkpoint(folder)
    if found is None:
        raise ConfigError(f"weights {folder}: neither an export (config.json) nor a Trainer checkpoint "
                          "(state.json in it, in checkpoints/best|last or in stage1|stage2/checkpoints/last)")  # fmt: skip
    from biodyn.train.checkpoint import load_checkpoint, read_state

    st = read_state(found)
    name, cfg = st.get("model_name"), dict(st.get("model_config") or {})
    if not name or not cfg:
        raise CheckpointError(f"{found}: the checkpoint names no model or model config")
    if name == "cldtrans":  # its config still carries training state: no k-means init, the saved stage
        cfg.pop("kmeans_init", None)
        cfg["kmeans_init"] = False
    model = create_model(name, **cfg)
    if cfg.get("stage") == "stage2":
        model.set_stage("stage2")
    load_checkpoint(found, model=model, model_name=name, restore_rng=False)
    return model.eval()


def trained_config(folder: str | os.PathLike) -> tuple[str, dict]:
    """``(registered name, config fields)`` of the model in ``folder``, without the signal's shape
    (``n_chans``, ``n_outputs``, ``n_times``, ``sfreq``): what builds the same architecture for new data."""
    model = load_trained(folder)
    cfg = {k: v for k, v in model.init_config().items() if k not in SHAPE_KEYS}
    return model.model_name, cfg


def load_encoder(model: torch.nn.Module, folder: str | os.PathLike) -> list[str]:
    """Copy every weight of the trained model in ``folder`` except its head (``head.*``) into ``model``
    (built for a new task: its head is kept as initialised). A missing, extra or differently shaped
    weight is a :class:`CheckpointError`. Returns the names copied."""
    src = load_trained(folder)
    name = getattr(model, "model_name", None)
    if name is not None and getattr(src, "model_name", None) not in (None, name):
        raise CheckpointError(f"weights {folder} are of model {src.model_name!r}, not {name!r}")
    theirs = {k: v for k, v in src.state_dict().items() if not k.startswith("head.")}
    own = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    missing, extra = sorted(set(own) - set(theirs)), sorted(set(theirs) - set(own))
    bad = [f"{k} {tuple(theirs[k].shape)} vs {tuple(own[k].shape)}" for k in own
           if k in theirs and theirs[k].shape != own[k].shape]  # fmt: skip
    if missing or extra or bad:
        raise CheckpointError(f"weights {folder} do not fit this model (missing {missing[:5]}, unexpected "
                              f"{extra[:5]}, shape mismatch {bad[:5]}): build it with the checkpoint's config")  # fmt: skip
    model.load_state_dict(theirs, strict=False)
    return sorted(theirs)

"""Trained weights for the evaluation runners (focal leads, few-shot): the encoder of a trained model.

A folder is an export (``save_pretrained``) or any training run, read by
:func:`biodyn.models.from_pretrained` (:func:`biodyn.models.find_checkpoint` says which checkpoint of a run
is read).
:func:`load_encoder` copies every weight but the head into a model built for a new task.
"""

from __future__ import annotations

import os

import torch

from biodyn.errors import CheckpointError
from biodyn.models._pretrained import from_pretrained

SHAPE_KEYS = ("n_chans", "n_outputs", "n_times", "sfreq")
__all__ = ["load_encoder", "trained_config"]


def trained_config(folder: str | os.PathLike) -> tuple[str, dict]:
    """``(registered name, config fields)`` of the model in ``folder``, without the signal's shape
    (``n_chans``, ``n_outputs``, ``n_times``, ``sfreq``): what builds the same architecture for new data."""
    model = from_pretrained(folder)
    cfg = {k: v for k, v in model.init_config().items() if k not in SHAPE_KEYS}
    return model.model_name, cfg


def load_encoder(model: torch.nn.Module, folder: str | os.PathLike) -> list[str]:
    """Copy every weight of the trained model in ``folder`` except its head (``head.*``) into ``model``
    (built for a new task: its head is kept as initialised), and the trained model's input spec when
    ``model`` has none. A missing, extra or differently shaped weight is a :class:`CheckpointError`. Returns the
    names copied."""
    src = from_pretrained(folder)
    name = getattr(model, "model_name", None)
    if name is not None and getattr(src, "model_name", None) not in (None, name):
        raise CheckpointError(f"weights {folder} are of model {src.model_name!r}, not {name!r}")
    theirs = {k: v for k, v in src.state_dict().items() if not k.startswith("head.")}
    own = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    missing, extra = sorted(set(own) - set(theirs)), sorted(set(theirs) - set(own))
    bad = [
        f"{k} {tuple(theirs[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in theirs and theirs[k].shape != own[k].shape
    ]
    if missing or extra or bad:
        raise CheckpointError(
            f"weights {folder} do not fit this model (missing {missing[:5]}, unexpected "
            f"{extra[:5]}, shape mismatch {bad[:5]}): build it with the checkpoint's config"
        )
    model.load_state_dict(theirs, strict=False)
    if getattr(model, "input_spec", None) is None and getattr(src, "input_spec", None) is not None:
        # e.g. the modalities the encoder was trained on (CLD-Trans refuses others)
        model.input_spec = src.input_spec
    return sorted(theirs)

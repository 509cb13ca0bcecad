"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

Layout of ``<out_dir>/checkpoints/{last,best}/``::

    model.safetensors      model state dict
    trainer.safetensors    optimiser tensors (``opt.<param index>.<key>``) and the torch RNG state
    state.json             format, model name + the full create_model config (signal shape included), the
                           model's input spec, step, optimiser param groups, sampler, python/numpy RNG,
                           early-stopping state

A checkpoint is written into a temporary sibling folder and renamed into place.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from biodyn.errors import CheckpointError

# the read side of the format (finding, checking and reading a checkpoint) lives below the harness, in
# biodyn.models._pretrained, so that biodyn.models.from_pretrained loads a run without importing train/; it is
# imported from there (one import path), this module holds the write side and the Trainer's resume
from biodyn.models._pretrained import CHECKPOINT_FORMAT_VERSION as FORMAT_VERSION
from biodyn.models._pretrained import (
    intact_note,
    load_weights,
    previous_checkpoint,
    read_state,
    safetensors_shapes,
    save_weights,
)

__all__ = ["check_resumable", "load_checkpoint", "save_checkpoint"]


def _tensors(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in sd.items()}


def _load_tensors(path: Path, folder: Path | None = None) -> dict[str, torch.Tensor]:
    """``load_file`` after :func:`safetensors_shapes`' check; the error says which sibling checkpoint is intact."""
    try:
        safetensors_shapes(path)
        return load_file(str(path))
    except CheckpointError as e:
        raise CheckpointError(f"{e}{intact_note(folder)}") from None
    except Exception as e:  # safetensors' own errors name no file
        raise CheckpointError(f"{path}: cannot load: {e}{intact_note(folder)}") from None


def _opt_split(opt_sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tens: dict[str, torch.Tensor] = {}
    plain: dict[str, dict] = {}
    for pid, st in opt_sd["state"].items():
        plain[str(pid)] = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tens[f"opt.{pid}.{k}"] = v
            else:
                plain[str(pid)][k] = v
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in opt_sd["param_groups"]
    ]
    return tens, {"plain_state": plain, "param_groups": groups}


def _opt_join(tens: dict[str, torch.Tensor], js: dict) -> dict:
    state: dict[int, dict] = {int(pid): dict(v) for pid, v in js["plain_state"].items()}
    for key, v in tens.items():
        if key.startswith("opt."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    groups = []
    for g in js["param_groups"]:
        g = dict(g)
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}


def save_checkpoint(folder: str | os.PathLike, *, model, optimizer, state: dict[str, Any]) -> Path:
    """Write a checkpoint folder atomically (temp folder + rename); ``state`` is JSON-able. ``optimizer=None``
    keeps no optimiser state (a model that is never trained further, e.g. a focal run's detectors): such a
    checkpoint loads as a model but cannot resume training."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    from biodyn.atomic import honour_umask, temp_prefix

    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(folder.name), dir=folder.parent))
    try:
        honour_umask(tmp, directory=True)  # mkdtemp makes it 0700
        save_weights(model, tmp / "model.safetensors")
        tens, opt_js = _opt_split(optimizer.state_dict()) if optimizer is not None else ({}, None)
        tens["rng.torch"] = torch.get_rng_state()
        save_file(_tensors(tens), str(tmp / "trainer.safetensors"))
        np_state = np.random.get_state()  # noqa: NPY002 (the legacy global is what we restore)
        py_state = random.getstate()
        full = {
            "format_version": FORMAT_VERSION,
            **state,
            "optimizer": opt_js,
            "rng": {
                "python": [py_state[0], list(py_state[1]), py_state[2]],
                "numpy": [
                    np_state[0],
                    np_state[1].tolist(),
                    int(np_state[2]),
                    int(np_state[3]),
                    float(np_state[4]),
                ],
            },
        }
        (tmp / "state.json").write_text(json.dumps(full))
        for f in tmp.iterdir():  # safetensors writes its files 0600
            honour_umask(f)
        # swap: the previous checkpoint stays readable as .<name>.old until the new one is in place, and
        # resolve_checkpoint() falls back to it if the process dies between the two renames
        old = previous_checkpoint(folder)
        if folder.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def check_resumable(folder: str | os.PathLike, *, model, model_name: str | None = None) -> dict[str, Any]:
    """Everything :func:`load_checkpoint` would refuse, checked without loading: the state, both files whole,
    and the saved weights' names and shapes against ``model``. Returns the state."""
    folder = Path(folder)
    st = read_state(folder, model_name=model_name)
    try:
        saved = safetensors_shapes(folder / "model.safetensors")
        safetensors_shapes(folder / "trainer.safetensors")
    except CheckpointError as e:
        raise CheckpointError(f"{e}{intact_note(folder)}") from None
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    bad = [f"{k} {saved[k]} vs {own[k]}" for k in own if k in saved and saved[k] != own[k]]
    if missing or extra or bad:
        raise CheckpointError(
            f"{folder}: weights do not fit this model (missing {missing[:5]}, unexpected {extra[:5]}, "
            f"shape mismatch {bad[:5]}); resume with the checkpoint's model config or use a new train.out_dir"
        )
    return st


def load_checkpoint(
    folder: str | os.PathLike,
    *,
    model,
    optimizer=None,
    model_name: str | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore model (+ optimiser and RNG) from ``folder``; returns the JSON state."""
    folder = Path(folder)
    st = read_state(folder, model_name=model_name)
    try:
        load_weights(model, folder / "model.safetensors", where=str(folder))
    except CheckpointError as e:
        raise CheckpointError(f"{e}{intact_note(folder)}") from None
    tens = (
        _load_tensors(folder / "trainer.safetensors", folder)
        if (optimizer is not None or restore_rng)
        else {}
    )
    if optimizer is not None:
        if st.get("optimizer") is None:
            raise CheckpointError(
                f"{folder}: holds no optimiser state (a model only): it cannot resume training"
            )
        optimizer.load_state_dict(_opt_join(tens, st["optimizer"]))
    if restore_rng:
        torch.set_rng_state(tens["rng.torch"])
        py = st["rng"]["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))
        npst = st["rng"]["numpy"]
        np.random.set_state((npst[0], np.asarray(npst[1], dtype=np.uint32), npst[2], npst[3], npst[4]))  # noqa: NPY002
    return st

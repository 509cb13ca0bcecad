"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

Layout of ``<out_dir>/checkpoints/{last,best}/``::

    model.safetensors      model state dict
    trainer.safetensors    optimiser tensors (``opt.<param index>.<key>``) and the torch RNG state
    state.json             format, model name + config, step, optimiser param groups, sampler,
                           python/numpy RNG, early-stopping state

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
from biodyn.models._pretrained import load_weights, save_weights

FORMAT_VERSION = 1
__all__ = ["CheckpointError", "load_checkpoint", "read_state", "resolve_checkpoint", "save_checkpoint"]


def _tensors(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in sd.items()}


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
    """Write a checkpoint folder atomically (temp folder + rename); ``state`` is JSON-able."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_weights(model, tmp / "model.safetensors")
        tens, opt_js = _opt_split(optimizer.state_dict())
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


def previous_checkpoint(folder: str | os.PathLike) -> Path:
    """Where the checkpoint being replaced waits while a new one is renamed into ``folder``."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}.old"


def resolve_checkpoint(folder: str | os.PathLike) -> Path | None:
    """``folder`` if it holds a checkpoint, else the previous one left by an interrupted swap, else None."""
    for cand in (Path(folder), previous_checkpoint(folder)):
        if (cand / "state.json").exists():
            return cand
    return None


def read_state(folder: str | os.PathLike, *, model_name: str | None = None) -> dict[str, Any]:
    folder = Path(folder)
    f = folder / "state.json"
    if not f.is_file():
        raise CheckpointError(f"{folder}: not a checkpoint (no state.json)")
    st = json.loads(f.read_text())
    ver = st.get("format_version")
    if not isinstance(ver, int) or ver > FORMAT_VERSION:
        raise CheckpointError(
            f"{folder}: checkpoint format {ver!r} is newer than this biodyn understands ({FORMAT_VERSION}); upgrade"
        )
    if model_name is not None and st.get("model_name") not in (None, model_name):
        raise CheckpointError(
            f"{folder}: checkpoint is of model {st.get('model_name')!r}, not {model_name!r}"
        )
    return st


def load_checkpoint(folder: str | os.PathLike, *, model, optimizer=None, model_name: str | None = None,
                    restore_rng: bool = True) -> dict[str, Any]:  # fmt: skip
    """Restore model (+ optimiser and RNG) from ``folder``; returns the JSON state."""
    folder = Path(folder)
    st = read_state(folder, model_name=model_name)
    load_weights(model, folder / "model.safetensors", where=str(folder))
    tens = load_file(str(folder / "trainer.safetensors"))
    if optimizer is not None:
        optimizer.load_state_dict(_opt_join(tens, st["optimizer"]))
    if restore_rng:
        torch.set_rng_state(tens["rng.torch"])
        py = st["rng"]["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))
        npst = st["rng"]["numpy"]
        np.random.set_state((npst[0], np.asarray(npst[1], dtype=np.uint32), npst[2], npst[3], npst[4]))  # noqa: NPY002
    return st

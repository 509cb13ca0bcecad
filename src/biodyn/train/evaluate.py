"""Evaluate a training run's checkpoint on one split."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from biodyn.errors import CheckpointError, ConfigError


def run_system(run_dir: str | os.PathLike) -> str | None:
    """The ``system`` a run folder's ``config.yaml`` names (``"prism"``; None for an experiment of
    ``biodyn train``, whose config has no such key)."""
    import yaml

    cfg_file = Path(run_dir) / "config.yaml"
    if (Path(run_dir) / "fewshot_cell.json").is_file():  # a few-shot grid's cell (CLD-Trans' experiments)
        return "cldtrans_fewshot"
    if not cfg_file.is_file():
        if (Path(run_dir) / "config.json").is_file():  # PRISM runs written before config.yaml
            raw = json.loads((Path(run_dir) / "config.json").read_text())
            return "prism" if isinstance(raw, dict) and "run" in raw else None
        raise ConfigError(f"{run_dir}: not a training run (no config.yaml)")
    raw = yaml.safe_load(cfg_file.read_text())
    return raw.get("system") if isinstance(raw, dict) else None


def run_task(run_dir: str | os.PathLike) -> str:
    """The task (``train.task``: multiclass, multilabel, per_sample, seizure) of a training run folder."""
    from omegaconf import OmegaConf

    cfg_file = Path(run_dir) / "config.yaml"
    if not cfg_file.is_file():
        raise ConfigError(f"{run_dir}: not a training run (no config.yaml)")
    return str(OmegaConf.select(OmegaConf.load(cfg_file), "train.task", default="multiclass"))


def evaluate_run(run_dir: str | os.PathLike, *, which: str = "best", split: str = "test",
                 data: dict | None = None) -> dict[str, Any]:  # fmt: skip
    """Rebuild the model of ``run_dir`` (its ``config.yaml`` + ``checkpoints/<which>``), evaluate it on
    ``split`` (``train``/``val``/``test``) and return the metrics. ``data``: the splits as
    :func:`~biodyn.train.experiment.build_data` returns them (default: built from the run's config)."""
    from omegaconf import OmegaConf

    from biodyn.errors import check_option
    from biodyn.models import find_checkpoint, from_pretrained
    from biodyn.models._pretrained import read_state
    from biodyn.train.config import ExperimentConfig
    from biodyn.train.experiment import build_data
    from biodyn.train.trainer import Trainer

    check_option("split", split, ("train", "val", "test"))
    run = Path(run_dir)
    cfg_file = run / "config.yaml"
    if not cfg_file.is_file():
        raise ConfigError(f"{run}: not a training run (no config.yaml)")
    exp = OmegaConf.to_object(
        OmegaConf.merge(OmegaConf.structured(ExperimentConfig), OmegaConf.load(cfg_file))
    )
    ckpt = find_checkpoint(run / "checkpoints" / which)  # with the fallback of an interrupted swap
    if ckpt is None:
        raise CheckpointError(f"{run}: no {which!r} checkpoint (checkpoints/{which}/state.json)")
    st = read_state(ckpt, model_name=exp.model.name)
    model = from_pretrained(ckpt)
    data = data if data is not None else build_data(exp)
    exp.train.out_dir = str(run)
    trainer = Trainer(model, data["train"], None, exp.train, model_name=exp.model.name)
    metrics = trainer.evaluate(data[split], prefix=split)
    return {"run_dir": str(run), "checkpoint": which, "step": st["step"], "split": split, "metrics": metrics,
            "data_manifest_hash": data["manifest_hash"]}  # fmt: skip


def dumps(obj) -> str:
    return json.dumps(obj, indent=2)

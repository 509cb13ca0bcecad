"""Evaluate a training run's checkpoint on one split."""

from __future__ import annotations

import io
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
    raw = _read_config(cfg_file, yaml.safe_load)
    return raw.get("system") if isinstance(raw, dict) else None


def _read_config(cfg_file: Path, load):
    """``load(text)`` of a run's ``config.yaml``; a file that YAML or OmegaConf cannot read is one
    :class:`ConfigError` naming it and the parser's first line."""
    import yaml
    from omegaconf.errors import OmegaConfBaseException

    try:
        return load(cfg_file.read_text())
    except (yaml.YAMLError, OmegaConfBaseException, UnicodeDecodeError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else ""
        raise ConfigError(
            f"{cfg_file}: cannot be read as a run config ({type(e).__name__}: {first})"
        ) from None


def _raw_config(run_dir: str | os.PathLike):
    """``config.yaml`` of a ``biodyn train`` run as an OmegaConf node; a missing, empty, unreadable or foreign
    (a CLD-Trans or PRISM folder) config is a :class:`ConfigError` naming the folder."""
    from omegaconf import DictConfig, OmegaConf

    run = Path(run_dir)
    cfg_file = run / "config.yaml"
    if not cfg_file.is_file():
        hint = (
            " (a PRISM run: its results.json holds the test metrics)"
            if (run / "config.json").is_file()
            else ""
        )
        raise ConfigError(f"{run}: not a training run (no config.yaml){hint}")
    raw = _read_config(cfg_file, lambda text: OmegaConf.load(io.StringIO(text)))
    if not isinstance(raw, DictConfig) or not raw:
        raise ConfigError(f"{cfg_file}: holds no run config (empty or not a mapping)")
    if "ablation" in raw and "mode" in raw:
        raise ConfigError(
            f"{run}: a CLD-Trans stage (python -m biodyn.cldtrans), not a biodyn train run; its "
            "weights are scored by biodyn focal/fewshot --weights NAME=DIR"
        )
    return raw


def run_task(run_dir: str | os.PathLike) -> str:
    """The task (``train.task``: multiclass, multilabel, per_sample, seizure) of a training run folder."""
    from omegaconf import OmegaConf

    return str(OmegaConf.select(_raw_config(run_dir), "train.task", default="multiclass"))


def load_run_config(run_dir: str | os.PathLike):
    """The :class:`~biodyn.train.config.ExperimentConfig` of a run folder, pointed at where the folder is now:
    ``train.out_dir`` is ``run_dir`` (a moved run, or one trained with a relative ``out_dir``, never rebuilds
    its cache at the old place or in the current folder), and the cache is ``run_dir/cache`` unless the
    config names its own ``data.cache_dir``."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    raw = _raw_config(run_dir)
    from biodyn.train.config import ExperimentConfig

    try:
        exp = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ExperimentConfig), raw))
    except OmegaConfBaseException as e:
        raise ConfigError(f"{Path(run_dir) / 'config.yaml'}: {str(e).splitlines()[0]}") from None
    exp.train.out_dir = str(run_dir)
    return exp


def evaluate_run(
    run_dir: str | os.PathLike, *, which: str = "best", split: str = "test", data: dict | None = None
) -> dict[str, Any]:
    """Rebuild the model of ``run_dir`` (its ``config.yaml`` + ``checkpoints/<which>``), evaluate it on
    ``split`` (``train``/``val``/``test``) and return the metrics. ``data``: the splits as
    :func:`~biodyn.train.experiment.build_data` returns them (default: built from the run's config)."""
    from biodyn.errors import check_option
    from biodyn.models import find_checkpoint, from_pretrained
    from biodyn.models._pretrained import read_state
    from biodyn.train.experiment import build_data
    from biodyn.train.trainer import Trainer

    check_option("split", split, ("train", "val", "test"))
    run = Path(run_dir)
    exp = load_run_config(run)  # train.out_dir = run_dir: a moved run builds no cache at its old place
    ckpt = find_checkpoint(run / "checkpoints" / which)  # with the fallback of an interrupted swap
    if ckpt is None:
        raise CheckpointError(f"{run}: no {which!r} checkpoint (checkpoints/{which}/state.json)")
    st = read_state(ckpt, model_name=exp.model.name)
    model = from_pretrained(ckpt)
    data = data if data is not None else build_data(exp)
    trainer = Trainer(model, data["train"], None, exp.train, model_name=exp.model.name)
    metrics = trainer.evaluate(data[split], prefix=split)
    return {
        "run_dir": str(run),
        "checkpoint": which,
        "step": st["step"],
        "split": split,
        "metrics": metrics,
        "data_manifest_hash": data["manifest_hash"],
    }


def dumps(obj) -> str:
    return json.dumps(obj, indent=2)

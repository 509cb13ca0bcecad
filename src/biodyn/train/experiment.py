"""Hydra-composed experiments: config -> cache -> model -> Trainer -> results JSON.

The config tree ships inside the package (``biodyn/configs/``); ``$BIODYN_CONFIG_DIR`` points elsewhere
(an installed package without the repository sets it, or passes ``--config-dir``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from biodyn import configs
from biodyn.configs import CONFIG_DIR_ENV
from biodyn.errors import ConfigError
from biodyn.train.fewshot import BUDGETS, SEEDS, budget_name, fewshot_indices

__all__ = [
    "build_data",
    "compose_config",
    "config_dir",
    "data_spec",
    "run_experiment",
    "run_fewshot",
    "to_dataclass",
]


def config_dir(override: str | os.PathLike | None = None) -> Path:
    """The Hydra config folder: ``override``, else ``$BIODYN_CONFIG_DIR``, else the packaged ``biodyn/configs``."""
    path = configs.config_dir(override)
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"no Hydra config tree at {path} (config.yaml missing); set ${CONFIG_DIR_ENV} or pass --config-dir"
        )
    return path


def compose_config(overrides: list[str] | None = None, *, config_dir_: str | os.PathLike | None = None):
    """Compose ``config.yaml`` with ``overrides`` (``experiment=smoke train.lr=1e-4``) and validate it
    against :class:`~biodyn.train.config.ExperimentConfig` (struct mode: unknown keys are errors)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from biodyn.train.config import ExperimentConfig

    cdir = config_dir(config_dir_)
    try:
        with initialize_config_dir(config_dir=str(cdir), version_base=None):
            raw = compose(config_name="config", overrides=list(overrides or []))
        # dataclass nodes reject unknown keys; model.params is a free dict checked by the model builder
        OmegaConf.set_struct(raw, False)
        cfg = OmegaConf.merge(OmegaConf.structured(ExperimentConfig), raw)
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(f"bad config ({cdir}): {e}") from e
    return cfg


def to_dataclass(cfg):
    """The :class:`~biodyn.train.config.ExperimentConfig` of a composed config, range-checked
    (:func:`~biodyn.train.config.validate_experiment`)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from biodyn.train.config import validate_experiment

    try:
        exp = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:
        raise ConfigError(f"bad config: {e}") from e
    return validate_experiment(exp)


def _records(corpus, limit: int | None):
    ids = sorted(r.record_id for r in corpus.records())
    return ids[:limit] if limit else None


def build_data(exp) -> dict[str, Any]:
    """Build (or reuse) the window cache of ``exp.data`` and open its splits."""
    from biodyn.cache import WindowDataset, build_cache
    from biodyn.cache.dataset import read_manifest
    from biodyn.data_root import data_root
    from biodyn.datasets import get_corpus
    from biodyn.provenance import stable_hash

    d = exp.data
    root = d.root
    if root is None and d.corpus != "synthetic":
        from biodyn.datasets import CORPORA

        root = data_root(required=True) / getattr(CORPORA.get(d.corpus), "data_subdir", d.corpus)
    corpus = get_corpus(d.corpus, root)
    cache_dir = Path(d.cache_dir or Path(exp.train.out_dir) / "cache")
    import torch.distributed as dist

    distributed = dist.is_available() and dist.is_initialized()
    if not distributed or dist.get_rank() == 0:  # one rank builds the cache, the others wait
        report = build_cache(
            corpus, cache_dir, records=_records(corpus, d.limit), progress=exp.train.progress
        )
        import sys

        print(
            f"cache {d.corpus}: built {len(report.built)}, reused {len(report.skipped)}, failed "
            f"{len(report.failed)} records ({report.n_windows} windows, {report.seconds:.1f} s) -> {cache_dir}",
            file=sys.stderr,
        )
        if report.all_failed:
            raise ConfigError(f"data: no record of {d.corpus} could be cached: {report.failed}")
    if distributed:
        dist.barrier()
    out = {"cache_dir": str(cache_dir), "manifest_hash": stable_hash(read_manifest(cache_dir))}
    for key, split in (("train", d.train_split), ("val", d.val_split), ("test", d.test_split)):
        out[key] = WindowDataset(cache_dir, split=split)
    subj = {k: set(out[k].subjects.tolist()) for k in ("train", "val", "test")}
    if subj["train"] & (subj["val"] | subj["test"]) or (d.disjoint_val_test and subj["val"] & subj["test"]):
        raise ConfigError(f"data: {d.corpus} has subjects in more than one split")
    return out


def data_spec(ds) -> dict[str, Any]:
    """What inference on a new recording needs to reproduce the training data: channels (montage), rate,
    preprocessing, window and stride (from the cache manifest); stored in every checkpoint. A dataset that is
    not a window cache (a view or an in-memory array set) records what it has."""
    m = getattr(ds, "manifest", None) or {}
    channels, fs = getattr(ds, "channels", None), getattr(ds, "fs", None)
    return {
        "corpus": m.get("corpus"),
        "channels": None if channels is None else list(channels),
        "fs": None if fs is None else float(fs),
        "preprocess": m.get("preprocess"),
        "window_s": m.get("window_s"),
        "stride_s": m.get("stride_s"),
        "classes": m.get("classes"),
    }


def run_experiment(exp, *, seed: int | None = None, data: dict | None = None):
    """Train ``exp`` (an :class:`ExperimentConfig`) and evaluate the best checkpoint on the test split;
    writes ``<train.out_dir>/config.yaml`` and ``results.json``; returns a
    :class:`~biodyn.train.result.RunResult`: the results dict with ``.model`` (the trained model, best
    checkpoint) and ``.run_dir``."""
    import torch
    from omegaconf import OmegaConf
    from torch.utils.data import Subset

    from biodyn.atomic import atomic_write_json, atomic_write_text
    from biodyn.metrics.postprocess import SEIZURE_THRESHOLD
    from biodyn.models import check_overrides, create_model, model_output
    from biodyn.provenance import command_line, git_commit, versions
    from biodyn.train.checkpoint import load_checkpoint
    from biodyn.train.seed import seed_everything
    from biodyn.train.trainer import Trainer

    if seed is not None:
        exp.train.seed = seed
    check_overrides(exp.model.name, dict(exp.model.params))  # a typo fails before the data step
    from biodyn.rundir import check_device

    check_device(exp.train.device, "train.device")  # before the cache build, not after it
    seed_everything(exp.train.seed)
    data = data or build_data(exp)
    train_ds = data["train"]
    idx = fewshot_indices(
        train_ds.labels, train_ds.subjects, exp.fewshot.budget, exp.train.seed, exp.fewshot.unit
    )
    sub = Subset(train_ds, idx.tolist()) if len(idx) < len(train_ds) else train_ds
    lab = np.asarray(train_ds.labels)
    if exp.data.n_outputs:
        n_outputs = exp.data.n_outputs
    elif exp.train.task == "per_sample":
        n_outputs = 1  # one logit per sample against the (T,) mask
    else:
        n_outputs = lab.shape[1] if lab.ndim > 1 else int(lab.max()) + 1
    x0 = train_ds[0]["x"]
    mcfg = {
        "n_chans": int(x0.shape[0]),
        "n_outputs": int(n_outputs),
        "n_times": int(x0.shape[-1]),
        "sfreq": float(train_ds.fs),
        **dict(exp.model.params),
    }
    model = create_model(exp.model.name, **mcfg)
    mcfg = model.init_config()  # every field, as the model holds it: what rebuilds it
    if exp.fewshot.init_from:  # a pretrained encoder (e.g. CLD-Trans stage 1); the head starts fresh
        from biodyn.train.pretrained import load_encoder

        load_encoder(model, exp.fewshot.init_from)
    params = None
    from biodyn.errors import check_option

    check_option("fewshot.mode", exp.fewshot.mode, ("finetune", "linear_probe"))
    if exp.fewshot.mode == "linear_probe":
        model.freeze_features()
        params = [{"params": list(model.head.parameters()), "weight_decay": exp.train.weight_decay}]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if len(sub) < exp.train.batch_size * world:
        import warnings

        warnings.warn(
            f"few-shot subset of {len(sub)} windows < one global batch; batch_size -> {max(1, len(sub) // world)}",
            stacklevel=2,
        )
        exp.train.batch_size = max(1, len(sub) // world)
    out_dir = Path(exp.train.out_dir)
    if exp.train.resume:  # refuse a checkpoint that does not fit before anything in out_dir is rewritten
        from biodyn.models._pretrained import resolve_checkpoint
        from biodyn.train.checkpoint import check_resumable

        last = resolve_checkpoint(out_dir / "checkpoints" / "last")
        if last is not None:
            check_resumable(last, model=model, model_name=exp.model.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.to_yaml(OmegaConf.structured(exp))
    atomic_write_text(out_dir / "config.yaml", resolved)
    spec = data_spec(train_ds)
    if hasattr(model, "input_spec"):  # checkpoints and exports carry what applying the model needs
        from biodyn.models import InputSpec

        # what the model has already (e.g. the modalities of a pretrained encoder) plus this run's data
        have = model.input_spec.to_dict() if model.input_spec is not None else {}
        this = {
            "channels": spec["channels"],
            "sfreq": spec["fs"],
            "window_s": spec["window_s"],
            "stride_s": spec["stride_s"],
            "preprocessing": spec["preprocess"],
            "classes": spec["classes"],
            # a per-sample detector's operating threshold (what `biodyn detect` switches on at)
            "threshold": SEIZURE_THRESHOLD if model_output(exp.model.name) == "per_sample" else None,
            "extra": {"corpus": spec["corpus"]} if spec["corpus"] else None,
        }
        model.input_spec = InputSpec.from_dict({**have, **{k: v for k, v in this.items() if v is not None}})
    trainer = Trainer(
        model,
        sub,
        data["val"],
        exp.train,
        model_name=exp.model.name,
        model_config=mcfg,
        parameters=params,
        labels=np.asarray(train_ds.labels)[idx],
        extra_state={"data": spec},
    )
    summary = trainer.fit()
    best = out_dir / "checkpoints" / "best"
    if (best / "state.json").exists():
        load_checkpoint(best, model=trainer.model, model_name=exp.model.name, restore_rng=False)
    test = trainer.evaluate(data["test"], prefix="test")
    val = trainer.evaluate(data["val"], prefix="val")
    result = {
        "experiment": exp.name,
        "model": exp.model.name,
        "task": f"{exp.data.corpus}-{exp.train.task}",
        "budget": exp.fewshot.budget,
        "budget_unit": exp.fewshot.unit,
        "mode": exp.fewshot.mode,
        "seed": exp.train.seed,
        "n_train_windows": len(sub),
        "metrics": {**val, **test},
        "train_summary": summary,
        "config": OmegaConf.to_container(OmegaConf.structured(exp)),
        "model_config": mcfg,
        "git_commit": git_commit(),
        "command": command_line(),
        "data_manifest_hash": data["manifest_hash"],
        "versions": versions(),
        "torch_threads": torch.get_num_threads(),
    }
    atomic_write_json(out_dir / "results.json", result)
    from biodyn.train.result import RunResult

    return RunResult(result, model=trainer.model, run_dir=out_dir)


def run_fewshot(
    exp, *, budgets=BUDGETS, seeds=SEEDS, results_dir: str | os.PathLike | None = None
) -> list[Path]:
    """The few-shot protocol: every budget x seed, each written to
    ``<results_dir>/<experiment>/<model>/<task>/<budget>/seed<k>.json``."""
    import copy

    from biodyn.atomic import atomic_write_json

    base = Path(results_dir or exp.results_dir)
    data = build_data(exp)
    written = []
    for budget in budgets:
        for seed in seeds:
            e = copy.deepcopy(exp)
            e.fewshot.budget = float(budget)
            task = f"{e.data.corpus}-{e.train.task}"
            run_dir = base / e.name / e.model.name / task / budget_name(budget)
            e.train.out_dir = str(run_dir / f"run_seed{seed}")
            e.train.resume = False
            res = run_experiment(e, seed=seed, data=data)
            path = run_dir / f"seed{seed}.json"
            atomic_write_json(path, res)
            written.append(path)
    return written

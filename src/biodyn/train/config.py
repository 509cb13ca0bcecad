"""Structured config dataclasses of the training harness (defaults = the Hydra tree's defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainConfig:
    out_dir: str = "runs/default"
    task: str = "multilabel"  # multiclass | multilabel (clip models) | per_sample (per-sample models)
    # weight of each term of a model's forward_loss (name -> weight; a term not named here weighs 1)
    loss_weights: dict[str, float] = field(default_factory=dict)
    # what is minimised: model (the model's forward_loss when it has one, else the task's loss on model(x)) |
    # task (always the task's loss on model(x): supervised fine-tuning or probing of a self-supervised encoder)
    objective: str = "model"
    seed: int = 42
    batch_size: int = 32  # per rank, per micro-batch
    accum_steps: int = 1
    # uniform (seeded shuffle) | balanced (biodyn.cache.BalancedSampler) | sequential (in dataset order, e.g. a
    # dataset of prepared blocks whose order is the schedule)
    sampler: str = "uniform"
    positive_ratio: float = 0.34  # share of positive windows per epoch with sampler=balanced
    max_steps: int = 1000  # optimiser steps; also the length of the cosine schedule
    lr: float = 1e-3
    min_lr_ratio: float = 0.0
    warmup_steps: int = 100
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = 1.0  # 0 disables
    eval_every: int = 200
    ckpt_every: int = 200
    log_every: int = 10
    early_stop_metric: str = "val_loss"
    early_stop_mode: str = "min"  # min | max
    patience: int = 0  # evaluations without improvement before stopping; 0 disables
    resume: bool = False
    num_workers: int = 0
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16
    progress: bool = True
    tensorboard: bool = True
    wandb_project: str | None = None  # log to Weights & Biases (extra `wandb`; WANDB_MODE=offline works)
    device: str = "auto"
    # DDP: parameters that a step may leave unused (e.g. the heads of the modalities it did not see)
    find_unused_parameters: bool = False
    # focal loss (task=seizure): alpha weighs the positive class; gamma ramps linearly from 0 over
    # focal_gamma_warmup_steps optimiser steps (0: full gamma from the start)
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    focal_gamma_warmup_steps: int = 0


@dataclass
class ModelConfig:
    name: str = "cnn1d"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    corpus: str = "synthetic"
    root: str | None = None
    cache_dir: str | None = None
    n_outputs: int | None = None
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    limit: int | None = None
    disjoint_val_test: bool = True  # False: val and test may share subjects (train never shares any)


BUDGET_UNITS = ("subject", "window")


@dataclass
class FewShotConfig:
    budget: float = 1.0
    # subject: that fraction of the training subjects; window: that fraction of the training windows (one
    # training patient, as on the bundled CHB-MIT excerpts); both stratified by label, >= 1 per stratum
    unit: str = "subject"
    mode: str = "finetune"  # finetune | linear_probe
    init_from: str | None = None  # trained weights (export or Trainer checkpoint): every weight but the head


@dataclass
class ExperimentConfig:
    name: str = "default"
    results_dir: str = "results"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fewshot: FewShotConfig = field(default_factory=FewShotConfig)


# numeric settings of TrainConfig: name -> (low, high, low_open, integer); high None = unbounded
_TRAIN_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "seed": (0, None, False, True),
    "batch_size": (1, None, False, True),
    "accum_steps": (1, None, False, True),
    "max_steps": (1, None, False, True),
    "lr": (0, None, False, False),
    "min_lr_ratio": (0, 1, False, False),
    "warmup_steps": (0, None, False, True),
    "weight_decay": (0, None, False, False),
    "grad_clip": (0, None, False, False),
    "eval_every": (0, None, False, True),
    "ckpt_every": (0, None, False, True),
    "log_every": (1, None, False, True),
    "patience": (0, None, False, True),
    "num_workers": (0, None, False, True),
}


def validate_train_config(cfg: TrainConfig, prefix: str = "train") -> TrainConfig:
    """Range-check every setting of ``cfg``; raises :class:`~biodyn.errors.ConfigError` naming the first bad
    one, its value and what is allowed. Called when a config is resolved (``biodyn train``, including
    ``--print-config``) and by the :class:`~biodyn.train.trainer.Trainer`."""
    import re

    from biodyn.errors import ConfigError, check_option, check_range

    for name, (low, high, low_open, integer) in _TRAIN_RANGES.items():
        check_range(
            f"{prefix}.{name}", getattr(cfg, name), low=low, high=high, low_open=low_open, integer=integer
        )
    check_range(f"{prefix}.positive_ratio", cfg.positive_ratio, low=0, high=1, low_open=True, high_open=True)
    betas = list(cfg.betas)
    if len(betas) != 2:
        raise ConfigError(f"invalid {prefix}.betas={betas!r}; allowed: two numbers in [0, 1)")
    for k, b in enumerate(betas):
        check_range(f"{prefix}.betas[{k}]", b, low=0, high=1, high_open=True)
    for term, w in dict(cfg.loss_weights or {}).items():
        check_range(f"{prefix}.loss_weights.{term}", w, low=0)
    from biodyn.train.tasks import TASKS

    check_option(f"{prefix}.task", cfg.task, TASKS)
    check_option(f"{prefix}.objective", cfg.objective, ("model", "task"))
    check_range(f"{prefix}.focal_alpha", cfg.focal_alpha, low=0, high=1)
    check_range(f"{prefix}.focal_gamma", cfg.focal_gamma, low=0)
    check_range(f"{prefix}.focal_gamma_warmup_steps", cfg.focal_gamma_warmup_steps, low=0, integer=True)
    check_option(f"{prefix}.sampler", cfg.sampler, ("uniform", "balanced", "sequential"))
    check_option(f"{prefix}.early_stop_mode", cfg.early_stop_mode, ("min", "max"))
    check_option(f"{prefix}.precision", cfg.precision, ("auto", "fp32", "bf16"))
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", str(cfg.device)):
        raise ConfigError(f"invalid {prefix}.device={cfg.device!r}; allowed: auto, cpu, cuda, cuda:N, mps")
    if cfg.wandb_project is not None and (
        not isinstance(cfg.wandb_project, str) or not cfg.wandb_project.strip()
    ):
        raise ConfigError(
            f"{prefix}.wandb_project must be a W&B project name or null, got {cfg.wandb_project!r}"
        )
    if not str(cfg.out_dir).strip():
        raise ConfigError(f"invalid {prefix}.out_dir={cfg.out_dir!r}; allowed: a folder path")
    return cfg


def validate_experiment(exp: ExperimentConfig) -> ExperimentConfig:
    """:func:`validate_train_config` plus the data and few-shot settings of an experiment."""
    from biodyn.errors import check_option, check_range

    validate_train_config(exp.train)
    for name in ("limit", "n_outputs"):
        value = getattr(exp.data, name)
        if value is not None:
            check_range(f"data.{name}", value, low=1, integer=True)
    check_range("fewshot.budget", exp.fewshot.budget, low=0, high=1, low_open=True)
    check_option("fewshot.mode", exp.fewshot.mode, ("finetune", "linear_probe"))
    check_option("fewshot.unit", exp.fewshot.unit, BUDGET_UNITS)
    return exp

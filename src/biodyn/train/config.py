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
    seed: int = 42
    batch_size: int = 32  # per rank, per micro-batch
    accum_steps: int = 1
    sampler: str = "uniform"  # uniform (seeded shuffle) | balanced (biodyn.cache.BalancedSampler)
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
    device: str = "auto"


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


@dataclass
class FewShotConfig:
    budget: float = 1.0
    mode: str = "finetune"  # finetune | linear_probe


@dataclass
class ExperimentConfig:
    name: str = "default"
    results_dir: str = "results"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fewshot: FewShotConfig = field(default_factory=FewShotConfig)

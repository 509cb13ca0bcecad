"""PRISM run configuration: :class:`PrismRunConfig`, the settings of ``biodyn prism`` (the flags PRISM's
document names) with the specification's defaults, checked at the door."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from biodyn.errors import ConfigError, check_option

MODALITIES = ("image", "ecg", "audio")
MODELS = ("prism", "resnet1d", "transformer")
PATTERNS = ("hybrid", "s4", "delta")


@dataclass
class PrismRunConfig:
    modality: str = "image"  # image | ecg | audio (mode=single)
    mode: str = "single"  # single | joint (ecg + image (+ audio when present) on one backbone)
    model: str = "prism"  # prism | resnet1d | transformer
    block_pattern: str = "hybrid"  # hybrid | s4 | delta (PRISM's block ablation)
    ffn: str = "swiglu"  # swiglu | moe: PRISM's feed-forward (PRISMConfig.ffn; sizes from its moe_* defaults)
    epochs: int = 50
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    hidden_dim: int = 256
    num_layers: int = 12
    num_heads: int = 8
    data_root: str | None = None  # the dataset folder or a parent holding ptbxl/, cifar*/, fsdd/
    data: str = "real"  # real | synthetic
    patch_size: int = 4
    augment: bool = False  # image: random crop + horizontal flip
    n_mels: int = 40
    n_frames: int = 50  # 1 s of 20 ms log-mel frames
    limit: int | None = None  # at most this many items per split: seeded, class-stratified (ecg: the first)
    tensorboard: bool = False
    wandb_project: str | None = None  # Weights & Biases project (extra `wandb`)
    early_stopping: int = 0  # patience in epochs on the validation metric; 0 = off
    output_dir: str = "runs/prism"
    seed: int = 42
    device: str = "auto"
    num_workers: int = 0
    progress: bool = True
    resume: bool = False
    force: bool = (
        False  # replace a run already in output_dir (without it, or resume, such a folder is refused)
    )
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        check_option("modality", self.modality, MODALITIES)
        check_option("mode", self.mode, ("single", "joint"))
        check_option("model", self.model, MODELS)
        check_option("block_pattern", self.block_pattern, PATTERNS)
        check_option("ffn", self.ffn, ("swiglu", "moe"))
        check_option("data", self.data, ("real", "synthetic"))
        for f in fields(self):  # YAML 1.1 reads 3e-4 as a string: numeric strings are taken, others refused
            if f.type in ("int", "float", "int | None"):
                setattr(self, f.name, _number(f.name, getattr(self, f.name), f.type))
        for f in fields(self):  # a quoted "false" in YAML is a non-empty string, which Python reads as true
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise ConfigError(f"invalid {f.name}={getattr(self, f.name)!r}; expected true or false")
        for k in (
            "epochs",
            "batch_size",
            "hidden_dim",
            "num_layers",
            "num_heads",
            "patch_size",
            "n_mels",
            "n_frames",
            "limit",
        ):
            if getattr(self, k) is not None and getattr(self, k) < 1:
                raise ConfigError(f"{k} must be >= 1, got {getattr(self, k)!r}")
        for k in ("lr", "weight_decay", "warmup_epochs", "early_stopping", "num_workers"):
            if getattr(self, k) < 0 or (k == "lr" and self.lr == 0):
                raise ConfigError(f"{k} must be {'> 0' if k == 'lr' else '>= 0'}, got {getattr(self, k)!r}")
        if self.mode == "joint" and self.model != "prism":
            raise ConfigError(f"mode=joint trains one PRISM backbone; model={self.model!r} is not allowed")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed!r}")
        for k in ("output_dir", "device"):
            if not isinstance(getattr(self, k), str) or not getattr(self, k).strip():
                raise ConfigError(f"invalid {k}={getattr(self, k)!r}; expected a non-empty string")
        for k in ("data_root", "wandb_project"):
            if getattr(self, k) is not None and not isinstance(getattr(self, k), str):
                raise ConfigError(f"invalid {k}={getattr(self, k)!r}; expected a string or null")
        if not isinstance(self.model_overrides, dict):
            raise ConfigError(
                f"invalid model_overrides={self.model_overrides!r}; expected a mapping of keys to values"
            )
        if self.resume and self.force:
            raise ConfigError(
                "resume and force exclude each other: resume continues the run, force replaces it"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PrismRunConfig:
        known = {f.name for f in fields(cls)}
        bad = sorted(set(d) - known)
        if bad:
            raise ConfigError(f"unknown config keys {bad}; allowed: {sorted(known)}")
        return cls(**d)


def _number(key: str, value, kind: str):
    """``value`` of the config field ``key`` as ``kind`` (``int``, ``float`` or ``int | None``); a numeric
    string (``"3e-4"``, ``"20"``) is converted, anything else is a :class:`ConfigError` naming the key, the
    value and the type."""
    if value is None and kind == "int | None":
        return None
    v = value.strip() if isinstance(value, str) else value
    try:
        if isinstance(v, bool):
            raise ValueError
        if kind == "float":
            v = float(v)
            if math.isfinite(v):
                return v
        elif isinstance(v, float):
            if v.is_integer():
                return int(v)
        else:
            return int(v)
    except (TypeError, ValueError):
        pass
    expected = {"int": "an integer", "float": "a finite number", "int | None": "an integer or null"}[kind]
    raise ConfigError(f"invalid {key}={value!r}; expected {expected}")

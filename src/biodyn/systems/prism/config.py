"""PRISM run configuration: :class:`PrismRunConfig`, the settings of ``biodyn train system=prism`` and of its
alias ``biodyn prism`` (the flags PRISM's document names) with the specification's defaults, checked at the door;
:func:`compose` builds it with Hydra from ``configs/prism/`` (recipes and presets as YAML) and overrides."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
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
        for k in ("lr", "weight_decay", "warmup_epochs"):  # typed by the config schema; nan/inf refused here
            if not math.isfinite(getattr(self, k)):
                raise ConfigError(f"invalid {k}={getattr(self, k)!r}; expected a finite number")
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


def config_dir(override: str | Path | None = None) -> Path:
    """``configs/prism`` of the packaged config tree (or of ``override`` / ``$BIODYN_CONFIG_DIR``)."""
    from biodyn.configs import config_path

    return config_path("prism", override=override)


def compose(overrides: list[str] | None = None, *, config_dir_: str | Path | None = None) -> PrismRunConfig:
    """Compose ``configs/prism/config.yaml`` (schema :class:`PrismRunConfig`) with Hydra ``overrides``
    (``recipe=prism_cifar10 epochs=3``) into a checked :class:`PrismRunConfig`.

    ``recipe=`` names a packaged recipe (``configs/prism/recipe/``) or a YAML file of PrismRunConfig keys
    (dashes or underscores); ``preset=`` a packaged preset (``smoke``, ``cpu``). Unknown keys and values of
    the wrong type are a :class:`ConfigError` naming the key and the value."""
    from hydra import compose as h_compose
    from hydra import initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    root = config_dir(config_dir_)
    if not (root / "config.yaml").is_file():
        raise ConfigError(f"no PRISM config tree at {root} (config.yaml missing)")
    store = ConfigStore.instance()
    store.store(name="prism_schema", node=PrismRunConfig)  # every key exists, typed
    overrides = [_recipe_override(o, root, store) for o in overrides or []]
    try:
        with initialize_config_dir(config_dir=str(root), version_base=None):
            raw = h_compose(config_name="config", overrides=overrides)
        known = {f.name for f in fields(PrismRunConfig)}
        bad = sorted(set(raw) - known)  # `+key=...` adds a key the schema's merge would carry along unread
        if bad:
            raise ConfigError(f"unknown config keys {bad}; allowed: {sorted(known)}")
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(PrismRunConfig), raw))
    except (HydraException, OmegaConfBaseException) as e:
        raise _config_error(e) from e


_RECIPE_FILE = "_file"  # the recipe group's entry for a YAML file given as recipe=PATH


def _recipe_override(override: str, root: Path, store) -> str:
    """``recipe=PATH`` (a YAML file; a packaged recipe's name when no such file exists) stored as the recipe
    ``_file`` of the config store, so Hydra composes it at the recipe's place; any other override unchanged."""
    key, _, value = override.partition("=")
    path = Path(value)
    if key.lstrip("+~") != "recipe" or not value:
        return override
    if not path.is_file() and (root / "recipe" / f"{value}.yaml").is_file():
        return override
    import yaml

    if not path.is_file():
        names = sorted(p.stem for p in (root / "recipe").glob("*.yaml"))
        raise ConfigError(f"recipe {value}: no such file, nor a packaged recipe ({', '.join(names)})")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise ConfigError(f"recipe {value}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"recipe {value}: not a UTF-8 text file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(f"recipe {value}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"recipe {value}: expected a mapping of keys to values")
    node = {str(k).replace("-", "_"): v for k, v in loaded.items()}
    known = {f.name for f in fields(PrismRunConfig)}
    bad = sorted(set(node) - known)
    if bad:
        raise ConfigError(f"unknown config keys {bad}; allowed: {sorted(known)}")
    # numeric strings (YAML 1.1 reads 3e-4 as one) become numbers in the schema's typed fields
    store.store(group="recipe", name=_RECIPE_FILE, node=node, package="_global_")
    return f"{key}={_RECIPE_FILE}"


_EXPECTED = (
    ("to Integer", "an integer"),
    ("to Float", "a finite number"),
    ("valid bool", "true or false"),
    ("is not Optional", "a value, not null"),
    ("to Dict", "a mapping of keys to values"),
)


def _config_error(e: Exception) -> ConfigError:
    """A Hydra/OmegaConf error as one :class:`ConfigError` line naming the key, the value and the type."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = e
    while cause is not None and getattr(cause, "full_key", None) is None:
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return ConfigError(f"bad PRISM config: {e}")
    key, msg = cause.full_key, str(getattr(cause, "msg", cause)).splitlines()[0]
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        known = sorted(f.name for f in fields(PrismRunConfig))
        return ConfigError(f"unknown config keys [{key!r}]; allowed: {known}")
    expected = next((word for pattern, word in _EXPECTED if pattern in msg), None)
    if expected is None:
        return ConfigError(f"invalid {key}={cause.value!r}: {msg}")
    return ConfigError(f"invalid {key}={cause.value!r}; expected {expected}")

"""CLD-Trans run configuration: :class:`CLDTransRun` (mode, ablation, the model, data and training sections)
composed by Hydra from ``configs/cldtrans/`` with command-line overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from biodyn.errors import ConfigError, check_option
from biodyn.models.cldtrans import CLDTransConfig
from biodyn.train.config import TrainConfig

MODALITY = {
    "eegmmidb": "eeg",
    "mimic_ecg": "ecg",
    "chbmit": "eeg",
    "tusz": "eeg",
    "ptbxl": "ecg",
    "sleepedf": "eeg",
    "synthetic": "eeg",
}
ABLATIONS = ("none", "no_vq", "no_lag", "integer_lag", "no_ode")


@dataclass
class CLDTransData:
    corpora: list[str] = field(default_factory=lambda: ["eegmmidb", "mimic_ecg"])
    roots: dict[str, str] = field(default_factory=dict)  # corpus -> folder (default: <data root>/<corpus>)
    # corpus -> the official splits to pretrain on (e.g. ptbxl: [train] = folds 1-8, so that the few-shot
    # validation and test folds stay unseen); a corpus not named here is used whole
    splits: dict[str, list[str]] = field(default_factory=dict)
    window_s: float = 10.0  # the CLD-Trans window: 10 s (EEG 1600 samples, ECG 5000)
    limit: int | None = None  # records per corpus (smoke runs)
    cache_dir: str | None = None  # default: <train.out_dir>/cache
    max_channels: int | None = None  # keep the first channels only (CPU tests)


@dataclass
class CLDTransRun:
    system: str = (
        "cldtrans"  # names the system in the run folder's config.yaml (what `biodyn eval` dispatches on)
    )
    mode: str = "stage1"  # stage1 | stage2
    ablation: str = "none"
    init_from: str | None = None  # stage 2: stage-1 checkpoint (default <out_dir>/stage1/checkpoints/last)
    effective_batch: int | None = None  # windows per optimiser step over ranks; sets train.accum_steps
    model: CLDTransConfig = field(default_factory=CLDTransConfig)
    data: CLDTransData = field(default_factory=CLDTransData)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(out_dir="runs/cldtrans", task="multilabel")
    )


def config_dir(override: str | Path | None = None) -> Path:
    """``configs/cldtrans`` of the packaged config tree (or of ``override`` / ``$BIODYN_CONFIG_DIR``)."""
    from biodyn.configs import config_path

    return config_path("cldtrans", override=override)


def compose(overrides: list[str] | None = None, *, config_dir_: str | Path | None = None) -> CLDTransRun:
    """Compose ``configs/cldtrans/config.yaml`` (of the packaged tree, or of ``config_dir_``) with
    ``overrides``; unknown keys are errors."""
    run = compose_root("cldtrans", CLDTransRun, overrides, config_dir_=config_dir_)
    check_option("mode", run.mode, ("stage1", "stage2"))
    check_option("ablation", run.ablation, ABLATIONS)
    from biodyn.errors import check_range
    from biodyn.train.config import validate_train_config

    validate_train_config(run.train)  # every training setting range-checked before any cache build or write
    if run.data.limit is not None:
        check_range("data.limit", run.data.limit, low=1, integer=True)
    if run.effective_batch is not None:
        check_range("effective_batch", run.effective_batch, low=1, integer=True)
    check_range("data.window_s", run.data.window_s, low=0, low_open=True)
    return run


# the roots of CLD-Trans' runs in the config tree: folder -> (the schema's store name, what errors call it)
ROOTS = {
    "cldtrans": ("cldtrans_schema", "CLD-Trans"),
    "focal": ("focal_schema", "focal-lead"),
    "fewshot": ("fewshot_schema", "few-shot"),
}


def compose_root(
    root_name: str, schema: type, overrides: list[str] | None = None, *, config_dir_: str | Path | None = None
):
    """The ``schema`` dataclass composed by Hydra from ``configs/<root_name>/config.yaml`` (its ``preset``,
    ``profile`` ... groups) and ``overrides``: every key exists in ``schema`` with its type, an unknown key
    (``+key=`` too) or a value of the wrong type is one :class:`ConfigError` line naming it; the schema's
    ``__post_init__`` checks the ranges. Nothing is read but the tree."""
    from hydra import compose as h_compose
    from hydra import initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from biodyn.configs import config_path

    store_name, label = ROOTS[root_name]
    root = config_path(root_name, override=config_dir_)
    if not (root / "config.yaml").is_file():
        raise ConfigError(f"no {label} config tree at {root} (config.yaml missing)")
    ConfigStore.instance().store(name=store_name, node=schema)  # every key exists, typed
    try:
        with initialize_config_dir(config_dir=str(root), version_base=None):
            raw = h_compose(config_name="config", overrides=list(overrides or []))
        _check_known(OmegaConf.to_container(raw, resolve=False), schema(), "", label)
        cfg = OmegaConf.merge(OmegaConf.structured(schema), raw)
        return OmegaConf.to_object(cfg)
    except (HydraException, OmegaConfBaseException) as e:
        raise _config_error(e, schema, label) from e


def _config_error(e: Exception, schema: type = CLDTransRun, label: str = "CLD-Trans") -> ConfigError:
    """A Hydra/OmegaConf error as one line naming the key: an unknown key with the keys allowed there (Hydra's
    hint "use +train.nosuch=1" would not help, :func:`_check_known` refuses that too), a value of the wrong
    type with the value and the type expected."""
    from dataclasses import fields, is_dataclass

    from hydra.errors import MissingConfigException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    if isinstance(e, MissingConfigException) and e.missing_cfg_file and e.options is not None:
        group, _, name = e.missing_cfg_file.rpartition("/")  # preset/gpu: a group's option that is not there
        return ConfigError(f"invalid {group}={name!r}; allowed: {', '.join(map(repr, e.options))}")
    cause = e
    while cause is not None and not getattr(cause, "full_key", None):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return ConfigError(f"bad {label} config: {e}")
    key = cause.full_key
    if not isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        return ConfigError(f"invalid {key}={cause.value!r}: {str(cause.msg).splitlines()[0]}")
    *parents, _ = key.split(".")
    node = schema()
    for p in parents:
        node = getattr(node, p, None)
    if not is_dataclass(node):  # a free mapping (data.roots, data.splits): its keys are added with +
        return ConfigError(f"{key} is not set; add it with +{key}=VALUE")
    where = ".".join(parents) + "." if parents else ""
    known = ", ".join(sorted(f.name for f in fields(node)))
    return ConfigError(f"unknown {label} setting {key}; allowed under {where or 'the top level'}: {known}")


def _check_known(raw, node, prefix: str, label: str = "CLD-Trans") -> None:
    """Refuse a key of the composed config that the schema (``node``) does not have (``+train.nosuch=1``):
    Hydra's ``+`` adds keys that the merge with the schema would otherwise carry along unread."""
    from dataclasses import fields, is_dataclass

    if not isinstance(raw, dict) or not is_dataclass(node):
        return
    known = {f.name for f in fields(node)}
    for k, v in raw.items():
        if k not in known:
            raise ConfigError(
                f"unknown {label} setting {prefix}{k}; allowed under {prefix or 'the top level'}: "
                f"{', '.join(sorted(known))}"
            )
        _check_known(v, getattr(node, k), f"{prefix}{k}.", label)

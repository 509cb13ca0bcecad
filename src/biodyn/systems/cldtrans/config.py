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
    from hydra import compose as h_compose
    from hydra import initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    root = config_dir(config_dir_)
    if not (root / "config.yaml").is_file():
        raise ConfigError(f"no CLD-Trans config tree at {root} (config.yaml missing)")
    ConfigStore.instance().store(name="cldtrans_schema", node=CLDTransRun)  # every key exists, typed
    try:
        with initialize_config_dir(config_dir=str(root), version_base=None):
            raw = h_compose(config_name="config", overrides=list(overrides or []))
        cfg = OmegaConf.merge(OmegaConf.structured(CLDTransRun), raw)
        run = OmegaConf.to_object(cfg)
    except (HydraException, OmegaConfBaseException) as e:
        raise _config_error(e) from e
    _check_known(OmegaConf.to_container(raw, resolve=False), run, "")
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


def _config_error(e: Exception) -> ConfigError:
    """A Hydra/OmegaConf error as one line naming the key: an unknown key with the keys allowed there (Hydra's
    hint "use +train.nosuch=1" would not help, :func:`_check_known` refuses that too), a value of the wrong
    type with the value and the type expected."""
    from dataclasses import fields, is_dataclass

    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = e
    while cause is not None and not getattr(cause, "full_key", None):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return ConfigError(f"bad CLD-Trans config: {e}")
    key = cause.full_key
    if not isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
        return ConfigError(f"invalid {key}={cause.value!r}: {str(cause.msg).splitlines()[0]}")
    *parents, _ = key.split(".")
    node = CLDTransRun()
    for p in parents:
        node = getattr(node, p, None)
    if not is_dataclass(node):  # a free mapping (data.roots, data.splits): its keys are added with +
        return ConfigError(f"{key} is not set; add it with +{key}=VALUE")
    where = ".".join(parents) + "." if parents else ""
    known = ", ".join(sorted(f.name for f in fields(node)))
    return ConfigError(f"unknown CLD-Trans setting {key}; allowed under {where or 'the top level'}: {known}")


def _check_known(raw, node, prefix: str) -> None:
    """Refuse a key of the composed config that :class:`CLDTransRun` does not have (``+train.nosuch=1``):
    Hydra's ``+`` adds keys that the merge with the schema would otherwise carry along unread."""
    from dataclasses import fields, is_dataclass

    if not isinstance(raw, dict) or not is_dataclass(node):
        return
    known = {f.name for f in fields(node)}
    for k, v in raw.items():
        if k not in known:
            raise ConfigError(
                f"unknown CLD-Trans setting {prefix}{k}; allowed under {prefix or 'the top level'}: "
                f"{', '.join(sorted(known))}"
            )
        _check_known(v, getattr(node, k), f"{prefix}{k}.")

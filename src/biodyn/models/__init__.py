"""Models: the contract (:class:`BiodynModel`), a registry (``create_model(name, **overrides)``) and export
without pickle (``save_pretrained`` / ``from_pretrained``). See ``docs/models.md``."""

from biodyn.models import baselines  # noqa: F401  (registers the baselines)
from biodyn.models._base import OUTPUT_KINDS, BiodynModel
from biodyn.models._pretrained import from_pretrained, save_pretrained
from biodyn.models._registry import (
    check_overrides,
    create_model,
    list_models,
    model_config,
    model_entry,
    register_model,
)

__all__ = [
    "OUTPUT_KINDS",
    "BiodynModel",
    "check_overrides",
    "create_model",
    "from_pretrained",
    "list_models",
    "model_config",
    "model_entry",
    "register_model",
    "save_pretrained",
]

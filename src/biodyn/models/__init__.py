"""Models: the contract (:class:`BiodynModel`), a registry (``create_model(name, **overrides)``) and export
without pickle (``save_pretrained`` / ``from_pretrained``, with a model card; Hub ids and ``push_to_hub`` through
the extra ``hub``). See ``docs/models.md``."""

from biodyn.models import (  # noqa: F401  (each import registers its models)
    baselines,
    cldtrans,
    seizure,  # seizure_bimamba2, seizure_gdn, seizure_tiny
)
from biodyn.models._base import OUTPUT_KINDS, BiodynModel
from biodyn.models._pretrained import from_pretrained, push_to_hub, save_pretrained
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
    "push_to_hub",
    "register_model",
    "save_pretrained",
]

from biodyn.models import prism  # noqa: F401  (registers prism, prism_tiny, prism_s4, prism_delta)

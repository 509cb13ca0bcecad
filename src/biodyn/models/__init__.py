"""Models: the contract (:class:`BiodynModel`), a registry (``create_model(name, **overrides)``, with what each
model expects as input: :func:`model_inputs`) and export without pickle (``save_pretrained`` /
``from_pretrained``, which also loads any training run; a model card, Hub ids and ``push_to_hub`` through the
extra ``hub``). See ``docs/models.md``."""

from biodyn.models import (  # noqa: F401  (each import registers its models)
    baselines,
    cldtrans,
    prism,  # prism, prism_tiny, prism_s4, prism_delta, prism_multimodal
    seizure,  # seizure_bimamba2, seizure_gdn, seizure_tiny
)
from biodyn.models._base import OUTPUT_KINDS, BiodynModel, InputSpec
from biodyn.models._pretrained import find_checkpoint, from_pretrained, push_to_hub, save_pretrained
from biodyn.models._registry import (
    ModelInputs,
    check_overrides,
    create_model,
    list_models,
    model_config,
    model_entry,
    model_inputs,
    model_output,
    register_model,
    resolve_saved,
)

__all__ = [
    "OUTPUT_KINDS",
    "BiodynModel",
    "InputSpec",
    "ModelInputs",
    "check_overrides",
    "create_model",
    "find_checkpoint",
    "from_pretrained",
    "list_models",
    "model_config",
    "model_entry",
    "model_inputs",
    "model_output",
    "push_to_hub",
    "register_model",
    "resolve_saved",
    "save_pretrained",
]

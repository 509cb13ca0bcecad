"""Models: a registry (``create_model(name, **overrides)``) and the base contract."""

from biodyn.models import (
    baselines,  # noqa: F401  (registers the baselines)
    seizure,  # noqa: F401  (registers seizure_bimamba2, seizure_gdn, seizure_tiny)
)
from biodyn.models._base import BiodynModel
from biodyn.models._registry import create_model, list_models, register_model

__all__ = ["BiodynModel", "create_model", "list_models", "register_model"]

"""Models: a registry (``create_model(name, **overrides)``) and the base contract."""

from biodyn.models import baselines  # noqa: F401  (registers the baselines)
from biodyn.models._base import BiodynModel
from biodyn.models._registry import create_model, list_models, register_model

__all__ = ["BiodynModel", "create_model", "list_models", "register_model"]

from biodyn.models import prism  # noqa: F401  (registers prism, prism_tiny, prism_s4, prism_delta)

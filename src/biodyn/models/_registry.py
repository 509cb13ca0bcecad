"""Name -> builder registry of models: ``register_model``, ``create_model``, ``list_models``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biodyn.errors import ConfigError

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_model(name: str):
    """Decorator: ``@register_model("cnn1d")`` on a builder ``(n_chans, n_outputs, n_times, sfreq, **cfg)``."""

    def deco(builder):
        if name in _REGISTRY and _REGISTRY[name] is not builder:
            raise ConfigError(f"model {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return deco


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def create_model(name: str, **overrides):
    """Build the registered model ``name``; ``overrides`` are its constructor/config arguments."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; registered: {', '.join(list_models()) or '(none)'}")
    try:
        return _REGISTRY[name](**overrides)
    except TypeError as e:
        raise ConfigError(f"model {name!r}: {e}") from e

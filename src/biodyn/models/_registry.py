"""Name -> model registry: ``register_model``, ``create_model``, ``model_config``, ``list_models``.

Each registration carries the model's config dataclass; ``create_model(name, **overrides)`` checks every
override against the signal arguments (``n_chans, n_outputs, n_times, sfreq``) and the dataclass's fields
and types before anything is built. A variant is a registration with other defaults::

    @dataclass
    class CNN1dWideConfig(CNN1dConfig):
        width: int = 128

    register_model("cnn1d_wide", config=CNN1dWideConfig)(CNN1d)

A registration also declares what a caller needs to feed the model (:class:`ModelInputs`: the input form,
the modalities it reads and the rate and preprocessing each is bound to, whether it needs canonical channel
names), so shared code asks :func:`model_inputs` / :func:`model_output` instead of branching on names. Saved
configs of older versions are read through ``aliases`` (old names) and ``upgrade`` (old keys).
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from numpy import bool_ as np_bool

from biodyn.errors import ConfigError

SIGNAL_ARGS: dict[str, Any] = {"n_chans": int, "n_outputs": int, "n_times": int | None, "sfreq": float}
_REQUIRED_SIGNAL_ARGS = ("n_chans", "n_outputs", "sfreq")
INPUT_FORMS = ("waveform", "tokens")


@dataclass(frozen=True)
class ModelInputs:
    """What a model expects as input, declared at registration (see :func:`model_inputs`).

    Attributes:
        form: ``"waveform"``: ``x`` ``(B, C, T)`` holds ``C`` signals sampled at ``sfreq``; ``"tokens"``:
            each of the ``T`` steps is one token whose ``C`` values are its features (PRISM: ECG leads per
            sample, image patch values, log-mel bands per frame).
        modalities: the modalities the architecture reads (``()``: any signal).
        rates: modality -> the sampling rate in Hz the model is bound to (``{}``: any rate; the model is built
            for its ``sfreq``).
        preprocess: modality -> name of the preprocessing chain in :mod:`biodyn.signal.config` its training
            used (e.g. ``"CLDTRANS_EEG"``); ``{}``: the data pipeline's.
        channel_names: the model needs canonical channel names (``channels=``), e.g. for 10-20 positions.
    """

    form: str = "waveform"
    modalities: tuple[str, ...] = ()
    rates: Mapping[str, float] = field(default_factory=dict)
    preprocess: Mapping[str, str] = field(default_factory=dict)
    channel_names: bool = False

    def __post_init__(self):
        if self.form not in INPUT_FORMS:
            raise ConfigError(f"ModelInputs.form={self.form!r}; allowed: {', '.join(INPUT_FORMS)}")


@dataclass(frozen=True)
class ModelEntry:
    """One registration: ``target(n_chans=, n_outputs=, n_times=, sfreq=, cfg=)`` builds the model."""

    name: str
    target: Callable[..., Any]
    config: type
    test_config: Mapping[str, Any] = field(default_factory=dict)  # small sizes for the contract test
    # ModelInputs, or a function of the config instance returning one (rates that are config fields)
    inputs: ModelInputs | Callable[[Any], ModelInputs] = field(default_factory=ModelInputs)
    aliases: tuple[str, ...] = ()  # older names under which saved configs may name this model
    # upgrade(saved config dict) -> create_model keyword arguments: reads configs saved by older versions
    upgrade: Callable[[dict], dict] | None = None

    @property
    def output(self) -> str | None:
        """The output kind the model class declares (``"clip"`` / ``"per_sample"``)."""
        return getattr(self.target, "output", None)

    def fields(self) -> dict[str, Any]:
        """Config field name -> type annotation (resolved)."""
        hints = typing.get_type_hints(self.config)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(self.config) if f.init}


_REGISTRY: dict[str, ModelEntry] = {}
_ALIASES: dict[str, str] = {}


def register_model(
    name: str,
    *,
    config: type,
    test_config: Mapping[str, Any] | None = None,
    inputs: ModelInputs | Callable[[Any], ModelInputs] | None = None,
    aliases: tuple[str, ...] = (),
    upgrade: Callable[[dict], dict] | None = None,
):
    """Decorator registering a model class (or a builder function) under ``name``.

    Args:
        name: the registered name (``create_model(name)``, ``config.json``'s ``"name"``).
        config: the config dataclass; its defaults are the model's defaults.
        test_config: overrides (config fields or signal arguments) that make the contract test's instance
            small and fast; the defaults are used for everything else.
        inputs: what the model expects as input (:class:`ModelInputs`, or a function of the config instance
            returning one); default: waveforms of any modality at the model's ``sfreq``.
        aliases: older names of this model; :func:`resolve_saved` maps a saved config under one to ``name``.
        upgrade: ``upgrade(saved: dict) -> dict``: turns a config saved by an older version (keys since
            removed or moved) into ``create_model`` keyword arguments; applied by :func:`resolve_saved`.

    The target is called as ``target(n_chans=..., n_outputs=..., n_times=..., sfreq=..., cfg=config(...))``
    and must return a :class:`~biodyn.models.BiodynModel`.
    """
    if not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        raise TypeError(f"register_model({name!r}): config must be a dataclass type, got {config!r}")

    def deco(target):
        entry = ModelEntry(
            name, target, config, dict(test_config or {}), inputs or ModelInputs(), tuple(aliases), upgrade
        )
        old = _REGISTRY.get(name)
        if old is not None and (old.target is not target or old.config is not config):
            raise ConfigError(f"model {name!r} is already registered (by {_qualname(old.target)})")
        for alias in entry.aliases:
            if alias in _REGISTRY or _ALIASES.get(alias, name) != name:
                raise ConfigError(f"alias {alias!r} of model {name!r} already names another model")
        _check_keys(name, entry, entry.test_config)
        _REGISTRY[name] = entry
        _ALIASES.update(dict.fromkeys(entry.aliases, name))
        return target

    return deco


def list_models() -> list[str]:
    """The registered names, sorted."""
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ConfigError(f"unknown model {name!r}{hint}; registered: {', '.join(list_models()) or '(none)'}")
    return _REGISTRY[name]


def model_config(name: str):
    """A fresh instance of the config dataclass of ``name`` holding its defaults."""
    return model_entry(name).config()


def model_inputs(name: str, **overrides) -> ModelInputs:
    """What the model ``name`` (with config ``overrides``; signal arguments are ignored) expects as input:
    form, modalities, the rate and preprocessing each modality is bound to, whether it needs channel names.
    Shared code asks this instead of branching on a model's name."""
    entry = model_entry(name)
    values = {k: v for k, v in _check_keys(name, entry, overrides).items() if k not in SIGNAL_ARGS}
    decl = entry.inputs
    return decl(entry.config(**values)) if callable(decl) else decl


def model_output(name: str) -> str | None:
    """The output kind of the model ``name``: ``"clip"`` (``(B, K)``) or ``"per_sample"`` (``(B, K, T)``)."""
    return model_entry(name).output


def resolve_saved(name: str, config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(registered name, create_model keyword arguments)`` of a config saved under ``name`` by this or an
    older version: an alias is mapped to its model and the model's ``upgrade`` hook applied."""
    name = _ALIASES.get(name, name)
    entry = model_entry(name)
    config = dict(config)
    return name, (entry.upgrade(config) if entry.upgrade is not None else config)


def check_overrides(name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The checks of :func:`create_model` without building anything (e.g. before a long data step):
    returns the overrides as the model will receive them; an unknown name or key or a wrong type is a
    :class:`~biodyn.errors.ConfigError`."""
    return _check_keys(name, model_entry(name), overrides)


def create_model(name: str, **overrides):
    """Build the registered model ``name``.

    ``overrides`` are the signal arguments ``n_chans``, ``n_outputs``, ``sfreq`` (required) and ``n_times``
    (default ``None``), and any field of the model's config dataclass. An unknown key or a value of the
    wrong type is a :class:`~biodyn.errors.ConfigError` naming it and what is allowed; errors raised while
    the model is built (a ``TypeError`` in its constructor included) are not caught.
    """
    from biodyn.models._base import BiodynModel

    entry = model_entry(name)
    values = check_overrides(name, overrides)
    missing = [k for k in _REQUIRED_SIGNAL_ARGS if k not in values]
    if missing:
        raise ConfigError(f"create_model({name!r}): missing {', '.join(missing)} (the signal's shape)")
    signal = {k: values.pop(k, None) for k in SIGNAL_ARGS}
    cfg = entry.config(**values)
    model = entry.target(**signal, cfg=cfg)
    if not isinstance(model, BiodynModel):
        raise TypeError(
            f"model {name!r}: {_qualname(entry.target)} returned {type(model).__name__}, not a BiodynModel"
        )
    model.model_name = name
    return model


def _check_keys(name: str, entry: ModelEntry, overrides: Mapping[str, Any]) -> dict[str, Any]:
    fields = entry.fields()
    allowed = {**SIGNAL_ARGS, **fields}
    out = {}
    for key, value in overrides.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"model {name!r}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")
        ok, coerced = _coerce(value, allowed[key])
        if not ok:
            raise ConfigError(
                f"model {name!r}: {key}={value!r} has type {type(value).__name__}; expected {_type_name(allowed[key])}"
            )
        out[key] = coerced
    return out


def _coerce(value: Any, hint: Any) -> tuple[bool, Any]:
    """Does ``value`` fit the annotation ``hint``? Returns ``(ok, value)`` with ints widened to floats and
    lists turned into tuples where the annotation says so (JSON and YAML have neither distinction)."""
    if hint is Any or hint is typing.Any:
        return True, value
    if hint is None or hint is type(None):
        return value is None, value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        for arm in args:
            ok, v = _coerce(value, arm)
            if ok:
                return True, v
        return False, value
    if origin is Literal:
        return value in args, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:  # NumPy integers count (and become ints); bools do not
        ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np_bool))
        return ok, int(value) if ok else value
    if hint is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np_bool))
        return ok, float(value) if ok else value
    if hint is str:
        return isinstance(value, str), value
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False, value
        if not args:
            items = list(value)
        elif origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                return False, value
            pairs = [_coerce(v, a) for v, a in zip(value, args, strict=True)]
            return all(ok for ok, _ in pairs), tuple(v for _, v in pairs)
        else:
            pairs = [_coerce(v, args[0]) for v in value]
            if not all(ok for ok, _ in pairs):
                return False, value
            items = [v for _, v in pairs]
        return True, (tuple(items) if (origin or hint) is tuple else list(items))
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            return False, value
        if not args:
            return True, dict(value)
        out = {}
        for k, v in value.items():
            ok_k, k2 = _coerce(k, args[0])
            ok_v, v2 = _coerce(v, args[1])
            if not (ok_k and ok_v):
                return False, value
            out[k2] = v2
        return True, out
    if dataclasses.is_dataclass(hint) and isinstance(
        value, Mapping
    ):  # a nested config as a dict (JSON, YAML)
        return True, dict(value)
    if isinstance(hint, type):
        return isinstance(value, hint), value
    return True, value  # an annotation this check does not understand is not judged


def _type_name(hint: Any) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"

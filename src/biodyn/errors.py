"""Exceptions that name the file (or parameter) and the problem."""

from __future__ import annotations

import os


class BiodynError(Exception):
    """Base class of biodyn's own errors.

    ``exit_code`` is the status the ``biodyn`` command exits with when this error reaches it (the CLI prints
    one line ``biodyn: error: <message>``; see ``docs/reliability.md`` for the table).
    """

    exit_code = 1


class RecordingError(BiodynError, ValueError):
    """A recording or annotation file that cannot be used as asked.

    The message always starts with the path, e.g. ``chb01_03.edf: truncated: header says 3600 records, file holds 1712``.
    """

    exit_code = 3

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class ChannelError(RecordingError):
    """Channels that are missing or cannot be mapped to canonical names."""


class ConfigError(BiodynError, ValueError):
    """An argument or config value outside what is allowed (names parameter, value, allowed)."""

    exit_code = 2


class NothingMatchedError(ConfigError):
    """A selection (``--records``, a corpus folder, a glob) that matched nothing, so nothing would be done."""

    exit_code = 6


class DataRootError(ConfigError, FileNotFoundError):
    """A data root or corpus folder that does not exist (also a ``FileNotFoundError`` for older callers)."""

    exit_code = 6


def check_range(
    name: str,
    value,
    *,
    low=None,
    high=None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number in the given range.

    ``low``/``high`` are inclusive bounds unless ``low_open``/``high_open``; ``integer`` also requires an int.
    The message names the parameter, the value and what is allowed, e.g.
    ``invalid train.batch_size=-4; allowed: an integer >= 1``.
    """
    import math
    import numbers

    kind = "an integer" if integer else "a number"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    allowed = f"{kind} {' and '.join(parts)}".strip()
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, numbers.Integral)
    if ok:
        v = float(value)
        ok = math.isfinite(v)
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        raise ConfigError(f"invalid {name}={value!r}; allowed: {allowed}")


class CheckpointError(BiodynError, ValueError):
    """Saved weights that do not fit: another model, a newer format, missing files."""

    exit_code = 4


def check_option(name: str, value, allowed) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``allowed`` (MNE's ``_check_option``)."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"invalid {name}={value!r}; allowed: {', '.join(map(repr, allowed))}")

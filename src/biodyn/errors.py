"""Exceptions that name the file (or parameter) and the problem."""

from __future__ import annotations

import os


class BiodynError(Exception):
    """Base class of biodyn's own errors."""


class RecordingError(BiodynError, ValueError):
    """A recording or annotation file that cannot be used as asked.

    The message always starts with the path, e.g. ``chb01_03.edf: truncated: header says 3600 records, file holds 1712``.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class ChannelError(RecordingError):
    """Channels that are missing or cannot be mapped to canonical names."""


class ConfigError(BiodynError, ValueError):
    """An argument or config value outside what is allowed (names parameter, value, allowed)."""


class CheckpointError(BiodynError, ValueError):
    """Saved weights that do not fit: another model, a newer format, missing files."""


def check_option(name: str, value, allowed) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``allowed`` (MNE's ``_check_option``)."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"invalid {name}={value!r}; allowed: {', '.join(map(repr, allowed))}")

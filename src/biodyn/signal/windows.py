"""Fixed-length windows as index arithmetic (no copies)."""

from __future__ import annotations

import numpy as np

from biodyn.errors import ConfigError


def window_starts(n_times: int, window: int, stride: int) -> np.ndarray:
    """Start sample of every full window: ``0, stride, 2 stride, ...`` while ``start + window <= n_times``."""
    if int(window) <= 0 or int(stride) <= 0:
        raise ConfigError(
            f"invalid window={window!r}, stride={stride!r}; both must be positive sample counts"
        )
    if n_times < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_times - window + 1, stride, dtype=np.int64)


def make_windows(
    x: np.ndarray, window: int, stride: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Views of ``x`` ``(C, T)`` as windows ``(N, C, window)``, and of ``labels`` ``(T,)`` as ``(N, window)``.

    The windows are read-only strided views; copy before writing.
    """
    x = np.atleast_2d(x)
    starts = window_starts(x.shape[-1], window, stride)
    n = len(starts)
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=-1)  # (C, T - W + 1, W)
    wins = view[:, ::stride][:, :n].transpose(1, 0, 2)
    lab = None
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[-1] != x.shape[-1]:
            raise ConfigError(f"labels have {labels.shape[-1]} samples but x has {x.shape[-1]}")
        lab = np.lib.stride_tricks.sliding_window_view(labels, window, axis=-1)[::stride][:n]
    return wins, lab

"""Seed aggregation: mean with a Student-t confidence interval."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from biodyn.errors import ConfigError


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the two-sided Student-t ``confidence`` interval of ``values``.

    One value gives a half-width of ``nan`` (no spread can be estimated); NaNs are an error.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ConfigError("mean_ci: no values")
    if not np.isfinite(v).all():
        raise ConfigError("mean_ci: values contain NaN/Inf")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"mean_ci: confidence={confidence} must be in (0, 1)")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan")
    sem = v.std(ddof=1) / np.sqrt(v.size)
    t = _st.t.ppf(0.5 + confidence / 2.0, df=v.size - 1)
    return mean, float(t * sem)


def wilson_interval(k: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    hw = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - hw), min(1.0, mid + hw)

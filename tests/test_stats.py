import math

import numpy as np
import pytest
import scipy.stats

from biodyn.errors import ConfigError
from biodyn.metrics.stats import mean_ci


def test_mean_ci_against_scipy():
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 10):
        v = rng.normal(size=n)
        m, h = mean_ci(v, 0.95)
        lo, hi = scipy.stats.t.interval(0.95, n - 1, loc=v.mean(), scale=scipy.stats.sem(v))
        assert m == pytest.approx(v.mean())
        assert h == pytest.approx((hi - lo) / 2)


def test_mean_ci_hand_worked():
    # values 1, 2, 3: mean 2, sd 1, sem 1/sqrt(3), t_{0.975, 2} = 4.302652729911275
    m, h = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0
    assert h == pytest.approx(4.302652729911275 / math.sqrt(3))


def test_mean_ci_edge_cases():
    assert math.isnan(mean_ci([0.5])[1])
    with pytest.raises(ConfigError):
        mean_ci([])
    with pytest.raises(ConfigError):
        mean_ci([1.0, float("nan")])

"""The Wilson score interval from its definition: its bounds are the proportions p0 whose score test just
accepts the observed p, i.e. the roots of (p - p0)^2 = z^2 p0 (1 - p0) / n."""

import math

import pytest

from biodyn.metrics.stats import wilson_interval


@pytest.mark.parametrize(("k", "n"), [(5, 10), (1, 20), (19, 20), (3, 7), (0.5, 4)])
def test_bounds_solve_the_score_equation(k, n):
    z = 1.959963984540054
    lo, hi = wilson_interval(k, n)
    p = k / n
    for p0 in (lo, hi):
        assert (p - p0) ** 2 == pytest.approx(z * z * p0 * (1 - p0) / n, rel=1e-9, abs=1e-15)
    assert 0 < lo < p < hi < 1


def test_hand_values_edges_and_z():
    lo, hi = wilson_interval(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    narrow, wide = wilson_interval(5, 10, z=1.0), wilson_interval(5, 10, z=3.0)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    lo1, _ = wilson_interval(5, 10, z=1.0)
    assert (0.5 - lo1) ** 2 == pytest.approx(lo1 * (1 - lo1) / 10)

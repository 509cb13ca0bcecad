"""bench_prism: the seed interval and the equal-budget Transformer."""

import importlib.util
import math
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_prism", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_prism.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_ci95_hand_worked():
    mean, half = bench.ci95([1.0, 2.0, 3.0])  # sd 1, t(0.975, 2) = 4.302653
    assert mean == 2.0 and math.isclose(half, 4.302653 / math.sqrt(3), rel_tol=1e-5)
    assert bench.ci95([0.5]) == (0.5, 0.0)


def test_transformer_matches_prism_parameter_budget():
    prism, tf = bench._models(64, 4, 4)
    n_p, n_t = (sum(p.numel() for p in m.parameters()) for m in (prism, tf))
    assert abs(n_t - n_p) / n_p < 0.02

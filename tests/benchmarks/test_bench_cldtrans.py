import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cldtrans.py"


def _load():
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_cldtrans", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_max_batch_extrapolation_hand_worked():
    # 100 MiB at B=1, 300 MiB at B=3: 100 MiB/sample, intercept 0 -> 16 GiB = 16384 MiB -> 163 samples
    r = _load().max_batch(1, 100.0, 3, 300.0, 16384.0)
    assert r["per_sample_mib"] == pytest.approx(100.0) and r["intercept_mib"] == pytest.approx(0.0)
    assert r["max_batch"] == 163


@pytest.mark.slow
def test_bench_runs_end_to_end_at_a_tiny_size(tmp_path):
    out = tmp_path / "b.json"
    src = str(Path(__file__).resolve().parents[2] / "src")
    subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--channels", "4", "--n-times", "320", "--json", str(out)],
        check=True,
        capture_output=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
    )
    res = json.loads(out.read_text())
    assert {"lag_path_memory_ratio_dense_over_fused", "step_speedup_fused_over_dense"} <= set(res["goals"])
    assert "extrapolated" in res["max_batch_method"]

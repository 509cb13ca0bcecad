import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_szcore.py"


@pytest.mark.slow
def test_bench_szcore_writes_its_row(tmp_path):
    out = tmp_path / "szcore.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--quick",
        "--recordings",
        "1",
        "--seconds",
        "20",
        "--device",
        "cpu",
        "--json",
        str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    res = json.loads(out.read_text())
    (row,) = res["rows"]
    assert res["benchmark"] == "bench_szcore" and res["quick"] and "load_average" in res
    assert row["eeg_hours"] == pytest.approx(20 / 3600) and row["recordings"] == 1
    assert row["s_per_eeg_hour"] == pytest.approx(row["wall_s"] / row["eeg_hours"])
    assert 0 < row["model_s"] <= row["wall_s"]

"""The identifiability table's rows with and without the non-Gaussianity assumption."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_identifiability.py"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_gaussian_likelihood_row(tmp_path):
    out = tmp_path / "out.json"
    cmd = [sys.executable, str(SCRIPT), "--sizes", "3", "--noises", "laplace", "gaussian", "--graphs", "cyclic",
           "--seeds", "42", "--n-times", "600", "--methods", "ours_gaussian", "--skip-lag-op", "--skip-speed", "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    rows = [r for r in res["rows"] if r["part"] == "identifiability"]
    assert {(r["noise"], r["method"]) for r in rows} == {
        ("laplace", "ours_gaussian"),
        ("gaussian", "ours_gaussian"),
    }
    assert all(r["n_seeds"] == 1 and r.get("n_error", 0) == 0 for r in rows)
    assert "non-Gaussianity assumption" in res["markdown"]

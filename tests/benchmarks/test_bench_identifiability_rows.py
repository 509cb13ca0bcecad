"""The identifiability table's rows with and without the non-Gaussianity assumption."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_identifiability.py"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_gaussian_likelihood_rows_are_the_amortised_encoders(tmp_path):
    """Regression: the Gaussian-likelihood rows were ``ours_gaussian``, the per-recording fit with
    ``likelihood=gaussian``, which the fit ignores (its objective is always Gaussian least squares): the
    rows repeated ``ours``. The likelihood comparison is CLD-Trans' amortised encoder, which uses it."""
    out = tmp_path / "out.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--sizes",
        "3",
        "--noises",
        "laplace",
        "gaussian",
        "--graphs",
        "cyclic",
        "--seeds",
        "42",
        "--n-times",
        "600",
        "--methods",
        "amortised",
        "amortised_gaussian",
        "--amortised-steps",
        "2",
        "--skip-lag-op",
        "--skip-speed",
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    rows = [r for r in res["rows"] if r["part"] == "identifiability"]
    assert {(r["noise"], r["method"], r["likelihood"]) for r in rows} == {
        (noise, m, lik)
        for noise in ("laplace", "gaussian")
        for m, lik in (("amortised", "laplace"), ("amortised_gaussian", "gaussian"))
    }
    assert all(r["n_seeds"] == 1 for r in rows)
    assert "non-Gaussianity assumption" in res["markdown"]
    bad = subprocess.run(
        [*cmd[: cmd.index("--methods")], "--methods", "ours_gaussian"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "one objective" in bad.stderr

"""The identifiability benchmark runs end to end, resumes from its JSON-lines log and reports budget overruns."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benchmark scripts end to end

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_identifiability.py"


def _run(tmp_path, *extra):
    out = tmp_path / "out.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--sizes",
        "3",
        "--noises",
        "laplace",
        "--graphs",
        "cyclic",
        "--seeds",
        "42",
        "--n-times",
        "600",
        "--methods",
        "ours",
        "dynotears",
        "--skip-lag-op",
        "--skip-speed",
        "--json",
        str(out),
        "--runs",
        str(tmp_path / "runs.jsonl"),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.timeout(300)
def test_runs_resumes_and_reports(tmp_path):
    res, _ = _run(tmp_path)
    rows = [r for r in res["rows"] if r["part"] == "identifiability"]
    assert {r["method"] for r in rows} == {"ours", "dynotears"}
    for r in rows:
        assert r["n_seeds"] == 1 and r["n_timeout"] == 0
        assert 0.0 <= r["edge_f1"] <= 1.0 and "tau_mae_ci95" in r and "edge_f1_ci95" in r
    runs = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(runs) == 2
    again, stdout = _run(tmp_path)  # everything is in the log: nothing is fitted again
    assert (tmp_path / "runs.jsonl").read_text().splitlines() == runs
    assert [r["edge_f1"] for r in again["rows"]] == [r["edge_f1"] for r in res["rows"]]
    assert "seed=42" not in stdout
    partial, _ = _run(tmp_path, "--seeds", "42", "7", "--report-only")  # seed 7 was never fitted
    assert (tmp_path / "runs.jsonl").read_text().splitlines() == runs
    assert all(
        r["n_seeds"] == 1 and r["n_missing"] == 1 for r in partial["rows"] if r["part"] == "identifiability"
    )
    assert "not run" in partial["markdown"]


@pytest.mark.timeout(300)
def test_budget_overrun_is_a_row_not_a_number(tmp_path):
    res, stdout = _run(tmp_path, "--budget-s", "0.5")
    rows = [r for r in res["rows"] if r["part"] == "identifiability"]
    assert all(r["n_timeout"] == 1 and r["n_seeds"] == 0 for r in rows)
    assert "timeout after" in stdout and "timed out" in res["markdown"]
    report, _ = _run(tmp_path, "--report-only")  # a report under the default budget keeps them as overruns
    assert all(
        r["n_timeout"] == 1 and r["n_missing"] == 0 for r in report["rows"] if r["part"] == "identifiability"
    )
    again, _ = _run(tmp_path)  # a larger budget retries the overruns
    assert all(r["n_seeds"] == 1 for r in again["rows"] if r["part"] == "identifiability")


@pytest.mark.timeout(300)
def test_results_folder_is_what_biodyn_report_renders(tmp_path):
    """--results writes one file per (method, cell, seed), the amortised encoder's too; `biodyn report` makes
    the table (the benchmark's own means), the LaTeX and identifiability.png from them."""
    from biodyn.report import make_report

    res, _ = _run(
        tmp_path,
        "--seeds",
        "42",
        "7",
        "--methods",
        "ours",
        "amortised",
        "--amortised-steps",
        "3",
        "--results",
        str(tmp_path / "res"),
    )
    files = sorted((tmp_path / "res" / "identifiability").glob("*/*/synthetic/seed*.json"))
    assert {(f.parts[-4], f.name) for f in files} == {
        (m, f"seed{s}.json") for m in ("ours", "amortised") for s in (42, 7)
    }
    rep = make_report(tmp_path / "res")
    got = {(r["model"], r["task"]): r for r in rep["rows"] if r["metric"] == "edge_f1"}
    for row in (r for r in res["rows"] if r["part"] == "identifiability"):
        cell = got[(row["method"], "C3-laplace-cyclic")]
        assert cell["n"] == 2 and cell["mean"] == pytest.approx(row["edge_f1"])
    assert (
        "## edge_f1" in Path(rep["report"]).read_text()
        and "identifiability" in Path(rep["latex"]).read_text()
    )
    assert str(tmp_path / "res" / "report" / "identifiability.png") in rep["figures"]

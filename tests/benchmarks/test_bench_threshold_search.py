import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_threshold_search.py"


@pytest.mark.slow
def test_bench_threshold_search_writes_its_rows(tmp_path):
    out = tmp_path / "threshold_search.json"
    subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    res = json.loads(out.read_text())
    assert res["benchmark"] == "bench_threshold_search" and res["quick"]
    rows = {(r["case"], r["search"]): r for r in res["rows"]}
    assert set(rows) == {
        (c, s) for c in ("whole recording", "60 s windows") for s in ("plain bisection", "bisection + bound")
    }
    # the whole recording merges past 600 s at low thresholds: the plain bisection stops there with nothing
    # found, the bounded search finds the seizure; 60 s windows never drop anything, so both searches agree
    assert rows["whole recording", "plain bisection"]["sensitivity_at_1fa"] == 0.0
    assert rows["whole recording", "bisection + bound"]["sensitivity_at_1fa"] == 1.0
    w0, w1 = rows["60 s windows", "plain bisection"], rows["60 s windows", "bisection + bound"]
    assert (w0["threshold_at_1fa"], w0["evaluations"]) == (w1["threshold_at_1fa"], w1["evaluations"])
    assert res["goals"]["sensitivity_gain_at_1fa"]["met"]

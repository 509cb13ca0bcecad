"""The seizure benchmark's quick mode runs from a clean checkout and writes its rows and goals."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_seizure.py"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_quick_run_writes_rows_and_goals(tmp_path):
    out = tmp_path / "seizure.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)], capture_output=True,
                          text=True, timeout=1150)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["matmul_gflops"] > 0 and res["quick"]
    cases = {r["case"] for r in res["rows"]}
    assert {"model bimamba2", "model gdn", "graph stage"} <= cases
    for r in res["rows"][:2]:
        assert r["fwdbwd_gflop"] > 0 and 0 < r["mfu"] and r["rtf"] > 0 and r["peak_rss_mib"] > 0
    assert {"mfu_bimamba2", "mfu_gdn", "inference_rtf_bimamba2", "inference_rtf_gdn"} <= set(res["goals"])
    for g in res["goals"].values():
        assert {"value", "target", "unit", "higher_is_better"} <= set(g)

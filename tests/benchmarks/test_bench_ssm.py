"""The state-space benchmark runs from a clean checkout, times both forms and writes its goals."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benchmark scripts end to end

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ssm.py"


@pytest.mark.timeout(300)
def test_quick_run_writes_rows_and_goals(tmp_path):
    out = tmp_path / "ssm.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--mixers", "s4d", "--threads", "1", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert res["matmul_gflops"] > 0 and res["missing_mixers"] == []
    rows = res["rows"]
    assert {(r["impl"], r["T"], r["mode"]) for r in rows} == {
        (impl, t, mode)
        for impl in ("reference", "chunked")
        for t in (512, 2048)
        for mode in ("fwd", "fwdbwd")
    }
    assert all(r["seconds"] > 0 and r["peak_mib"] is not None and r["page_faults"] >= 0 for r in rows)
    scaling = res["scaling"]
    assert set(scaling) == {"s4d_glibc_default", "s4d_heap_kept"}
    assert scaling["s4d_glibc_default"]["env"] == {} and "GLIBC_TUNABLES" in scaling["s4d_heap_kept"]["env"]
    for s in scaling.values():
        assert s["T"] == [512, 2048] and s["ratio"] == pytest.approx(s["seconds"][1] / s["seconds"][0])
    # the goal is read on the run with freed memory kept in the process
    assert res["goals"]["s4d_chunk_scaling_2048_over_512"]["value"] == scaling["s4d_heap_kept"]["ratio"]
    assert set(res["goals"]) == {
        "s4d_chunk_speedup_fwdbwd_T512",
        "s4d_chunk_memory_ratio_fwdbwd_T512",
        "s4d_chunk_scaling_2048_over_512",
    }


def test_unknown_mixer_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--mixers", "lstm"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "unknown mixer" in proc.stderr

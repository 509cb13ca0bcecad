"""The S4D block-size benchmark runs from a clean checkout, times every size in turn and writes its goals."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from biodyn.ops.s4d import s4d_block_size

pytestmark = pytest.mark.slow  # runs the benchmark script end to end

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_s4d_blocks.py"


@pytest.mark.timeout(120)
def test_quick_run_writes_rows_and_goals(tmp_path):
    out = tmp_path / "s4d_blocks.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--threads", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    shapes = {(r["B"], r["T"], r["H"], r["N"]) for r in res["rows"]}
    assert shapes == {(1, 2048, 16, 8), (4, 512, 16, 8)}
    for b, t, h, n in shapes:
        rows = [r for r in res["rows"] if (r["B"], r["T"], r["H"], r["N"]) == (b, t, h, n)]
        auto = [r["block_size"] for r in rows if r["auto"]]
        assert auto == [s4d_block_size(b, h, n)] and all(r["fwdbwd_s"] > 0 for r in rows)
        assert 512 in {r["block_size"] for r in rows}
        g = res["goals"][f"auto_block_over_best_B{b}_T{t}_H{h}_N{n}"]
        secs = {r["block_size"]: r["fwdbwd_s"] for r in rows}
        assert g["value"] == pytest.approx(secs[g["auto"]] / min(secs.values()))
        assert g["speedup_over_512"] == pytest.approx(secs[512] / secs[g["auto"]])

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
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=1150,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["matmul_gflops"] > 0 and res["quick"]
    cases = {r["case"] for r in res["rows"]}
    assert {"model bimamba2", "model gdn", "graph stage"} <= cases
    for r in res["rows"][:2]:
        assert r["fwdbwd_gflop"] > 0 and 0 < r["mfu"] and r["rtf"] > 0 and r["peak_rss_mib"] > 0
    assert {
        "mfu_bimamba2",
        "mfu_gdn",
        "forward_rtf_bimamba2",
        "forward_rtf_gdn",
        "inference_rtf_bimamba2",
        "inference_rtf_gdn",
    } <= set(res["goals"])
    # the inference part: biodyn detect's own path, its stages and the model's parts, beside the eager forward
    for stack in ("bimamba2", "gdn"):
        r = next(r for r in res["rows"] if r["case"] == f"detect {stack}")
        assert r["windows"] >= 2 and r["overlap"] == 0.5 and r["read_s"] > 0 and r["preprocess_s"] > 0
        parts = sum(
            r[f"{p}_s"] for p in ("tcn", "proj", "node_stream", "edge_stream", "gnn", "fusion", "decoder")
        )
        assert 0 < parts <= r["model_s"] <= r["detect_s"]
        assert res["goals"][f"inference_rtf_{stack}"]["value"] == pytest.approx(
            r["recording_s"] / r["detect_s"]
        )
        assert res["goals"][f"inference_rtf_{stack}"]["target"] == 30.0
        c = next(r for r in res["rows"] if r["case"] == f"candidate bf16 TCN {stack}")
        assert c["tcn_features_rel_err"] > 0 and isinstance(c["kept"], bool)
    for g in res["goals"].values():
        assert {"value", "target", "unit", "higher_is_better"} <= set(g)

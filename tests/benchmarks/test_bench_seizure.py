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
        # one window on one thread: counted FLOPs and CPU seconds per part, and the arithmetic of the goal
        w = next(r for r in res["rows"] if r["case"] == f"one window, one thread {stack}")
        assert 0 < w["tcn_gflop"] < w["total_gflop"] and 0 < w["tcn_cpu_s"] <= w["model_cpu_s"]
        assert w["gflops_per_s_needed_for_30x"] == pytest.approx(30 * w["gflop_per_signal_s_at_50pct"])
        assert w["rtf_bound_two_cores_no_overlap"] == pytest.approx(2 * w["rtf_bound_two_cores_50pct"])
        q = next(r for r in res["rows"] if r["case"] == f"candidate int8 Linear {stack}")
        assert 0 < q["linear_layers_int8"] <= q["linear_layers"] and q["max_abs_dlogit"] > 0
        for ov in ("0.25", "0"):
            o = next(r for r in res["rows"] if r["case"] == f"candidate overlap {ov} {stack}")
            assert o["windows"] <= o["windows_at_50pct"] and isinstance(o["same_events"], bool)
            assert o["max_abs_dp"] > 0  # other window starts change the stitched edges
        o = next(r for r in res["rows"] if r["case"] == f"candidate overlap 0 {stack}")
        assert o["windows"] < o["windows_at_50pct"]
    for g in res["goals"].values():
        assert {"value", "target", "unit", "higher_is_better"} <= set(g)

"""bench_gpu.py --dry-run: every step of the GPU check runs at tiny sizes on the CPU (gloo for the torchrun
step), so the script that a GPU session runs in its few minutes cannot rot while no GPU is at hand."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"
STEPS = {
    "env",
    "matmul",
    "fla_gated_delta",
    "mamba_ssd",
    "causal_conv1d",
    "biodyn_kernels",
    "train_prism",
    "train_seizure_bimamba2",
    "train_seizure_gdn",
    "train_cldtrans",
    "ddp",
    "speed_seizure",
    "speed_prism",
    "speed_ssm",
}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dry_run_runs_every_step(tmp_path):
    out, md = tmp_path / "gpu.json", tmp_path / "RESULTS.md"
    # generous budgets: the dry run checks that every step works, not how fast a shared CPU is
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--dry-run",
            "--budget-scale",
            "20",
            "--json",
            str(out),
            "--results-md",
            str(md),
        ],
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["complete"] and res["dry_run"] and res["benchmark"] == "bench_gpu"
    assert set(res["steps"]) == STEPS
    libraries = {"fla_gated_delta": "fla", "mamba_ssd": "mamba_ssm", "causal_conv1d": "causal_conv1d"}
    for name, st in res["steps"].items():
        if name in libraries:  # on the CPU a library is either absent or cannot run: never a pass
            assert st["status"] in ("not installed", "not run"), (name, st)
        else:
            assert st["status"] == "pass", (name, st)
    rows = [r for r in res["rows"] if "rel_rms" in r]
    kernels = {r["check"] for r in rows}
    assert {
        "gated_delta_rule chunked",
        "ssd chunked",
        "s4d selective chunked",
        "s4d constant-step fft",
        "lagged_mix (fused)",
    } <= kernels
    assert all(r["rel_rms"] <= r["tol"] for r in rows)
    # the gradients were compared too, not only the outputs
    assert {r["tensor"] for r in rows if r["check"] == "ssd chunked"} == {
        "output",
        "dx",
        "ddt",
        "dA",
        "dB",
        "dC",
        "dD",
    }
    ddp = next(r for r in res["rows"] if r.get("step") == "ddp" and "backend" in r)
    assert ddp["backend"] == "gloo" and ddp["wrapped_in"] == "DistributedDataParallel"
    for name in ("prism", "seizure_bimamba2", "seizure_gdn", "cldtrans"):
        g = res["goals"][f"train_{name}_loss_ratio_after_20_steps"]
        assert g["met"] and g["value"] < 1.0
    speed = {r.get("check"): r for r in res["rows"] if r.get("step") == "speed_seizure"}
    for stack in ("bimamba2", "gdn"):
        r = speed[f"speed seizure_{stack}"]
        assert r["mfu_vs_bf16_matmul"] > 0 and r["largest_batch"] >= 2 and r["peak_mib"] > 0
    assert res["machine"]["cores"] and "load_average" in res
    text = md.read_text()
    assert "## gpu" in text and "bench_gpu" in text


def test_a_library_that_is_missing_is_not_a_pass(tmp_path, monkeypatch):
    sys.path.insert(0, str(SCRIPT.parent))
    import bench_gpu

    monkeypatch.setattr(bench_gpu.importlib.util, "find_spec", lambda name: None)
    ctx = bench_gpu.Ctx("cpu", dry=True)
    for step in (bench_gpu.step_fla, bench_gpu.step_mamba, bench_gpu.step_causal_conv):
        rows = step(ctx)
        assert bench_gpu.step_status(rows) == "not installed"


def test_a_comparison_beyond_its_tolerance_fails():
    sys.path.insert(0, str(SCRIPT.parent))
    import torch

    import bench_gpu

    inputs = bench_gpu._gdn_inputs(1, 16, 2, 8)
    wrong = bench_gpu._gdn("chunked")

    def off(q, k, v, g, beta):
        return wrong(q, k, v, g, beta) * 1.01  # a 1 % error: far beyond fp32's bound

    rows = bench_gpu.compare(
        "x",
        off,
        bench_gpu._gdn("reference"),
        inputs,
        ["q"],
        torch.device("cpu"),
        torch.float32,
        bench_gpu.TOL["torch_fp32"],
    )
    assert bench_gpu.step_status(rows) == "fail"
    assert rows[0]["rel_rms"] == pytest.approx(0.01, rel=1e-3)


def test_an_overrunning_step_is_recorded_and_the_next_runs(tmp_path, monkeypatch):
    sys.path.insert(0, str(SCRIPT.parent))
    import time

    import bench_gpu

    def slow(ctx):
        ctx.partial.append({"check": "measured before the overrun", "status": "info"})
        time.sleep(5)
        return [{"status": "pass"}]

    monkeypatch.setattr(
        bench_gpu,
        "STEPS",
        [
            ("env", 10, bench_gpu.step_env),
            ("slow", 0.2, slow),
            ("after", 10, lambda ctx: [{"check": "x", "status": "pass"}]),
        ],
    )
    out = tmp_path / "g.json"
    assert bench_gpu.main(["--dry-run", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    steps = res["steps"]
    assert steps["slow"]["status"] == "overrun" and steps["after"]["status"] == "pass"
    # what the step measured before its budget ran out is kept
    assert {"step": "slow", "check": "measured before the overrun", "status": "info"} in res["rows"]

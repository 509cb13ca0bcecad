"""A real Ctrl-C: SIGINT sent to a ``biodyn prism --data synthetic`` training process once it has written a
checkpoint and gone on training. The process must print one line (``biodyn: error: interrupted``), exit 130,
leave no half-written file and no ``results.json`` (the run did not finish), and ``--resume`` must continue
from the checkpoint: every step logged once, the steps after the checkpoint exactly once more.

The in-process interrupt cases (a patched entry point raising ``KeyboardInterrupt``) are in
``test_entry_point_matrix.py``; this one goes through the interpreter's own signal handling, the data loader
and the Trainer's checkpoint writes, as a user's Ctrl-C does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import partial_files

SRC = str(Path(__file__).resolve().parents[2] / "src")
STEPS_PER_EPOCH = 4  # --limit 16 training items, --batch-size 4
TINY = [
    "--data",
    "synthetic",
    "--limit",
    "16",
    "--batch-size",
    "4",
    "--hidden-dim",
    "8",
    "--num-layers",
    "1",
    "--num-heads",
    "1",
    "--no-progress",
    "--device",
    "cpu",
]


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("BIODYN_DEBUG", None)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _steps(run: Path) -> list[int]:
    if not (run / "log.jsonl").is_file():
        return []
    rows = [json.loads(ln) for ln in (run / "log.jsonl").read_text().splitlines() if ln.strip()]
    return [r["step"] for r in rows if r.get("kind") == "train"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigint_during_training_is_one_line_130_and_resume_continues(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "biodyn", "prism", *TINY, "--epochs", "500", "--output-dir", str(run)]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT as a terminal delivers it: a background job (CI, nohup, `cmd &`) ignores SIGINT, and a child
        # inherits that, so Python would never see it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 300
        # past the first checkpoint (end of epoch 1) and into the next epoch: the interrupt lands mid-epoch
        while not (
            (run / "checkpoints" / "last" / "state.json").is_file()
            and max(_steps(run), default=0) > STEPS_PER_EPOCH
        ):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.startswith("biodyn: error:")]
    assert lines == ["biodyn: error: interrupted"] and "Traceback" not in err, err
    assert partial_files(tmp_path) == []  # no .~tmp, .part or .old left by a write the signal cut short
    assert not (run / "results.json").exists()  # an unfinished run has no results
    saved = json.loads((run / "checkpoints" / "last" / "state.json").read_text())["step"]
    assert saved % STEPS_PER_EPOCH == 0 and saved >= STEPS_PER_EPOCH
    # without --resume the interrupted run is refused, not overwritten
    again = subprocess.run(
        [*cmd[:-2], "--output-dir", str(run)], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert again.returncode == 2 and "already holds a run" in again.stderr, again.stderr
    # --resume continues from the checkpoint, one epoch more, and finishes
    epochs = saved // STEPS_PER_EPOCH + 1
    cmd_resume = [sys.executable, "-m", "biodyn", "prism", *TINY, "--epochs", str(epochs), "--resume"]
    res = subprocess.run(
        [*cmd_resume, "--output-dir", str(run)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    steps = _steps(run)
    assert steps == list(range(1, epochs * STEPS_PER_EPOCH + 1)), steps  # each step once, in order
    results = json.loads((run / "results.json").read_text())
    assert results["command"] == "biodyn prism"
    assert (
        json.loads((run / "checkpoints" / "last" / "state.json").read_text())["step"]
        == epochs * STEPS_PER_EPOCH
    )
    assert partial_files(tmp_path) == []

"""``python -m biodyn.cldtrans`` keeps the ``biodyn`` command's error contract (docs/reliability.md): one
``biodyn: error: ...`` line, the documented exit codes, a traceback only with ``--debug``.

Regression: the entry point printed ``error: ...`` (the message of a Hydra error over two lines), exited 2 for
every error (a damaged checkpoint too) and showed a traceback for an OSError."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from biodyn.cldtrans import main

SRC = str(Path(__file__).resolve().parents[3] / "src")


class _Windows(torch.utils.data.Dataset):
    """Four 10 s windows of 4 EEG channels at 160 Hz: what build_windows gives, without a corpus."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"x": torch.randn(4, 1600), "meta": {"record_id": "r", "start": i}}


@pytest.fixture
def no_corpus(monkeypatch):
    """build_windows without a corpus; vector-quantize-pytorch's loguru deprecation warning silenced (its
    handler holds a stream capsys has closed, and it is not what these tests look at)."""
    from loguru import logger

    import biodyn.systems.cldtrans.run as run_module

    monkeypatch.setattr(run_module, "build_windows", lambda run: [(_Windows(), 0, 160.0, "eegmmidb")])
    logger.disable("vector_quantize_pytorch")
    yield
    logger.enable("vector_quantize_pytorch")


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biodyn: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_unknown_key_is_one_line_and_exit_2_from_python_m():
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-m", "biodyn.cldtrans", "nosuch=1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 2 and out.stdout == ""
    assert "nosuch" in _one_error_line(out.stderr)


def test_damaged_stage1_checkpoint_exits_4(tmp_path, no_corpus, capsys):
    ckpt = tmp_path / "stage1_ckpt"
    ckpt.mkdir()
    (ckpt / "state.json").write_text('{"format_version": 1, "model_na')  # cut short
    (ckpt / "model.safetensors").write_bytes(b"\0" * 16)
    rc = main(["mode=stage2", f"init_from={ckpt}", "train.max_steps=1", f"train.out_dir={tmp_path / 'out'}"])
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 4 and "state.json" in line and "unreadable" in line


def test_os_error_is_one_line_exit_8_and_a_traceback_with_debug(tmp_path, no_corpus, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    args = ["mode=stage1", "train.max_steps=1", f"train.out_dir={blocker / 'runs'}"]
    rc = main(args)
    line = _one_error_line(capsys.readouterr().err)
    assert rc == 8 and "a_file" in line
    with pytest.raises(OSError):
        main(["--debug", *args])


def test_print_config_shows_the_resolved_run(capsys):
    assert main(["--print-config", "mode=stage2", "ablation=no_vq"]) == 0
    out = capsys.readouterr().out
    assert "mode: stage2" in out and "ablation: no_vq" in out

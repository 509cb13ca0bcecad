"""One way to fail: every BiodynError reaching the CLI is one line ``biodyn: error: ...`` with the error's
documented exit code; a traceback only with --debug or BIODYN_DEBUG=1."""

import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import one_error_line, run_cli, tree

from biodyn.errors import (
    BiodynError,
    CheckpointError,
    ConfigError,
    DataRootError,
    NothingMatchedError,
    RecordingError,
)

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_exit_codes_are_distinct_and_documented():
    from biodyn.cache.build import CacheError
    from biodyn.datasets.download import DownloadError

    codes = {
        c.__name__: c.exit_code
        for c in (
            BiodynError,
            ConfigError,
            RecordingError,
            CheckpointError,
            CacheError,
            NothingMatchedError,
            DownloadError,
        )
    }
    assert codes == {
        "BiodynError": 1,
        "ConfigError": 2,
        "RecordingError": 3,
        "CheckpointError": 4,
        "CacheError": 5,
        "NothingMatchedError": 6,
        "DownloadError": 7,
    }
    assert DataRootError.exit_code == 6 and issubclass(DataRootError, FileNotFoundError)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    for name, code in codes.items():
        assert f"| {code} |" in doc and name in doc, name


def test_recording_error_is_one_line_with_code_3(tmp_path, capsys):
    bad = tmp_path / "x.edf"
    bad.write_bytes(b"0" * 100)
    before = tree(tmp_path)
    code, _, err = run_cli(["lags", bad, "--out", tmp_path / "out"], capsys)
    line = one_error_line(err)
    assert code == 3 and "x.edf" in line and "256-byte header" in line
    assert tree(tmp_path) == before  # nothing written, not even the --out folder


def test_config_error_is_one_line_with_code_2(capsys):
    code, _, err = run_cli(["build-cache", "synthetic", "--out", "unused", "--shard", "3"], capsys)
    assert code == 2 and "--shard '3'" in one_error_line(err)


def test_multiline_message_is_joined_on_one_line(monkeypatch, capsys):
    import biodyn._cli.info as info

    def boom(args):
        raise ConfigError("first line\n  second line")

    monkeypatch.setattr(info, "run", boom)
    code, _, err = run_cli(["info", "synthetic"], capsys)
    assert code == 2 and one_error_line(err) == "biodyn: error: first line second line"


def test_os_error_names_the_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(
        ["build-cache", "synthetic", "--out", blocker / "sub", "--records", "synth000"], capsys
    )
    line = one_error_line(err)
    assert code == 8 and "file" in line


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_flag_lets_the_error_through(tmp_path, where):
    from biodyn.cli import main

    bad = tmp_path / "x.edf"
    bad.write_bytes(b"0" * 100)
    args = ["lags", str(bad), "--out", str(tmp_path / "o")]
    with pytest.raises(RecordingError, match=r"x\.edf"):
        main(["--debug", *args] if where == "before" else [*args, "--debug"])


def test_biodyn_debug_env_shows_the_traceback(tmp_path):
    bad = tmp_path / "x.edf"
    bad.write_bytes(b"0" * 100)
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "BIODYN_DEBUG": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "biodyn", "lags", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode != 0 and "Traceback" in p.stderr and "RecordingError" in p.stderr


def test_without_debug_a_real_process_prints_one_line(tmp_path):
    bad = tmp_path / "x.edf"
    bad.write_bytes(b"0" * 100)
    p = subprocess.run(
        [sys.executable, "-m", "biodyn", "lags", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert p.returncode == 3 and p.stderr.strip().count("\n") == 0 and p.stderr.startswith("biodyn: error: ")

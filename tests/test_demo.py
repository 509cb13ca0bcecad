import json

import pytest

from biodyn.cli import main


def test_demo_without_data_runs_on_synthetic(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BIODYN_DATA_ROOT", str(empty))
    assert main(["demo", "--out", str(tmp_path / "out"), "--steps", "corpora", "cache"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out
    res = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert res["synthetic"] is True and res["cache"]["corpus"] == "synthetic" and res["cache"]["windows"] > 0


@pytest.mark.slow
def test_demo_lags_step_on_synthetic(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BIODYN_DATA_ROOT", str(empty))
    assert main(["demo", "--out", str(tmp_path / "out"), "--steps", "lags"]) == 0
    res = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert all(r["f1"] == 1.0 and r["tau_mae_samples"] < 0.1 for r in res["lags"]["synthetic"])
    assert "skipped" in capsys.readouterr().out

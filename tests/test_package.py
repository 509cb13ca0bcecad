import json
import subprocess
import sys

import numpy as np
import pytest

from biodyn import LagGraph, Recording
from biodyn.atomic import atomic_write_json
from biodyn.cli import COMMANDS, main


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "COMMAND" in capsys.readouterr().out


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "biodyn", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("biodyn")


def test_every_listed_command_has_its_module():
    import importlib.util

    assert "demo" in COMMANDS
    missing = [n for n, (m, _) in COMMANDS.items() if importlib.util.find_spec(f"biodyn._cli.{m}") is None]
    assert not missing, f"commands listed without a module: {missing}"


def test_a_listed_command_without_its_module_is_an_error(monkeypatch, capsys):
    from biodyn import cli

    monkeypatch.setitem(cli.COMMANDS, "ghost", ("no_such_module", "a command that was never written"))
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "ghost" in capsys.readouterr().out  # listed, so not hidden ...
    with pytest.raises(
        cli.MissingCommandError, match=r"biodyn ghost: .*biodyn._cli.no_such_module does not exist"
    ):
        main(["ghost"])  # ... and running it says what is wrong


def test_recording_checks_shapes():
    with pytest.raises(ValueError, match="channel names"):
        Recording(np.zeros((2, 10), np.float32), 100.0, ["a"])


def test_laggraph_json_and_focal_ranking(tmp_path):
    tau = np.array([[0, 0.01, 0.02], [0, 0, 0.05], [0, 0, 0]], float)
    w = (tau > 0).astype(float)
    g = LagGraph(tau, w, ["Fp1", "C3", "O1"], fs=100.0)
    assert g.focal_ranking() == ["Fp1", "C3", "O1"]  # 0.03 s, 0.05 s, no outgoing edge
    d = g.to_dict()
    assert d["tau_samples"][0][1] == pytest.approx(1.0)
    assert len(d["edges"]) == 3 and {"source", "target", "tau_s", "tau_samples", "weight"} <= set(
        d["edges"][0]
    )
    atomic_write_json(tmp_path / "g.json", d)
    g2 = LagGraph.from_dict(json.loads((tmp_path / "g.json").read_text()))
    np.testing.assert_allclose(g2.tau, tau)


def test_ci_hypothesis_profile_is_derandomised():
    from hypothesis import settings

    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("dev").derandomize is False

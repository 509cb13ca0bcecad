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


def test_focal_ranking_does_not_reward_asserting_fewer_edges():
    """c0 drives every other channel at 10 ms, c3 only c4 at 20 ms: c0 leads (summing the delays of the
    outgoing edges ranked c3 first, and an instantaneous edge c4 -> c2 put c4 ahead of both)."""
    names = [f"c{i}" for i in range(5)]
    tau, w = np.zeros((5, 5)), np.zeros((5, 5))
    tau[0, 1:], w[0, 1:] = 0.01, 1.0
    tau[3, 4], w[3, 4] = 0.02, 1.0
    assert LagGraph(tau, w, names, fs=100.0).focal_ranking()[0] == "c0"
    w[4, 2] = 0.5  # lag 0: says nothing about which channel is earlier
    g = LagGraph(tau, w, names, fs=100.0)
    assert g.focal_ranking()[0] == "c0"
    # a chain a -> b -> c (no a - c edge): the lag between a and c comes through b
    chain_tau, chain_w = np.zeros((3, 3)), np.zeros((3, 3))
    chain_tau[0, 1], chain_tau[1, 2], chain_w[0, 1], chain_w[1, 2] = 0.02, 0.05, 1, 1
    chain = LagGraph(chain_tau, chain_w, ["a", "b", "c"], fs=100.0)
    np.testing.assert_allclose(chain.focal_scores(), [-0.09, -0.03, 0.12], atol=1e-12)  # t = 0, .02, .07
    # two unconnected groups and a lone channel: each group centred on 0, the lone channel at 0
    two_tau, two_w = np.zeros((5, 5)), np.zeros((5, 5))
    two_tau[0, 1], two_tau[2, 3], two_w[0, 1], two_w[2, 3] = 0.01, 0.03, 1, 1
    sc = LagGraph(two_tau, two_w, names, fs=100.0).focal_scores()
    np.testing.assert_allclose(sc, [-0.025, 0.025, -0.075, 0.075, 0.0], atol=1e-12)
    empty = LagGraph(np.zeros((3, 3)), np.zeros((3, 3)), names[:3], fs=100.0)
    assert np.all(empty.focal_scores() == 0)  # no edge: every channel tied


def test_recording_checks_shapes():
    with pytest.raises(ValueError, match="channel names"):
        Recording(np.zeros((2, 10), np.float32), 100.0, ["a"])


def test_laggraph_json_and_focal_ranking(tmp_path):
    tau = np.array([[0, 0.01, 0.06], [0, 0, 0.05], [0, 0, 0]], float)
    w = (tau > 0).astype(float)
    g = LagGraph(tau, w, ["Fp1", "C3", "O1"], fs=100.0)
    # consistent delays: onset times 0, 0.01, 0.06 s; sum_j (t_i - t_j)
    np.testing.assert_allclose(g.focal_scores(), [-0.07, -0.04, 0.11], atol=1e-12)
    assert g.focal_ranking() == ["Fp1", "C3", "O1"]
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

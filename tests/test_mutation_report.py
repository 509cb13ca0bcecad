"""tools/mutate.py keeps each module's mutation results in tests/mutation/<module>.json and regenerates
tests/MUTATION.md from them alone: the committed report must be what the committed results give, and a run
of some modules must replace those modules' results only."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mutate(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("biodyn_tools_mutate", ROOT / "tools" / "mutate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "REPORT", tmp_path / "MUTATION.md")
    return mod


def test_committed_report_is_regenerated_from_the_committed_results(mutate):
    mutate.report()
    assert mutate.REPORT.read_text() == (ROOT / "tests" / "MUTATION.md").read_text()


def _summary(mutants, group="metrics", started="2026-01-02T03:04:05+00:00"):
    return {
        "group": group,
        "modules": ["src/biodyn/metrics/plot.py"],
        "tests": ["tests/metrics"],
        "commit": "abc1234",
        "dirty": False,
        "started": started,
        "seconds": 42,
        "survivor_reruns": 0,
        "finished": True,
        "mutants": mutants,
    }


def _m(name, status, before="", after=""):
    module, fn = name.rsplit(".", 1)[0], name.rsplit(".", 1)[1]
    m = {"name": name, "module": module, "function": fn, "status": status}
    if status not in ("killed", "not checked"):
        m["before"], m["after"] = before, after
    return m


def test_a_run_replaces_only_its_modules_and_the_report_counts_them(mutate, monkeypatch, tmp_path):
    monkeypatch.setattr(mutate, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(mutate, "EQUIVALENT", tmp_path / "eq.toml")
    (tmp_path / "eq.toml").write_text(
        '[[equivalent]]\nmodule = "biodyn.metrics.plot"\nfunction = "f"\nbefore = "a = 1"\nafter = "a = +1"\n'
        'reason = "unary plus"\n'
    )
    p, s = "biodyn.metrics.plot.x_f__mutmut_", "biodyn.metrics.stats.x_g__mutmut_"
    mutate._keep(
        _summary(
            [
                _m(p + "1", "killed"),
                _m(p + "2", "survived", "a = 1", "a = +1"),  # listed as equivalent
                _m(p + "10", "survived", "a = 1", "a = 2"),
                _m(p + "3", "not checked"),
                _m(s + "1", "killed"),
                _m(s + "2", "no tests", "b = 1", "b = 2"),
            ]
        )
    )
    kept = json.loads((tmp_path / "results" / "biodyn.metrics.plot.json").read_text())
    assert kept["run"]["commit"] == "abc1234" and "mutants" not in kept["run"]
    assert list(kept["mutants"]) == [p + "1", p + "2", p + "3", p + "10"]  # in mutmut's order
    assert kept["mutants"][p + "10"] == ["survived", "a = 1", "a = 2"]
    # a later run of stats alone leaves plot's results as they were
    mutate._keep(
        _summary([_m(s + "1", "killed"), _m(s + "2", "killed")], started="2026-02-01T00:00:00+00:00")
    )
    assert json.loads((tmp_path / "results" / "biodyn.metrics.plot.json").read_text()) == kept
    mutate.report()
    text = mutate.REPORT.read_text()
    # plot: 4 mutants, 1 not run, 1 killed, 1 equivalent, 1 survivor: 1 / (4 - 1 - 1) = 50 %
    assert "| `biodyn.metrics.plot` | 4 | 1 | 1 | 1 | 1 | 0 | 50.0 % | abc1234, 2026-01-02 |" in text
    assert "| `biodyn.metrics.stats` | 2 | 0 | 2 | 0 | 0 | 0 | 100.0 % | abc1234, 2026-02-01 |" in text
    assert f"| `{p}10` | survived | `a = 1` | `a = 2` |" in text
    assert "| `biodyn.metrics.plot` | `f` | `a = 1` | `a = +1` | unary plus |" in text
    assert "Groups not run yet: ops, signal, io, causal, checkpoint." in text

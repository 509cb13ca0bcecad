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


def test_every_equivalent_entry_names_a_surviving_mutant(mutate):
    """An entry of tests/mutation_equivalent.toml that matches no survivor of the kept results is stale (its
    code changed) or was wrong (a test tells the mutant apart): either way it is a claim nothing backs."""
    survivors = set()
    for p in mutate.RESULTS.glob("*.json"):
        for name, verdict in json.loads(p.read_text())["mutants"].items():
            if isinstance(verdict, list):
                survivors.add((*mutate._split_name(name), verdict[1], verdict[2]))
    stale = [
        e
        for e in mutate._equivalents()
        if (e["module"], e["function"], e["before"], e["after"]) not in survivors
    ]
    assert not stale, [f"{e['module']}.{e['function']}: {e['after']}" for e in stale]


def test_functions_are_compared_by_code_not_position(mutate):
    before = "def f(x):\n    return x + 1\n\n\nclass A:\n    def g(self):\n        return 2\n"
    moved = "\n\n# a comment\nclass A:\n    def g(self):\n        return 2\n\n\ndef f(x):\n    return x + 1\n"
    assert mutate._functions(before) == mutate._functions(moved)
    assert set(mutate._functions(before)) == {"x_f", "xǁAǁg"}
    assert mutate._functions(before)["x_f"] != mutate._functions(before.replace("x + 1", "x + 2"))["x_f"]


def test_a_survivor_rerun_drops_the_verdicts_of_changed_and_removed_functions(mutate, monkeypatch, tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    src = tmp_path / "src" / "m.py"
    src.parent.mkdir()
    src.write_text(
        "def keep(x):\n    return x\n\n\ndef edit(x):\n    return x + 1\n\n\ndef gone():\n    return 0\n"
    )
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    git("add", "src/m.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "m")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    src.write_text(
        "def edit(x):\n    return x + 2\n\n\ndef keep(x):\n    return x\n\n\ndef new():\n    return 1\n"
    )
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    last = {
        "commit": commit,
        "mutants": [
            _m("m.x_keep__mutmut_1", "survived", "return x", "return None"),
            _m("m.x_edit__mutmut_1", "survived", "return x + 1", "return x - 1"),
            _m("m.x_edit__mutmut_2", "killed"),
            _m("m.x_gone__mutmut_1", "survived", "return 0", "return 1"),
        ],
    }
    patterns = mutate._drop_stale(last, {"m": "src/m.py"})
    assert patterns == ["m.x_edit__mutmut_*", "m.x_new__mutmut_*"]  # changed, and new since
    assert [m["name"] for m in last["mutants"]] == ["m.x_keep__mutmut_1"]  # moved but unchanged: kept

import json

import pytest

from biodyn.bench import list_benchmarks, machine_info, sync_docs, write_results_md
from biodyn.cli import main
from biodyn.errors import ConfigError


def _write(path, **kw):
    res = {"benchmark": "demo_bench", "rows": [{"case": "a", "seconds": 1.25}], "goals": {}, **kw}
    path.write_text(json.dumps(res))


def test_results_md_shows_goals_machine_and_commit(tmp_path):
    _write(
        tmp_path / "demo.json",
        machine={"cpu": "Test CPU", "cores": 2},
        commit="abc123",
        quick=True,
        goals={
            "speed-up": {"value": 3.5, "target": 4.0, "unit": "x", "higher_is_better": True, "met": False},
            "memory": {"value": 0.5, "target": 1.0, "unit": "GiB", "higher_is_better": False, "met": True},
        },
    )
    md = write_results_md(tmp_path, tmp_path / "RESULTS.md").read_text()
    assert "| [demo.json](#demo) | demo_bench | 1 / 2 | quick |" in md and "## demo\n" in md
    assert "Test CPU" in md and "`abc123`" in md
    assert "| speed-up | 3.5 x | >= 4 | **NOT MET** |" in md
    assert "| memory | 0.5 GiB | <= 1 | MET |" in md
    assert "| case | seconds |" in md and "| a | 1.25 |" in md


def test_results_md_shows_the_seed_summary(tmp_path):
    _write(
        tmp_path / "acc.json",
        accuracy_summary={
            "image/prism": {
                "metric": "accuracy",
                "mean": 0.375,
                "ci95": 0.05,
                "n_seeds": 3,
                "values": [0.3, 0.4, 0.425],
            }
        },
    )
    md = write_results_md(tmp_path, tmp_path / "RESULTS.md").read_text()
    assert "| task / model | metric | mean | 95 % CI +- | seeds |" in md
    assert "| image/prism | accuracy | 0.375 | 0.05 | 3 |" in md


def test_results_md_names_the_parts_of_a_merge_and_their_commits(tmp_path):
    _write(
        tmp_path / "m.json",
        commit="merge1",
        merged_from=["a.json", "b.json"],
        commits_of_parts=["c2", "c1", "c2"],
    )
    md = write_results_md(tmp_path, tmp_path / "RESULTS.md").read_text()
    assert "- commit: `merge1`" in md and "- merged from `a.json`, `b.json`, measured at `c1`, `c2`" in md


def test_results_md_without_json_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no benchmark JSON"):
        write_results_md(tmp_path, tmp_path / "RESULTS.md")


def test_bench_lists_the_scripts_and_rejects_unknown_names(capsys):
    assert "ssm" in list_benchmarks() and "scoring" in list_benchmarks()
    assert main(["bench", "--list"]) == 0
    assert "ssm" in capsys.readouterr().out.split()
    assert main(["bench", "nope", "--out", "unused"]) == ConfigError.exit_code
    err = capsys.readouterr().err
    assert (
        err.startswith("biodyn: error: unknown benchmark(s) nope; available:") and len(err.splitlines()) == 1
    )


def test_machine_info_names_the_machine():
    info = machine_info()
    assert info["cores"] >= 1 and info["torch"] and info["python"]


def test_bench_runs_a_script_and_reports(tmp_path, monkeypatch):
    # a stand-in benchmark folder with one tiny script that writes the standard JSON through _common
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    from biodyn.bench import benchmarks_dir

    (folder / "_common.py").write_text((benchmarks_dir() / "_common.py").read_text())
    (folder / "bench_tiny.py").write_text(
        "from _common import goal, parser, report\n"
        "args = parser('tiny').parse_args()\n"
        "report('tiny', [{'n': 1}], {'ok': goal(2.0, 1.0, 'x', True)}, args.json, quick=args.quick)\n"
    )
    monkeypatch.setenv("BIODYN_BENCHMARKS_DIR", str(folder))
    assert main(["bench", "tiny", "--quick", "--report"]) == 0
    res = json.loads((folder / "results" / "tiny.json").read_text())
    assert res["quick"] is True and res["machine"]["cores"] >= 1 and "measured_at" in res
    assert "| ok | 2 x | >= 1 | MET |" in (folder / "RESULTS.md").read_text()


def test_sync_docs_fills_results_blocks_from_the_json(tmp_path):
    """A docs page's `<!-- results: STEM -->` block gets STEM.json's goals, per-task means and provenance; a
    second sync changes nothing; a merge names its parts' commits, not its own; a missing file is an error."""
    _write(
        tmp_path / "speed.json",
        commit="abc123def4567890",
        measured_at="2026-12-04T00:00:00+00:00",
        crossover_T=4096,
        rows=[{"part": "speed", "T": t} for t in (1024, 4096)],
        moe_over_dense_fwdbwd={"1024": 1.5, "4096": 1.25},
        goals={
            "speed-up": {"value": 2.25, "target": 2.0, "unit": "x", "higher_is_better": True, "met": True}
        },
    )
    _write(
        tmp_path / "acc.json",
        commit="merger",
        merged_from=["a.json", "b.json"],
        commits_of_parts=["c1", None],
        accuracy_summary={"ecg/prism": {"metric": "macro_auroc", "mean": 0.81, "ci95": 0.02, "n_seeds": 5}},
    )
    doc = tmp_path / "page.md"
    doc.write_text(
        "# Page\n\n<!-- results: speed -->\nold text\n<!-- /results -->\n\nprose\n\n"
        "<!-- results: acc -->\n<!-- /results -->\n"
    )
    assert sync_docs(tmp_path, [doc], check=True) == [doc] and "old text" in doc.read_text()
    assert sync_docs(tmp_path, [doc]) == [doc]
    text = doc.read_text()
    assert "old text" not in text and text.startswith("# Page\n") and "\nprose\n" in text
    assert (
        "| speed-up | 2.25 x | >= 2 | MET |" in text
        and "crossover length: 4096 (the first of T = 1024, 4096" in text
        and "over the dense PRISM (same active parameters): T = 1024: 1.5, T = 4096: 1.25" in text
    )
    assert "Measured at commit `abc123def456` on 2026-12-04" in text
    assert "| ecg/prism | macro_auroc | 0.81 | 0.02 | 5 |" in text
    assert "from 2 runs measured at commit(s) `c1` (1 of them not recorded)" in text and "merger" not in text
    assert sync_docs(tmp_path, [doc]) == []
    doc.write_text("<!-- results: gone -->\n<!-- /results -->\n")
    with pytest.raises(ConfigError, match=r"page\.md.*gone\.json"):
        sync_docs(tmp_path, [doc])


def test_docs_results_blocks_equal_the_committed_json():
    """docs/prism.md's measured tables are generated from benchmarks/results/ (`biodyn bench --report`): a hand
    edit, or a rerun whose JSON was committed without re-rendering, fails here."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    docs = sorted((root / "docs").glob("*.md"))
    assert any("<!-- results: " in d.read_text() for d in docs)
    assert sync_docs(root / "benchmarks" / "results", docs, check=True) == []

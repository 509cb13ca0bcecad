"""Provenance: the commit a result was made from says when the checkout had uncommitted changes."""

import shutil
import subprocess

import pytest

from biodyn.provenance import git_commit, stable_hash

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def test_commit_is_marked_dirty_when_tracked_files_changed(tmp_path):
    assert git_commit(tmp_path) is None  # not a checkout
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "commit", "-q", "-m", "a")
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    assert git_commit(tmp_path) == sha
    (tmp_path / "untracked.txt").write_text("not part of the code\n")
    assert git_commit(tmp_path) == sha  # untracked files do not count
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == sha + "+dirty"


def test_written_results_do_not_make_the_commit_dirty(tmp_path):
    """A run that rewrites tracked result files (results/, benchmarks/results/, docs/) is still made from the
    committed code; asked from inside such a folder, the whole checkout is checked all the same."""
    _git(tmp_path, "init", "-q")
    for f in ("a.py", "results/r.json", "benchmarks/results/b.json", "benchmarks/RESULTS.md", "docs/d.md"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "a")
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    for f in ("results/r.json", "benchmarks/results/b.json", "benchmarks/RESULTS.md", "docs/d.md"):
        (tmp_path / f).write_text("2\n")
    assert git_commit(tmp_path) == git_commit(tmp_path / "results") == sha
    (tmp_path / "a.py").write_text("2\n")
    assert git_commit(tmp_path / "results") == sha + "+dirty"


def test_stable_hash_ignores_key_order():
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1}) != stable_hash({"a": 2})


def test_command_line_names_what_was_run():
    from biodyn.provenance import command_line

    assert command_line(["/venv/bin/biodyn", "train", "experiment=x", "train.lr=1e-4"]) == (
        "biodyn train experiment=x train.lr=1e-4"
    )
    assert command_line(["/src/biodyn/cldtrans/__main__.py", "a b"]) == "python -m cldtrans 'a b'"
    assert command_line(["run.py", "--x", "1"]) == "python run.py --x 1"


def test_command_line_of_a_cli_call_from_python(monkeypatch):
    """biodyn.cli.main names its own arguments while it runs (not pytest's sys.argv), and forgets them after."""
    from biodyn import cli, provenance

    seen = {}

    def fake_run(argv):
        seen["cmd"] = provenance.command_line()
        return 0

    monkeypatch.setattr(cli, "_run", fake_run)
    assert cli.main(["train", "--debug", "experiment=a b"]) == 0
    assert seen["cmd"] == "biodyn train 'experiment=a b'"
    assert provenance.CLI_ARGV is None

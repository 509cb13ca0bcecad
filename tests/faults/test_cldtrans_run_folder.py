"""``python -m biodyn.cldtrans`` and an existing stage folder (issue 40): refused without ``train.resume=true``
or ``--force`` (before any cache is built), replaced with ``--force`` (the stage's run files only), continued
with ``train.resume=true`` (each step logged once)."""

from __future__ import annotations

import json

import pytest
from faultkit import changed_outside, one_error_line, run_cli, tree

from biodyn.data_root import data_root

ROOT = data_root()
pytestmark = pytest.mark.skipif(
    ROOT is None or not (ROOT / "eegmmidb").exists(), reason="EEGMMIDB sample not under the data root"
)


def _steps(stage):
    rows = [json.loads(x) for x in (stage / "log.jsonl").read_text().splitlines() if x.strip()]
    return [r["step"] for r in rows if r["kind"] == "train"]


@pytest.mark.slow
def test_existing_stage_is_refused_replaced_with_force_and_continued_with_resume(tmp_path, capsys):
    out, cache = tmp_path / "ct", tmp_path / "cache"
    common = [f"train.out_dir={out}", f"data.cache_dir={cache}", "train.ckpt_every=1"]
    code, _, err = run_cli(["cldtrans", "train.max_steps=1", *common], capsys)
    assert code == 0, err
    stage = out / "stage1"
    assert _steps(stage) == [1]
    # again without resume/force: one line, exit 2, nothing touched (not even the shared cache)
    before = tree(tmp_path)
    code, _, err = run_cli(["cldtrans", "train.max_steps=1", *common], capsys)
    line = one_error_line(err)
    assert code == 2 and "stage1 folder" in line and "train.resume=true" in line and "--force" in line
    assert changed_outside(before, tree(tmp_path)) == []
    # train.resume=true continues from checkpoints/last: step 2 only, each step logged once
    code, _, err = run_cli(["cldtrans", "train.max_steps=2", "train.resume=true", *common], capsys)
    assert code == 0, err
    assert _steps(stage) == [1, 2]
    # --force replaces the stage's run (a stale checkpoint file goes), keeps the rest of the folder
    (stage / "checkpoints" / "last" / "stale").write_text("old\n")
    (stage / "notes.txt").write_text("mine\n")
    code, _, err = run_cli(["cldtrans", "--force", "train.max_steps=1", *common], capsys)
    assert code == 0, err
    assert _steps(stage) == [1] and not (stage / "checkpoints" / "last" / "stale").exists()
    assert (stage / "notes.txt").read_text() == "mine\n" and (cache / "eegmmidb").is_dir()
    code, _, err = run_cli(["cldtrans", "--force", "train.resume=true", *common], capsys)
    assert code == 2 and "exclude each other" in one_error_line(err)

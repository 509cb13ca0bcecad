"""One import path for a checkpoint's read side: finding, checking and reading a checkpoint live in
``biodyn.models._pretrained`` (below the harness, so that ``from_pretrained`` needs no ``train/``);
``biodyn.train.checkpoint`` holds the write side and resume and re-exports none of them."""

import ast
from pathlib import Path

import biodyn.train.checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[2]
READ_SIDE = {
    "CheckpointError",
    "checkpoint_intact",
    "find_checkpoint",
    "previous_checkpoint",
    "read_state",
    "resolve_checkpoint",
}


def test_train_checkpoint_exports_only_its_write_side():
    assert set(ckpt.__all__) == {"check_resumable", "load_checkpoint", "save_checkpoint"}


def test_nobody_imports_the_read_side_from_train_checkpoint():
    found = []
    for top in ("src", "tests", "benchmarks"):
        for f in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text(), str(f))):
                if isinstance(node, ast.ImportFrom) and node.module == "biodyn.train.checkpoint":
                    found += [f"{f.relative_to(ROOT)}: {a.name}" for a in node.names if a.name in READ_SIDE]
    assert not found, found

"""The branch check of issue 41: every path a kernel or reader counts with ``biodyn.branches.hit`` is
declared in ``branches.NAMES``, and every declared path is asserted by name in at least one test."""

import re
from pathlib import Path

from biodyn import branches

ROOT = Path(__file__).resolve().parents[1]


def _sources(where: str) -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / where).rglob("*.py")))


def test_every_counted_path_is_declared():
    src = _sources("src/biodyn")
    literal = set(re.findall(r'branches\.hit\("([\w.]+)"\)', src))
    conditional = {
        n for pair in re.findall(r'branches\.hit\("([\w.]+)" if .+? else "([\w.]+)"\)', src) for n in pair
    }
    assert literal | conditional == set(branches.NAMES)


def test_every_declared_path_is_asserted_by_a_test():
    tests = "\n".join(
        p.read_text() for p in sorted((ROOT / "tests").rglob("test_*.py")) if p.name != "test_branches.py"
    )
    missing = []
    for name in branches.NAMES:
        # asserted as seen["name"] / seen == {"name": ...}, or built from its prefix (f"filters.{path}")
        prefix = name.rsplit(".", 1)[0]
        if f'"{name}"' not in tests and f'f"{prefix}.{{' not in tests:
            missing.append(name)
    assert not missing, f"paths no test asserts: {missing}"


def test_counting_is_scoped_and_nested():
    branches.hit("x")  # no block open: nothing is kept
    with branches.count() as outer:
        branches.hit("a")
        with branches.count() as inner:
            branches.hit("a")
            branches.hit("b")
    branches.hit("a")
    assert outer == {"a": 2, "b": 1} and inner == {"a": 1, "b": 1}
    assert branches._COUNTERS == []

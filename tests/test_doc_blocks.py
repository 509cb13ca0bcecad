"""Every code block of the README and docs/ runs as written.

The blocks of one page run in order in one fresh folder that sits beside a ``shared`` link to the data root,
so ``../shared/data/...`` paths mean what they mean in a clone. Python blocks share one namespace (like a
notebook); each command of a bash block runs on its own and must exit 0, except a command whose comment says
``error:``, which must fail with a one-line ``biodyn: error`` or similar message. A block preceded by
``<!-- not run: REASON -->`` is listed as skipped with its reason (downloads, GPUs, corpora we cannot ship).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from biodyn.data_root import data_root

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->")


def blocks(page: Path) -> list[dict]:
    """Fenced code blocks: ``{"lang", "code", "line", "skip"}`` (``skip`` is the not-run reason or None)."""
    out, lines, i = [], page.read_text().splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            skip = NOT_RUN.search(prev)
            j = i + 1
            while not FENCE.match(lines[j]):
                j += 1
            out.append(
                {
                    "lang": m.group(1),
                    "code": "\n".join(lines[i + 1 : j]),
                    "line": i + 1,
                    "skip": skip.group(1) if skip else None,
                }
            )
            i = j
        i += 1
    return out


def commands(code: str) -> list[str]:
    """Logical lines of a shell block (backslash continuations joined; blanks and comments dropped)."""
    out, cur = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip() and not cur.lstrip().startswith("#"):
            out.append(cur.strip())
        cur = ""
    return out


def _workspace(tmp_path: Path) -> Path:
    root = data_root()
    work = tmp_path / "work"
    work.mkdir()
    if root is not None:
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(root)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in (("biodyn", f'"{sys.executable}" -m biodyn'), ("python", f'"{sys.executable}"')):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        shim.chmod(0o755)
    return work


def _run_shell(code: str, work: Path, where: str) -> None:
    env = {
        **os.environ,
        "PATH": f"{work.parent / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "MPLBACKEND": "Agg",
    }
    env.pop("BIODYN_DATA_ROOT", None)  # the ../shared/data of the workspace is the data root, as in a clone
    prelude = []
    for cmd in commands(code):
        if re.fullmatch(r"[A-Za-z_]\w*=\S*(\s+#.*)?", cmd):  # a variable for the commands after it
            prelude.append(cmd)
            continue
        expect_error = "# error:" in cmd
        script = "\n".join([*prelude, cmd])
        p = subprocess.run(
            ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        out = p.stdout + p.stderr
        if expect_error:
            assert p.returncode != 0, f"{where}: `{cmd}` should fail but exited 0"
            assert "error" in out.lower(), f"{where}: `{cmd}` failed without saying why:\n{out[-2000:]}"
        else:
            if p.returncode != 0 and data_root() is None and "no data root" in out:
                pytest.skip(f"{where}: `{cmd}` reads the sample recordings and there is no data root")
            assert p.returncode == 0, f"{where}: `{cmd}` exited {p.returncode}:\n{out[-3000:]}"


def _pages_with_blocks() -> list[Path]:
    return [p for p in PAGES if p.exists() and blocks(p)]


@pytest.mark.slow
@pytest.mark.parametrize("page", _pages_with_blocks(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_code_blocks_run_as_written(page, tmp_path, monkeypatch, scratch_registry):
    found = blocks(page)
    text = page.read_text()
    if "../shared/data" in text and data_root() is None:
        pytest.skip(f"{page.name} reads the sample recordings and there is no data root")
    import matplotlib

    matplotlib.use("Agg")
    work = _workspace(tmp_path)
    monkeypatch.chdir(work)
    monkeypatch.delenv("BIODYN_DATA_ROOT", raising=False)
    # a real module, so that classes and dataclasses defined in a block can find their module
    module = types.ModuleType(f"_docs_{page.stem}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    skipped = []
    for b in found:
        where = f"{page.name}:{b['line']}"
        if b["skip"]:
            skipped.append(f"{where} ({b['skip']})")
            continue
        if b["lang"] == "text":  # diagrams, synopses, sample output
            continue
        if b["lang"] == "python":
            exec(compile(b["code"], where, "exec"), namespace)
        elif b["lang"] in ("bash", "sh", "shell"):
            _run_shell(b["code"], work, where)
        else:
            pytest.fail(
                f"{where}: code block in {b['lang']!r}: mark it <!-- not run: ... --> or use python/bash"
            )
    if skipped:
        print("not run:", *skipped, sep="\n  ")


def test_not_run_blocks_say_why(tmp_path):
    """Every exception to "runs as written" carries its reason, and the parser sees every fence."""
    for page in PAGES:
        if page.exists():
            for b in blocks(page):
                assert b["skip"] is None or len(b["skip"]) > 10, f"{page.name}:{b['line']}: give a reason"
    md = tmp_path / "x.md"
    md.write_text(
        "x\n<!-- not run: needs four GPUs -->\n\n```bash\nbiodyn a \\\n  --b\n# c\nbiodyn d\n```\n"
        "```python\nprint(1)\n```\n```\nplain text\n```\n"
    )
    found = blocks(md)
    assert [(b["lang"], b["skip"]) for b in found] == [
        ("bash", "needs four GPUs"),
        ("python", None),
        ("", None),
    ]
    assert commands(found[0]["code"]) == ["biodyn a    --b", "biodyn d"]


def test_cldtrans_eval_tables_in_the_docs_are_the_generated_ones():
    """docs/cldtrans.md's CPU-sized evaluation tables are copies of results/examples/cldtrans_eval_cpu/'s
    generated files (sync_docs.py writes them); a hand edit or a forgotten sync after a rerun fails here."""
    script = Path(__file__).parents[1] / "results/examples/cldtrans_eval_cpu/sync_docs.py"
    run = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr

"""The import rules of ``src/biodyn`` (docs/architecture.md), checked on the source's own import statements:
module-level and function-level imports alike, so that a lazy import cannot hide a circle or an upward arrow.

* no import circle anywhere;
* a system (``biodyn.systems.<name>``) is imported only by itself and by the command line (``biodyn.cli``,
  ``biodyn._cli``, the ``python -m biodyn.cldtrans`` alias): never by ``train/`` or any other layer below;
* no system imports another system;
* a system imports the command line only from its ``__main__`` entry point;
* ``signal/`` and ``io/`` never import torch.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ENTRY_POINTS = ("biodyn.cli", "biodyn._cli", "biodyn.cldtrans")  # the command line and its aliases
TORCH_FREE = ("biodyn.signal", "biodyn.io")


def _within(name: str, prefixes) -> bool:
    return any(
        name == p or name.startswith(p + ".") for p in ([prefixes] if isinstance(prefixes, str) else prefixes)
    )


def import_graph(src: Path, top: str = "biodyn") -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(edges, foreign)``: for every module under ``src/top``, the modules of the package it imports
    (the deepest module an import names) and the top-level foreign packages it imports."""
    modules: dict[str, tuple[Path, bool]] = {}
    for f in sorted((src / top).rglob("*.py")):
        parts = list(f.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)

    def deepest(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    foreign: dict[str, set[str]] = {}
    for mod, (f, is_pkg) in modules.items():
        package = mod if is_pkg else mod.rpartition(".")[0]
        out, ext = set(), set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for n in names:
                if _within(n, top):
                    out.add(deepest(n))
                else:
                    ext.add(n.partition(".")[0])
        out.discard(None)
        out.discard(mod)
        edges[mod], foreign[mod] = out, ext
    return edges, foreign


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in edges:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _system(mod: str) -> str | None:
    parts = mod.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "systems" else None


def violations(edges: dict[str, set[str]], foreign: dict[str, set[str]]) -> list[str]:
    """Every broken rule of the module docstring, one line each."""
    out = [f"import circle: {' <-> '.join(c)}" for c in circles(edges)]
    for mod in sorted(edges):
        for dep in sorted(edges[mod]):
            src_sys, dst_sys = _system(mod), _system(dep)
            if dst_sys and not src_sys and not _within(mod, ENTRY_POINTS):
                out.append(f"{mod} imports the system {dep}: only the command line may import a system")
            if src_sys and dst_sys and src_sys != dst_sys:
                out.append(f"{mod} imports {dep}: one system never imports another")
            if src_sys and _within(dep, ENTRY_POINTS) and not mod.endswith(".__main__"):
                out.append(f"{mod} imports the command line ({dep}); only a __main__ entry point may")
        if _within(mod, TORCH_FREE) and "torch" in foreign[mod]:
            out.append(f"{mod} imports torch: signal/ and io/ stay numpy/scipy only")
    return out


def test_biodyn_keeps_its_import_rules():
    edges, foreign = import_graph(SRC)
    assert len(edges) > 100 and "biodyn.systems.seizure.detect" in edges  # the whole package was read
    assert violations(edges, foreign) == []


def test_the_rules_catch_each_kind_of_violation(tmp_path):
    """A small package with one violation of every kind, lazy imports included: the checker names each."""
    files = {
        "biodyn/__init__.py": "",
        "biodyn/train/__init__.py": "",
        "biodyn/train/a.py": "def f():\n    from biodyn.train import b\n",  # lazy half of a circle
        "biodyn/train/b.py": "from . import a\n",  # relative half of it
        "biodyn/train/c.py": "def g():\n    import biodyn.systems.seizure.run\n",  # harness -> system
        "biodyn/systems/__init__.py": "",
        "biodyn/systems/seizure/__init__.py": "",
        "biodyn/systems/seizure/run.py": "from biodyn.systems.prism import run\nfrom biodyn.train import a\n",
        "biodyn/systems/seizure/__main__.py": "from biodyn.cli import main\n",  # allowed: an entry point
        "biodyn/systems/prism/__init__.py": "",
        "biodyn/systems/prism/run.py": "def h():\n    from biodyn import cli\n",
        "biodyn/signal/__init__.py": "def k():\n    import torch.nn\n",
        "biodyn/cli.py": "from biodyn.systems.seizure import run\n",  # allowed
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = violations(*import_graph(tmp_path))
    assert found == [
        "import circle: biodyn.train.a <-> biodyn.train.b",
        # prism's lazy import of the command line closes a second circle through cli -> seizure -> prism
        "import circle: biodyn.cli <-> biodyn.systems.prism.run <-> biodyn.systems.seizure.run",
        "biodyn.signal imports torch: signal/ and io/ stay numpy/scipy only",
        "biodyn.systems.prism.run imports the command line (biodyn.cli); only a __main__ entry point may",
        "biodyn.systems.seizure.run imports biodyn.systems.prism.run: one system never imports another",
        "biodyn.train.c imports the system biodyn.systems.seizure.run: only the command line may import a system",
    ]

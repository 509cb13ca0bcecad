"""Mutation testing of the core (issue 41): ``make mutate`` runs mutmut 3 module group by module group, each
against only the tests of that group, and writes ``tests/MUTATION.md``.

    python tools/mutate.py run [GROUP ...]                  # default: every group
    python tools/mutate.py run GROUP --module NAME [...]    # some of a group's modules only
    python tools/mutate.py run GROUP [--module ...] --survivors   # re-run the last run's survivors
    python tools/mutate.py collect GROUP [--module ...]     # summarise a run that was stopped part way
    python tools/mutate.py report                           # tests/MUTATION.md from tests/mutation/*.json

The results are kept in the repository, one small JSON per module under ``tests/mutation/`` (each mutant's
name and status, the changed lines of those not detected, the run's commit, date and duration); a run
rewrites only the files of the modules it mutated, and ``report`` regenerates ``tests/MUTATION.md`` from
them alone.

Each run works in its own folder ``.mutation/GROUP/`` (``.mutation/GROUP@MODULES/`` for a subset; git-ignored)
holding links to ``src`` and ``tests``
and a ``pyproject.toml`` that is the project's plus a ``[tool.mutmut]`` section naming the group's modules
(``only_mutate``) and tests (``pytest_add_cli_args_test_selection``); mutmut copies both into
``mutants/`` there, records which tests reach each function, and runs each mutant against those tests only,
in a forked child of one warm process. Runs are niced with one BLAS thread (the machine is shared) and use the
derandomised hypothesis profile (``CI=true``), so a mutant's verdict does not depend on the draw.

Surviving mutants that cannot change any result are listed in ``tests/mutation_equivalent.toml`` with a
one-line reason (matched by module, function and the changed lines, not by mutmut's numbering, which moves
when the code changes); the report counts them apart and lists every other survivor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
RESULTS = ROOT / "tests" / "mutation"  # one <module>.json per mutated module, committed
REPORT = ROOT / "tests" / "MUTATION.md"
EQUIVALENT = ROOT / "tests" / "mutation_equivalent.toml"

# group -> (source files mutated, the tests that exercise them)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "ops": (["src/biodyn/ops/*"], ["tests/ops"]),
    "metrics": (["src/biodyn/metrics/*"], ["tests/metrics", "tests/test_stats.py"]),
    "signal": (["src/biodyn/signal/*"], ["tests/signal"]),
    "io": (["src/biodyn/io/*"], ["tests/io"]),
    "causal": (
        ["src/biodyn/causal/fit.py", "src/biodyn/causal/ldsem.py"],
        [
            "tests/causal/test_fit.py",
            "tests/causal/test_fit_by_hand.py",
            "tests/causal/test_fit_mutants.py",
            "tests/causal/test_ldsem.py",
            "tests/causal/test_ldsem_graph.py",
            "tests/causal/test_focal_identified.py",
            "tests/causal/test_lags_presets.py",
        ],
    ),
    "checkpoint": (
        ["src/biodyn/train/checkpoint.py"],
        [
            "tests/train/test_checkpoint_by_hand.py",
            "tests/train/test_trainer.py",
            "tests/faults/test_train_faults.py",
        ],
    ),
}

DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
NOT_RUN = "not checked"  # mutmut's status for a mutant its run did not reach
MUTMUT = [sys.executable, "-m", "mutmut"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BIODYN_DATA_ROOT", str((ROOT / ".." / "shared" / "data").resolve()))
    # one BLAS/OpenMP thread per process (the machine is shared); the DSP thread pool (BIODYN_DSP_THREADS) is
    # left alone: its channel-block path is code under test
    env.update(CI="true", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)  # mutmut puts mutants/src first; the checkout's own src must not shadow it
    return env


def _group_modules(group: str) -> dict[str, str]:
    """The group's modules: dotted name (``biodyn.ops.gated_delta.chunk``, a package by its own name) ->
    source path relative to the root, as mutmut names them."""
    out = {}
    for f in sorted((ROOT / "src").rglob("*.py")):
        rel = f.relative_to(ROOT).as_posix()
        if any(fnmatch.fnmatch(rel, pat) for pat in GROUPS[group][0]):
            name = ".".join(f.relative_to(ROOT / "src").with_suffix("").parts)
            out[name.removesuffix(".__init__")] = rel
    return out


def _select(group: str, modules: list[str]) -> tuple[Path, list[str]]:
    """The run folder and ``only_mutate`` paths for ``modules`` of ``group`` (all of them when empty); a
    module is named in full (``biodyn.metrics.plot``) or by a unique tail (``plot``, ``gated_delta.chunk``)."""
    if not modules:
        return WORK / group, GROUPS[group][0]
    known = _group_modules(group)
    picked = []
    for m in modules:
        hits = [k for k in known if k == m or k.endswith("." + m)]
        if len(hits) != 1:
            what = "is in no module" if not hits else f"names {len(hits)} modules"
            raise SystemExit(f"--module {m} {what} of group {group}: {', '.join(known)}")
        picked.append(hits[0])
    picked = sorted(set(picked))
    tag = "+".join(k.rpartition(".")[2] for k in picked)
    return WORK / f"{group}@{tag}", [known[k] for k in picked]


def _functions(source: str) -> dict[str, str]:
    """The functions and methods mutmut mutates, by its mangled name (``x_fn``, ``xǁClassǁmeth``) -> their
    code as an AST dump without positions (so moving a function does not count as changing it)."""
    import ast

    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[f"x_{node.name}"] = ast.dump(node)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out[f"xǁ{node.name}ǁ{sub.name}"] = ast.dump(sub)
    return out


def _selected(group: str, paths: list[str]) -> dict[str, str]:
    """The modules of ``group`` that the ``only_mutate`` patterns ``paths`` select: name -> source path."""
    return {m: rel for m, rel in _group_modules(group).items() if any(fnmatch.fnmatch(rel, p) for p in paths)}


def _from_results(group: str, paths: list[str]) -> dict:
    """The summary of the committed results (``tests/mutation/<module>.json``) of the modules ``paths`` of
    ``group``, for a survivor re-run without the run's folder."""
    runs, mutants = [], []
    for module in sorted(_selected(group, paths)):
        f = RESULTS / f"{module}.json"
        kept = json.loads(f.read_text()) if f.exists() else {}
        if "run" not in kept:
            raise SystemExit(f"[{group}] {module} has no per-mutant results to re-run: run it in full first")
        runs.append(kept["run"])
        for name, verdict in kept["mutants"].items():
            module_, fn = _split_name(name)
            entry = {"name": name, "module": module_, "function": fn}
            if isinstance(verdict, list):
                entry["status"], entry["before"], entry["after"] = verdict
            else:
                entry["status"] = verdict
            mutants.append(entry)
    if any(r != runs[0] for r in runs[1:]):
        raise SystemExit(f"[{group}] the modules' results are of different runs: re-run them one at a time")
    return {**runs[0], "mutants": mutants}


def _drop_stale(last: dict, modules: dict[str, str]) -> list[str]:
    """Drop from ``last`` the verdicts of every function of ``modules`` whose code changed since the commit
    ``last`` is of (or that is gone), and return the name patterns of the changed functions' mutants: mutmut
    numbers mutants per function, so a changed function's old numbers name other mutants."""
    stale, patterns = set(), []
    for module, rel in sorted(modules.items()):
        then = subprocess.run(
            ["git", "show", f"{last['commit']}:{rel}"], cwd=ROOT, capture_output=True, text=True
        )
        old = _functions(then.stdout) if then.returncode == 0 else {}
        new = _functions((ROOT / rel).read_text())
        moved = {fn for fn, code in new.items() if old.get(fn) != code}
        patterns += [f"{module}.{fn}__mutmut_*" for fn in sorted(moved)]
        stale |= {f"{module}.{fn}" for fn in moved | (old.keys() - new.keys())}
    last["mutants"] = [m for m in last["mutants"] if m["name"].rpartition("__mutmut_")[0] not in stale]
    return patterns


def _setup(group: str, wd: Path, only: list[str]) -> None:
    shutil.rmtree(wd, ignore_errors=True)
    wd.mkdir(parents=True)
    for name in ("src", "tests"):
        (wd / name).symlink_to(ROOT / name, target_is_directory=True)
    _write_config(group, wd, only)


def _write_config(group: str, wd: Path, only: list[str]) -> None:
    """``wd/pyproject.toml``: the project's, plus a ``[tool.mutmut]`` section mutating ``only`` against the
    group's tests (rewritten on a survivor re-run too, so a changed test selection applies)."""
    tests = GROUPS[group][1]
    section = "\n".join(
        [
            "",
            "[tool.mutmut]",
            "source_paths = ['src']",
            f"only_mutate = {json.dumps(only)}",
            f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
            "pytest_add_cli_args = ['-p', 'no:cacheprovider', '-p', 'no:randomly', '-q']",
            "use_git_change_detection = false",
            # messages are prose: a raise or warn statement is not mutated (its condition, on the if line, is);
            # nor are the branch counters, which are test instrumentation
            "do_not_mutate_patterns = ['^\\s*raise ', 'warnings\\.warn\\(', 'branches\\.hit\\(']",
            "",
        ]
    )
    (wd / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + section)


def _dump() -> None:
    """Run in a group's folder: print ``[[name, status, diff], ...]`` as JSON (the diff only for mutants not
    detected), read through mutmut's own functions (what ``mutmut results`` and ``mutmut show`` print)."""
    from mutmut.__main__ import SourceFileMutationData, get_diff_for_mutant, walk_mutatable_files
    from mutmut.stats import status_by_exit_code

    rows = []
    for path in walk_mutatable_files():
        m = SourceFileMutationData(path=path)
        m.load()
        for name, code in m.exit_code_by_key.items():
            status = status_by_exit_code[code]
            skip = status in DETECTED or status == NOT_RUN
            rows.append([name, status, "" if skip else get_diff_for_mutant(name, path=path)])
    print(json.dumps(rows))


def _changed_lines(diff: str) -> tuple[str, str]:
    """The removed and added lines of a unified diff, stripped and joined with `` / ``."""
    minus = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return " / ".join(m for m in minus if m), " / ".join(p for p in plus if p)


def _natural(item: tuple[str, object]) -> tuple[str, int]:
    """Sort key of a ``(mutant name, ...)`` pair: ``..._mutmut_9`` before ``..._mutmut_10``."""
    base, _, k = item[0].rpartition("__mutmut_")
    return (base, int(k)) if k.isdigit() else (item[0], 0)


def _split_name(name: str) -> tuple[str, str]:
    """``biodyn.ops.ssd.x_ssd_step__mutmut_3`` -> (``biodyn.ops.ssd``, ``ssd_step``); methods ``Class.meth``."""
    module, _, fn = name.rpartition(".")
    fn = re.sub(r"__mutmut_\w+$", "", fn)
    fn = fn.removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")
    return module, fn


def run(
    group: str,
    modules: list[str] = (),
    survivors: bool = False,
    children: int = 2,
    resume: bool = False,
    only: list[str] = (),
) -> None:
    """Mutate ``group`` (or its ``modules``) from scratch; or (``survivors``) re-run only the mutants the last
    such run did not detect, against the tests as they are now (mutmut collects coverage for new tests only);
    or (``resume``) go on with a stopped run where it stopped, with its own test selection (mutmut skips the
    mutants it has a verdict for). ``only``: re-run just the survivors whose names match these patterns
    (``biodyn.causal.ldsem.*``); the others keep their verdicts."""
    wd, paths = _select(group, list(modules))
    names: list[str] = []
    last = None
    if resume:
        if not (wd / "mutants").is_dir():
            raise SystemExit(f"[{group}] no stopped run in {wd} to resume")
        if (wd / "summary.json").exists():
            last = json.loads((wd / "summary.json").read_text())
    elif survivors:
        if (wd / "summary.json").exists():
            last = json.loads((wd / "summary.json").read_text())
        else:  # no run folder here (a fresh clone): start from the committed results
            last = _from_results(group, paths)
        changed = _drop_stale(last, _selected(group, paths))
        names = [m["name"] for m in last["mutants"] if m["status"] not in DETECTED and m["status"] != NOT_RUN]
        names = [n for n in names if not only or any(fnmatch.fnmatch(n, pat) for pat in only)]
        names += changed  # every mutant of a function changed since those results
        if not names:
            print(f"[{group}] nothing to re-run")
            return
        if changed or not (wd / "mutants").is_dir():
            _setup(group, wd, paths)
        else:
            _write_config(group, wd, paths)
            # collect which tests reach which function afresh: changed tests may reach code they did not before
            (wd / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    else:
        _setup(group, wd, paths)
    start, checkout = dt.datetime.now(dt.timezone.utc), _checkout()
    what = f" ({len(names)} survivors)" if survivors else " (resumed)" if resume else ""
    print(f"[{group}] mutmut run in {wd}{what}", flush=True)
    cmd = ["nice", "-n", "10", *MUTMUT, "run", "--max-children", str(children), *names]
    finished = subprocess.run(cmd, cwd=wd, env=_env()).returncode == 0
    _summarise(group, wd, paths, start, finished, last, checkout, rerun=survivors, patterns=list(only))


def _checkout(at: dt.datetime | None = None) -> dict:
    """The commit the code and tests are at (``at``: the last commit before that time), and whether they hold
    uncommitted changes now (the mutation results and the report excepted)."""
    rev = ["rev-parse", "--short", "HEAD"]
    if at is not None:
        rev = ["rev-list", "-1", "--abbrev-commit", f"--before={at.isoformat()}", "HEAD"]
    head = subprocess.run(["git", *rev], cwd=ROOT, capture_output=True, text=True)
    keep = [":!tests/MUTATION.md", ":!tests/mutation_equivalent.toml", ":!tests/mutation"]
    status = subprocess.run(
        ["git", "status", "--porcelain", "src", "tests", *keep], cwd=ROOT, capture_output=True, text=True
    )
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _summarise(
    group: str,
    wd: Path,
    only: list[str],
    start: dt.datetime,
    finished: bool,
    last: dict | None,
    checkout: dict | None = None,
    rerun: bool = False,
    patterns: list[str] = (),
) -> None:
    """Write ``wd/summary.json`` from mutmut's state in ``wd`` (``last``: the summary a survivor re-run
    (``rerun``) or a resumed run updates; ``checkout``: the commit when the (re-)run started, by default now),
    and from it the committed ``tests/mutation/<module>.json`` of each module the run mutated."""
    prior = last is not None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    tests = tomllib.loads((wd / "pyproject.toml").read_text())["tool"]["mutmut"]
    tests = tests["pytest_add_cli_args_test_selection"]  # the run's own selection (a resume keeps it)
    out = subprocess.run(
        [sys.executable, __file__, "_dump"], cwd=wd, env=_env(), capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"reading mutmut's results in {wd} failed:\n{out.stderr[-3000:]}")
    mutants = []
    # a survivor re-run in a fresh folder (from the committed results) leaves every other mutant untried
    earlier = {m["name"]: m for m in last["mutants"]} if prior else {}
    for name, status, diff in json.loads(out.stdout):
        if status == NOT_RUN and name in earlier:
            mutants.append(earlier[name])
            continue
        module, fn = _split_name(name)
        entry = {"name": name, "module": module, "function": fn, "status": status}
        if status not in DETECTED and status != NOT_RUN:
            entry["before"], entry["after"] = _changed_lines(diff)
        mutants.append(entry)
    summary = {
        "group": group,
        "modules": only,
        "tests": tests,
        **(checkout or _checkout()),
        "started": last["started"] if prior else start.isoformat(timespec="seconds"),
        "seconds": round((dt.datetime.now(dt.timezone.utc) - start).total_seconds())
        + (last["seconds"] if prior else 0),
        "survivor_reruns": (last.get("survivor_reruns", 0) if prior else 0) + rerun,
        # the patterns a survivor re-run was limited to, per re-run ([] = all survivors)
        "rerun_only": (last.get("rerun_only", []) if prior else []) + ([list(patterns)] if rerun else []),
        "finished": finished
        and (last["finished"] if rerun else True),  # a re-run cannot finish a stopped run
        "mutants": mutants,
    }
    (wd / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"[{group}] {len(mutants)} mutants in {summary['seconds']} s; summary in {wd / 'summary.json'}")
    _keep(summary)


def _keep(summary: dict) -> None:
    """Split a run's summary into ``tests/mutation/<module>.json``, one per module, replacing those modules'
    earlier results only. Each mutant is ``name: status`` or, when not detected, ``name: [status, original
    lines, mutated lines]``; the run's commit, start and duration (of the whole run) come with it."""
    RESULTS.mkdir(exist_ok=True)
    by_module: dict[str, dict] = {}
    for m in summary["mutants"]:
        undetected = m["status"] not in DETECTED and m["status"] != NOT_RUN
        by_module.setdefault(m["module"], {})[m["name"]] = (
            [m["status"], m["before"], m["after"]] if undetected else m["status"]
        )
    run = {k: v for k, v in summary.items() if k != "mutants"}
    for module, mutants in by_module.items():
        body = json.dumps({"module": module, "run": run}, indent=1)[:-2]
        rows = ",\n".join(
            f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(mutants.items(), key=_natural)
        )
        (RESULTS / f"{module}.json").write_text(body + ',\n "mutants": {\n' + rows + "\n }\n}\n")
    print(f"[{summary['group']}] results of {', '.join(sorted(by_module))} in {RESULTS}")


def _equivalents() -> list[dict]:
    if not EQUIVALENT.exists():
        return []
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(EQUIVALENT.read_text()).get("equivalent", [])


def _reason(m: dict, equivalents: list[dict]) -> str | None:
    for e in equivalents:
        if (e["module"], e["function"], e["before"], e["after"]) == (
            m["module"],
            m["function"],
            m["before"],
            m["after"],
        ):
            return e["reason"]
    return None


def _cell(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`" if text else "(nothing)"


def _run_line(run: dict, modules: list[str]) -> str:
    reruns = run.get("survivor_reruns", 0)
    return (
        f"- `{run['group']}` ({', '.join(f'`{m}`' for m in modules)}) against {', '.join(run['tests'])}; "
        f"commit {run['commit']}{' + uncommitted changes' if run['dirty'] else ''}, {run['started']}, "
        f"{run['seconds']} s in all"
        f"{f', the survivors re-run {reruns}x against new tests' if reruns else ''}"
        f"{_only_note(run.get('rerun_only', []))}"
        f"{'' if run['finished'] else ' (the run did not finish)'}"
    )


def _only_note(rerun_only: list[list[str]]) -> str:
    return "".join(f" (re-run {i + 1}: only {', '.join(o)})" for i, o in enumerate(rerun_only) if o)


def report() -> None:
    kept = sorted((json.loads(p.read_text()) for p in RESULTS.glob("*.json")), key=lambda k: k["module"])
    equivalents = _equivalents()
    lines = [
        "# Mutation testing of the core",
        "",
        "Generated by `python tools/mutate.py report` (run by `make mutate`; see docs/testing.md) from the",
        "results kept in `tests/mutation/` (one JSON per module, rewritten by each run of that module). Do not",
        "edit by hand: survivors that cannot change a result go to `tests/mutation_equivalent.toml` with their",
        "reason, the others need a test.",
        "",
        "Detected: killed by a test, or a timeout/crash of the mutated code. Kill rate: detected / (mutants",
        "run - equivalent). `no tests`: no test of the group reaches the mutated function (counted as not",
        "detected). `not run`: the run stopped before these mutants were tried (not in the rate). A module",
        "marked *recorded* has no per-mutant results kept: its counts are carried over from an earlier",
        "report (see Runs), and only its survivors and equivalent mutants are known (by their lines).",
        "",
        "| module | mutants | not run | detected | equivalent | survived | no tests | kill rate | results of |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    open_rows, eq_rows = [], []
    runs: dict[str, tuple[str | None, list[str]]] = {}  # one line per run, listing its modules
    for k in kept:
        module, rec = k["module"], k.get("recorded")
        mutants = dict(k["mutants"])
        if rec:
            key = rec["note"]
            runs.setdefault(key, (rec["note"], []))[1].append(module)
            det, not_run = rec["detected"], rec["not_run"]
            # a recorded equivalent mutant is known by its lines only: it counts as equivalent while the toml
            # lists it, else it is an open survivor again
            for i, (fn, before, after) in enumerate(rec["equivalent_mutants"]):
                mangled = "xǁ" + fn.replace(".", "ǁ") if "." in fn else "x_" + fn
                mutants[f"{module}.{mangled}__mutmut_recorded{i}"] = ["survived", before, after]
            total = det + not_run + len(mutants)
            when = f"recorded from {rec['source_commit']}"
        else:
            key = json.dumps(k["run"], sort_keys=True)
            runs.setdefault(key, (None, []))[1].append(module)
            statuses = [v if isinstance(v, str) else v[0] for v in mutants.values()]
            det = sum(s in DETECTED for s in statuses)
            not_run = sum(s == NOT_RUN for s in statuses)
            total = len(statuses)
            when = f"{k['run']['commit']}, {k['run']['started'][:10]}"
        eq = no_tests = surv = 0
        for name, v in sorted(mutants.items(), key=_natural):
            if isinstance(v, str):
                continue
            status, before, after = v
            m = {"module": module, "function": _split_name(name)[1], "before": before, "after": after}
            why = _reason(m, equivalents)
            if why is not None:
                eq += 1
                eq_rows.append(
                    f"| `{module}` | `{m['function']}` | {_cell(before)} | {_cell(after)} | {why} |"
                )
                continue
            no_tests += status == "no tests"
            surv += status != "no tests"
            open_rows.append(f"| `{name}` | {status} | {_cell(before)} | {_cell(after)} |")
        base = total - not_run - eq
        rate = f"{100 * det / base:.1f} %" if base else "n/a"
        label = f"`{module}`" + (" (recorded)" if rec else "")
        lines.append(
            f"| {label} | {total} | {not_run} | {det} | {eq} | {surv} | {no_tests} | {rate} | {when} |"
        )
    lines += ["", "## Runs", ""]
    for key, (note, modules) in runs.items():
        lines.append(
            f"- recorded ({', '.join(f'`{m}`' for m in modules)}): {note}"
            if note
            else _run_line(json.loads(key), modules)
        )
    ran = {(k.get("recorded") or k["run"])["group"] for k in kept}
    missing = [g for g in GROUPS if g not in ran]
    if missing:
        lines += ["", f"Groups not run yet: {', '.join(missing)}."]
    lines += ["", "## Survivors without a test", ""]
    lines += (
        ["| mutant | status | original | mutated |", "| --- | --- | --- | --- |", *open_rows]
        if open_rows
        else ["None."]
    )
    lines += ["", "## Equivalent mutants", ""]
    lines += (
        [
            "| module | function | original | mutated | why it cannot change a result |",
            "| --- | --- | --- | --- | --- |",
            *eq_rows,
        ]
        if eq_rows
        else ["None (that the kept results name; recorded modules count theirs without naming them)."]
    )
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="mutate the given groups (default: all), then write the report")
    r.add_argument("groups", nargs="*", metavar="GROUP", help=f"any of {', '.join(GROUPS)}")
    r.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="NAME",
        help="mutate only this module of the (one) group, e.g. biodyn.metrics.plot or plot; repeatable",
    )
    r.add_argument("--survivors", action="store_true", help="re-run only the last run's undetected mutants")
    r.add_argument("--resume", action="store_true", help="go on with a stopped run where it stopped")
    r.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="with --survivors: re-run only the survivors whose names match (fnmatch), e.g. 'biodyn.causal.ldsem.*'",
    )
    r.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    sub.add_parser("report", help="write tests/MUTATION.md from the results kept in tests/mutation/")
    c = sub.add_parser("collect", help="summarise an interrupted run of GROUP (its untried mutants: not run)")
    c.add_argument("group", choices=list(GROUPS))
    c.add_argument("--module", action="append", default=[], metavar="NAME", help="as given to run")
    if (argv if argv is not None else sys.argv[1:]) == ["_dump"]:
        _dump()
        return
    args = ap.parse_args(argv)
    if args.cmd == "run":
        unknown = set(args.groups) - set(GROUPS)
        if unknown:
            ap.error(f"unknown group(s) {', '.join(sorted(unknown))}; groups: {', '.join(GROUPS)}")
        if args.module and len(args.groups) != 1:
            ap.error("--module needs exactly one group")
        for g in args.groups or list(GROUPS):
            run(
                g,
                args.module,
                survivors=args.survivors,
                children=args.children,
                resume=args.resume,
                only=args.only,
            )
    elif args.cmd == "collect":
        wd, only = _select(args.group, args.module)
        started = dt.datetime.fromtimestamp((wd / "pyproject.toml").stat().st_mtime, dt.timezone.utc)
        _summarise(args.group, wd, only, started, False, None, _checkout(at=started))
    report()


if __name__ == "__main__":
    main()

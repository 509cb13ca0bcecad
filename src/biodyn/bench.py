"""Run the benchmark scripts and render their JSON as ``benchmarks/RESULTS.md``.

The scripts live in the source checkout's ``benchmarks/`` folder (``bench_<name>.py``); each takes ``--quick``
and ``--json PATH`` and writes ``rows`` and ``goals``. :func:`write_results_md` turns the JSON files into one
Markdown page: the machine and commit each file was measured on, every goal (met or not) and every row, so no
measured number is ever typed by hand.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from biodyn.errors import ConfigError

__all__ = [
    "benchmarks_dir",
    "list_benchmarks",
    "machine_info",
    "run_benchmarks",
    "sync_docs",
    "write_results_md",
]


def benchmarks_dir() -> Path:
    """The checkout's ``benchmarks/`` folder (``$BIODYN_BENCHMARKS_DIR`` overrides)."""
    env = os.environ.get("BIODYN_BENCHMARKS_DIR")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "benchmarks"
    if not folder.is_dir():
        raise ConfigError(
            f"no benchmarks folder at {folder}: the benchmarks ship with the source checkout "
            "(git clone), not with an installed wheel; set $BIODYN_BENCHMARKS_DIR to point at one"
        )
    return folder


def list_benchmarks(folder: Path | None = None) -> list[str]:
    """Names of the benchmark scripts (``bench_ssm.py`` -> ``ssm``), sorted."""
    folder = folder or benchmarks_dir()
    return sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))


def machine_info() -> dict:
    """What a measurement depends on: CPU model, cores, memory, Python/torch versions, thread count."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:  # not Linux
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return info


def run_benchmarks(
    names: list[str] | None,
    out_dir: str | os.PathLike,
    quick: bool = False,
    extra_args: list[str] | None = None,
) -> list[dict]:
    """Run ``bench_<name>.py --json out_dir/<name>.json [--quick]`` for each name (all when ``None``).

    Each script runs in its own process (benchmarks time whole processes and their peak memory); a failing
    script is reported and the others still run. Returns ``[{"name", "returncode", "json"}]``.
    """
    folder = benchmarks_dir()
    known = list_benchmarks(folder)
    names = names or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(known)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        out = out_dir / f"{name}.json"
        cmd = [sys.executable, str(folder / f"bench_{name}.py"), "--json", str(out)]
        if quick:
            cmd.append("--quick")
        cmd += list(extra_args or [])
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        rc = subprocess.call(cmd)
        results.append({"name": name, "returncode": rc, "json": str(out)})
        if rc != 0:
            print(f"== {name} failed with exit code {rc}", flush=True)
    return results


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"))[:60]
    return str(v).replace("|", "\\|")


def _table(rows: list[dict]) -> list[str]:
    keys = list(dict.fromkeys(k for r in rows for k in r if not isinstance(r[k], dict | list)))
    if not keys:
        return []
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return lines


def _summary_lines(res: dict) -> list[str]:
    """A result's goals, its crossover length and its per-task means over seeds, as Markdown (each part followed by
    a blank line; nothing for a result that has none)."""
    lines = []
    goals = res.get("goals") or {}
    if goals:
        lines += ["| goal | value | target | met |", "|---|---|---|---|"]
        for g, v in goals.items():
            op = ">=" if v.get("higher_is_better") else "<="
            lines.append(
                f"| {g} | {_fmt(v.get('value'))} {v.get('unit', '')} | {op} {_fmt(v.get('target'))} | "
                f"{'MET' if v.get('met') else '**NOT MET**'} |"
            )
        lines.append("")
    if "crossover_T" in res:  # the first measured length at which PRISM is the faster (None: none of them)
        lengths = sorted({r["T"] for r in res.get("rows", []) if r.get("part") == "speed" and "T" in r})
        lines += [
            f"- crossover length: {res['crossover_T'] or 'none'} (the first of T = "
            f"{', '.join(map(str, lengths))} at which PRISM's fwd+bwd is the faster)",
            "",
        ]
    if res.get("moe_over_dense_fwdbwd"):  # bench_prism's speed part: the MoE FFN's cost beside the dense one
        ratios = ", ".join(f"T = {t}: {_fmt(v)}" for t, v in res["moe_over_dense_fwdbwd"].items())
        lines += [
            f"- fwd+bwd time of PRISM with the MoE FFN over the dense PRISM (same active parameters): {ratios}",
            "",
        ]
    acc = res.get("accuracy_summary") or {}
    if acc:  # per task/model over seeds
        lines += ["| task / model | metric | mean | 95 % CI +- | seeds |", "|---|---|---|---|---|"]
        lines += [
            f"| {k} | {v.get('metric', '')} | {_fmt(v.get('mean'))} | {_fmt(v.get('ci95'))} | "
            f"{v.get('n_seeds', '')} |"
            for k, v in acc.items()
        ]
        lines.append("")
    return lines


# a generated block of a docs page: `<!-- results: STEM -->` ... `<!-- /results -->`, STEM a JSON file's name
_DOC_BLOCK = re.compile(r"(<!-- results: (?P<stem>[\w.-]+) -->\n).*?(<!-- /results -->)", re.S)


def sync_docs(json_dir: str | os.PathLike, docs: list[str | os.PathLike], check: bool = False) -> list[Path]:
    """Fill every ``<!-- results: STEM -->`` ... ``<!-- /results -->`` block of the Markdown files ``docs`` with
    the goals and per-task means of ``json_dir/STEM.json`` and the commit and date they were measured at, so that
    no measured number in the docs is typed by hand. Returns the files that differed (written atomically, unless
    ``check``); a block naming a missing JSON file is an error naming both."""
    from biodyn.atomic import atomic_write_text

    json_dir, changed = Path(json_dir), []
    for doc in map(Path, docs):
        text = doc.read_text()

        def fill(m, doc=doc):
            f = json_dir / f"{m['stem']}.json"
            if not f.is_file():
                raise ConfigError(f"{doc}: its results block names {f}, which does not exist")
            res = json.loads(f.read_text())
            body = _summary_lines(res)
            when = str(res.get("measured_at") or "an unrecorded date")[:10]
            if res.get("merged_from"):  # the merge's own commit is not where its rows were measured
                parts = res.get("commits_of_parts") or [None] * len(res["merged_from"])
                known = sorted({c[:12] for c in parts if c})
                where = (
                    f"merged on {when} from {len(parts)} runs measured at commit(s) "
                    f"{', '.join(f'`{c}`' for c in known) or 'not recorded'}"
                    + (
                        f" ({sum(c is None for c in parts)} of them not recorded)"
                        if None in parts and known
                        else ""
                    )
                )
            else:
                where = f"measured at commit `{str(res.get('commit') or 'not recorded')[:12]}` on {when}"
            body.append(
                f"{where[0].upper()}{where[1:]}; every row, the machine and the load: `{f.name}` in "
                "[benchmarks/RESULTS.md](../benchmarks/RESULTS.md)."
            )
            return m[1] + "\n" + "\n".join(body) + "\n" + m[3]

        new = _DOC_BLOCK.sub(fill, text)
        if new != text:
            changed.append(doc)
            if not check:
                atomic_write_text(doc, new)
    return changed


def write_results_md(json_dir: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Render every ``*.json`` in ``json_dir`` into one Markdown file at ``out_path`` (written atomically)."""
    from biodyn.atomic import atomic_write_text

    json_dir = Path(json_dir)
    files = sorted(json_dir.glob("*.json"))
    if not files:
        raise ConfigError(f"no benchmark JSON in {json_dir}: run `biodyn bench` first")
    lines = [
        "# Benchmark results",
        "",
        "Generated by `biodyn bench --report` from the JSON files in "
        f"`{os.path.relpath(json_dir, Path(out_path).parent)}/`; do not edit by hand. Each section names the "
        "machine and commit it was measured on (older files recorded less).",
        "",
    ]
    summary = []
    for f in files:
        try:
            res = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"{f}: not a benchmark JSON file ({e})") from e
        name = res.get("benchmark", f.stem)
        goals = res.get("goals", {})
        n_met = sum(bool(g.get("met")) for g in goals.values())
        # one section per file, headed by its name: a benchmark may have several (its parts run apart)
        anchor = re.sub(r"[^a-z0-9_ -]", "", f.stem.lower()).replace(" ", "-")
        summary.append(
            f"| [{f.name}](#{anchor}) | {name} | {n_met} / {len(goals)} | "
            f"{'quick' if res.get('quick') else 'full'} |"
        )
        lines += [f"## {f.stem}", "", f"- benchmark: `{name}`"]
        machine = res.get("machine")
        if isinstance(machine, dict):
            desc = ", ".join(f"{k} {v}" for k, v in machine.items() if v is not None)
        else:
            desc = str(machine or "not recorded")
        lines += [
            f"- machine: {desc}",
            f"- commit: `{res.get('commit') or 'not recorded'}`; measured: {res.get('measured_at', 'not recorded')}; "
            f"mode: {'quick (CI-size)' if res.get('quick') else 'full'}"
            + (
                f"; load average (1/5/15 min) at the end: {' / '.join(map(str, res['load_average']))} "
                f"on {machine.get('cores', '?') if isinstance(machine, dict) else '?'} cores"
                if res.get("load_average")
                else ""
            ),
        ]
        if res.get("merged_from"):  # a merge of runs split over processes: their own commits
            parts = res.get("commits_of_parts") or []
            lines.append(
                f"- merged from {', '.join(f'`{n}`' for n in res['merged_from'])}"
                + (f", measured at {', '.join(sorted({f'`{c}`' for c in parts if c}))}" if any(parts) else "")
            )
        lines += ["", *_summary_lines(res)]
        lines += _table(res.get("rows", []))
        lines.append("")
    head = ["| file | benchmark | goals met | mode |", "|---|---|---|---|", *summary, ""]
    text = "\n".join(lines[:4] + head + lines[4:]) + "\n"
    out = Path(out_path)
    atomic_write_text(out, text)
    return out


def stamp() -> dict:
    """Provenance fields every benchmark JSON carries: machine, commit, time of measurement."""
    from biodyn.provenance import git_commit

    return {
        "machine": machine_info(),
        "commit": git_commit(),
        "measured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        # other work on the machine while it ran (1, 5 and 15 min load averages when the result was written):
        # timings taken beside other jobs are slower than the machine's own
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }

"""Shared helpers for benchmark scripts: argument parsing, timing, the JSON/table output."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    from biodyn._malloc import keep_freed_memory

    keep_freed_memory()  # as the biodyn CLI does: freed activations are reused, not page-faulted afresh
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, finishes in under a minute on 2 cores")
    p.add_argument("--json", metavar="PATH", help="write rows and goals as JSON")
    return p


def paired_median_times(fns, repeats: int, warmup: int = 1) -> list[float]:
    """Median seconds of each of ``fns``, timed in turn within every repeat (so that a slow spell of a
    shared machine falls on all of them alike, not on whichever happened to run then)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def median_time(fn, repeats: int, warmup: int = 1) -> float:
    return paired_median_times([fn], repeats, warmup)[0]


def goal(value: float, target: float, unit: str, higher_is_better: bool) -> dict:
    met = value >= target if higher_is_better else value <= target
    return {"value": value, "target": target, "unit": unit, "higher_is_better": higher_is_better, "met": met}


def report(name: str, rows: list[dict], goals: dict[str, dict], json_path: str | None, **extra) -> None:
    """Print rows and goals as tables and write the JSON."""
    if rows:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        widths = {k: max(len(k), *(len(_fmt(r.get(k, ""))) for r in rows)) for k in keys}
        print(" | ".join(k.ljust(widths[k]) for k in keys))
        print("-+-".join("-" * widths[k] for k in keys))
        for r in rows:
            print(" | ".join(_fmt(r.get(k, "")).ljust(widths[k]) for k in keys))
    print()
    for g, v in goals.items():
        op = ">=" if v["higher_is_better"] else "<="
        print(
            f"goal {g}: {v['value']:.4g} {v['unit']} (target {op} {v['target']:g}) {'MET' if v['met'] else 'NOT MET'}"
        )
    if json_path:
        from biodyn.atomic import atomic_write_json
        from biodyn.bench import stamp

        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        # machine, commit and time of measurement travel with the numbers (benchmarks/RESULTS.md shows them)
        from biodyn._malloc import keep_freed_memory

        atomic_write_json(
            json_path,
            {
                "benchmark": name,
                **stamp(),
                "keep_freed_memory": keep_freed_memory(),
                "rows": rows,
                "goals": goals,
                **extra,
            },
        )
        print(f"wrote {json_path}")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


__all__ = ["goal", "json", "median_time", "parser", "report"]

"""``biodyn bench [NAME ...] [--quick] [--report]``: run the benchmarks, render ``benchmarks/RESULTS.md``."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="benchmarks to run (bench_<NAME>.py; default: all)")
    parser.add_argument("--quick", action="store_true", help="CI-size runs (each under about a minute)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--report",
        action="store_true",
        help="render RESULTS.md from the JSON (after running NAMEs, if given)",
    )
    parser.add_argument("--out", default=None, help="JSON folder (default: benchmarks/results)")
    parser.add_argument(
        "--results-md", default=None, help="Markdown to write (default: benchmarks/RESULTS.md)"
    )


def run(args) -> int:
    from biodyn.bench import benchmarks_dir, list_benchmarks, run_benchmarks, sync_docs, write_results_md

    folder = benchmarks_dir()
    out = args.out or folder / "results"
    if args.list:
        print("\n".join(list_benchmarks(folder)))
        return 0
    failed = []
    if args.names or not args.report:
        failed = [
            r["name"] for r in run_benchmarks(args.names or None, out, quick=args.quick) if r["returncode"]
        ]
    if args.report:
        md = write_results_md(out, args.results_md or folder / "RESULTS.md")
        print(f"wrote {md}")
        docs = folder.parent / "docs"  # the checkout's docs pages with generated results blocks
        for doc in sync_docs(out, sorted(docs.glob("*.md")) if docs.is_dir() else []):
            print(f"updated the results blocks of {doc}")
    if failed:
        print(f"biodyn bench: {len(failed)} benchmark(s) failed: {', '.join(failed)}")
        return 1
    return 0

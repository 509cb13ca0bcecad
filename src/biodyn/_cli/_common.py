"""Helpers shared by CLI commands: tables and ``--json`` output."""

from __future__ import annotations

from typing import Any


def print_table(title: str, rows: list[tuple[str, Any]]) -> None:
    """Two-column key/value table (rich)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for k, v in rows:
        table.add_row(str(k), _fmt(v))
    Console().print(table)


def _fmt(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        if len(v) > 12:
            return ", ".join(map(str, v[:12])) + f", ... ({len(v)} in all)"
        return ", ".join(map(str, v))
    return str(v)


def write_json(path, obj) -> None:
    if path:
        from biodyn.atomic import atomic_write_json

        atomic_write_json(path, obj)

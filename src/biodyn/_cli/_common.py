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


SEEDS_HELP = "comma-separated seeds (default: the protocol's 42,123,7,0,256)"


def seeds(text: str | None) -> tuple[int, ...]:
    """``--seeds 42,7`` -> ``(42, 7)``; not given -> the protocol's seeds (:data:`biodyn.train.fewshot.SEEDS`)."""
    if text is None:
        from biodyn.train.fewshot import SEEDS

        return tuple(SEEDS)
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        from biodyn.errors import ConfigError

        raise ConfigError(f"invalid --seeds {text!r}; expected comma-separated integers") from None

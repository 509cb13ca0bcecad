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


def pairs(items, flag: str, metavar: str, keys=None) -> dict[str, str]:
    """``["a=1", "b=2"]`` of a repeatable ``--flag NAME=VALUE`` -> ``{"a": "1", "b": "2"}``; an item without
    ``=``, an empty side, a name given twice or (with ``keys``) an unknown name is a ConfigError naming it."""
    from biodyn.errors import ConfigError, check_option

    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = str(item).partition("=")
        if not sep or not name or not value:
            raise ConfigError(f"invalid {flag} {item!r}; expected {metavar}")
        if keys is not None:
            check_option(flag, name, keys)
        if name in out:
            raise ConfigError(f"{flag} {name}= given twice ({out[name]!r} and {value!r})")
        out[name] = value
    return out


def floats(text: str, flag: str) -> tuple[float, ...]:
    """``"0.1,1"`` -> ``(0.1, 1.0)``; anything else is a ConfigError naming ``flag``."""
    from biodyn.errors import ConfigError

    try:
        return tuple(float(s) for s in text.split(","))
    except ValueError:
        raise ConfigError(f"invalid {flag} {text!r}; expected comma-separated numbers") from None


def names(text: str, flag: str, allowed=None) -> tuple[str, ...]:
    """``"a,b"`` -> ``("a", "b")``: no empty or repeated name; with ``allowed``, each one of them."""
    from biodyn.errors import ConfigError, check_option

    out = tuple(s.strip() for s in text.split(","))
    if any(not s for s in out) or len(set(out)) != len(out):
        raise ConfigError(f"invalid {flag} {text!r}; expected comma-separated names, each once")
    for s in out if allowed is not None else ():
        check_option(flag, s, allowed)
    return out

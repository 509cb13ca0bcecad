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


ACTIVE = None  # the OneLineWarnings a running command prints through (see flush_warnings)


def flush_warnings() -> None:
    """Print the counts of repeated warnings now (a command whose last line must stay last calls it first)."""
    if ACTIVE is not None:
        ACTIVE.summary()


class OneLineWarnings:
    """Python warnings as the CLI prints them: ``biodyn: warning: <file>: <what>`` on one line (no source
    line), each kind once; repeats of a kind (the same text up to its leading file name and its numbers) are
    counted and summed up by :meth:`summary`. Install with :meth:`installed` (library users keep the
    ``warnings`` module's own display)."""

    def __init__(self, stream=None):
        import sys

        self.stream = stream if stream is not None else sys.stderr
        self.counts: dict[tuple[str, str], int] = {}
        self.first: dict[tuple[str, str], str] = {}
        self.seen: set[str] = set()  # the same text again (a file read twice) is the same fact: not counted

    @staticmethod
    def one_line(message) -> str:
        return " ".join(line.strip() for line in str(message).strip().splitlines() if line.strip())

    @staticmethod
    def kind(category: type, text: str) -> tuple[str, str]:
        import re

        head, sep, rest = text.partition(": ")
        if sep and ("/" in head or "\\" in head or "." in head) and " " not in head:  # a leading file name
            text = rest
        return category.__name__, re.sub(r"\d+(\.\d+)?", "#", text)

    def show(self, message, category, filename=None, lineno=None, file=None, line=None) -> None:
        text = self.one_line(message)
        if text in self.seen:
            return
        self.seen.add(text)
        key = self.kind(category, text)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] == 1:
            self.first[key] = text
            print(f"biodyn: warning: {text}", file=self.stream, flush=True)

    def summary(self) -> None:
        """One line per kind that came more than once: how many more times."""
        for key, n in self.counts.items():
            if n > 1:
                first = self.first[key]
                short = first if len(first) <= 80 else first[:77] + "..."
                print(f'biodyn: warning: {n - 1} more like "{short}"', file=self.stream, flush=True)
        self.counts.clear()
        self.first.clear()

    def installed(self):
        """Context manager: route ``warnings.warn`` through :meth:`show` (every occurrence, so that repeats
        are counted) and print :meth:`summary` on exit."""
        import contextlib
        import warnings

        @contextlib.contextmanager
        def cm():
            global ACTIVE
            before, ACTIVE = ACTIVE, self
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
                warnings.showwarning = self.show
                try:
                    yield self
                finally:
                    self.summary()
                    ACTIVE = before

        return cm()


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


def quoted(s: str) -> str:
    """``s`` as a quoted string of Hydra's override grammar (so ``null``, ``3`` or ``a,b`` stay strings): how an
    alias passes a flag's text to its config tree verbatim."""
    import re

    body = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", s)
    body = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, body)  # a backslash before the closing quote
    return f"'{body}'"


def listed(values) -> str:
    """A list as a Hydra override value: strings quoted (:func:`quoted`), numbers as Python writes them."""
    return "[" + ",".join(quoted(v) if isinstance(v, str) else repr(v) for v in values) + "]"


def split_names(text: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]`` (a comma-separated flag's items; the config's schema checks them)."""
    return [s.strip() for s in text.split(",")]


def add_typed_flags(p, typed: dict, defaults) -> None:
    """Add an alias's ``typed`` flags ``{flag: (key, type, help)}`` to parser ``p``, each defaulting to None (only
    the flags given become overrides, :func:`flag_overrides`); a help ends in the config's default
    (``defaults``' attribute) unless it states its own."""
    for flag, (key, typ, help_) in typed.items():
        shown = "" if "default" in help_ else f" (default: {getattr(defaults, key)})"
        p.add_argument(flag, dest=key, type=typ, default=None, help=help_ + shown)


def flag_overrides(args, typed: dict | None = None, lists: dict | None = None) -> list[str]:
    """The given flags of an alias as overrides of its config tree: ``typed`` ``{flag: (key, type, help)}``
    (``--epochs 3`` -> ``epochs=3``, strings :func:`quoted`), ``lists`` ``{flag: (key, help)}`` (comma-separated,
    ``--models a,b`` -> ``models=['a','b']``); flags left at None are not overrides."""
    out = []
    for key, typ, _ in (typed or {}).values():
        value = getattr(args, key)
        if value is not None:
            out.append(f"{key}={quoted(value) if typ is str else repr(value)}")
    for key, _ in (lists or {}).values():
        if getattr(args, key) is not None:
            out.append(f"{key}={listed(split_names(getattr(args, key)))}")
    return out

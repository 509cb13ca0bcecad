"""The ``biodyn`` command.

Each subcommand lives in ``biodyn._cli.<module>`` with two functions:

* ``add_arguments(parser)`` declares its flags (cheap: no heavy imports at module level), and
* ``run(args) -> int`` resolves the config, calls one library function, prints and writes ``--json``.

Modules are imported only when their command runs (``--help`` of one command imports only that one).
Every entry of :data:`COMMANDS` must have its module: a missing one is an error, never a hidden command.

A :class:`biodyn.errors.BiodynError` reaching :func:`main` prints one line ``biodyn: error: <message>`` on
stderr and exits with the error's ``exit_code`` (the table is in ``docs/reliability.md``); ``--debug`` (before
or after the command) or ``BIODYN_DEBUG=1`` shows the traceback instead. Python warnings print as one line
``biodyn: warning: <file>: <what>``, a kind that repeats counted at the end (``--debug``: Python's display).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from biodyn.errors import BiodynError

# name -> (module under biodyn._cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "summarise a corpus on disk: records, channels, rates, hours, labels"),
    "download": ("download", "download a PhysioNet corpus (resumable, checksummed)"),
    "build-cache": ("build_cache", "preprocess recordings into memory-mapped window shards"),
    "train": (
        "train",
        "train any system from the one Hydra config tree (system=seizure|prism|cldtrans|focal|fewshot "
        "key=value ...)",
    ),
    "eval": ("evaluate", "evaluate a trained checkpoint"),
    "export": ("export", "export a run's best weights with a model card (Hub-ready; --push uploads)"),
    "report": ("report", "aggregate per-seed results into tables and figures"),
    "score": ("score", "score hypothesis events against references, NEDC-style"),
    "detect": ("detect", "run a seizure detector on recordings (events, probabilities, PNG)"),
    "benchmark": (
        "benchmark",
        "run a detector on an open benchmark (szcore: a BIDS dataset, leaderboard figures)",
    ),
    "szcore": ("szcore", "SzCORE's container contract: one EDF in, its events TSV out"),
    "lags": ("lags", "fit a lag graph to a recording and draw it (scalp or ECG leads)"),
    "bench": ("bench", "run the benchmarks and render benchmarks/RESULTS.md from their JSON"),
    "focal": (
        "focal",
        "zero-shot focal-lead localisation on CHB-MIT ictal windows: flags over `biodyn train system=focal`",
    ),
    "fewshot": (
        "fewshot",
        "few-shot transfer grid (datasets x budgets x seeds x probe/fine-tune), resumable: flags over "
        "`biodyn train system=fewshot`",
    ),
    "demo": ("demo", "run the main job on the sample recordings"),
    "prism": (
        "prism",
        "train PRISM or a baseline on ECG, images or audio: PRISM's flags over `biodyn train system=prism`",
    ),
    "cldtrans": (
        "cldtrans",
        "train CLD-Trans, one stage (mode=stage1|stage2 key=value ...): `biodyn train system=cldtrans`",
    ),
}


class MissingCommandError(BiodynError, ImportError):
    """A command listed in :data:`COMMANDS` whose module ``biodyn._cli.<module>`` does not exist."""


def _load(name: str):
    module = f"biodyn._cli.{COMMANDS[name][0]}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise  # the command's module exists but imports something that is missing
        raise MissingCommandError(
            f"biodyn {name}: listed in biodyn.cli.COMMANDS but {module} does not exist"
        ) from e


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from biodyn import provenance

    # while the command runs, results name it (provenance.command_line), also when main is called from Python
    prev, provenance.CLI_ARGV = provenance.CLI_ARGV, [a for a in argv if a != "--debug"]
    try:
        return _run(argv)
    finally:
        provenance.CLI_ARGV = prev


def _run(argv: list[str]) -> int:
    import os

    from biodyn._malloc import keep_freed_memory

    keep_freed_memory()  # models' activations reuse freed heap memory instead of page-faulting fresh mmaps
    debug = "--debug" in argv or os.environ.get("BIODYN_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    if debug:  # Python's own warning display too, with the source line
        return _main(argv)
    from biodyn._cli._common import OneLineWarnings

    try:
        with OneLineWarnings().installed():  # `biodyn: warning: <file>: <what>`, repeats counted
            return _main(argv)
    except MissingCommandError:  # a bug in biodyn's packaging, not bad input: keep the traceback
        raise
    except BiodynError as e:
        return _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except OSError as e:  # disk full, permission denied, ...: name the file, no traceback
        return _fail(f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}", 8)


def _fail(message: str, code: int) -> int:
    one_line = " ".join(line.strip() for line in message.strip().splitlines())
    print(f"biodyn: error: {one_line}", file=sys.stderr)
    return code


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="biodyn", description=__doc__.splitlines()[0])
    from biodyn import __version__

    parser.add_argument("--version", action="version", version=f"biodyn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also: BIODYN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)

    # Parse only the command name here; the command's own parser handles the rest.
    if not argv or argv[0] in ("-h", "--help", "--version"):
        parser.parse_args(argv or ["--help"])
        return 0
    name = argv[0]
    if name not in COMMANDS:
        parser.error(f"unknown command {name!r}; choose from {', '.join(COMMANDS)}")
    mod = _load(name)
    cmd_parser = argparse.ArgumentParser(prog=f"biodyn {name}", description=COMMANDS[name][1])
    mod.add_arguments(cmd_parser)
    if getattr(mod, "PASS_THROUGH", False):
        # Hydra-style commands (key=value overrides) take the raw argument list.
        args, rest = cmd_parser.parse_known_args(argv[1:])
        args.overrides = rest
    else:
        args = cmd_parser.parse_args(argv[1:])
    return int(mod.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m biodyn.cldtrans mode=stage1 train.max_steps=1``: CLD-Trans' own entry point, an alias of
``biodyn cldtrans`` (:mod:`biodyn._cli.cldtrans` over :mod:`biodyn.systems.cldtrans`), with the ``biodyn``
command's error contract (one ``biodyn: error: ...`` line, the exit codes of ``docs/reliability.md``,
tracebacks with ``--debug``)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from biodyn.cli import main as cli_main

    return cli_main(["cldtrans", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

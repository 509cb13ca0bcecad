"""``python -m biodyn.systems.cldtrans mode=stage1 train.max_steps=1``: the same command as
``python -m biodyn.cldtrans`` and ``biodyn cldtrans`` (an entry point: it goes through the ``biodyn``
command for its error contract)."""

import sys

from biodyn.cli import main

if __name__ == "__main__":
    sys.exit(main(["cldtrans", *sys.argv[1:]]))

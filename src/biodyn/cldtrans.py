"""``python -m biodyn.cldtrans mode=stage1 train.max_steps=1``: CLD-Trans training (Hydra overrides).

Thin entry point: composes ``biodyn/configs/cldtrans`` with the command-line overrides and calls
:func:`biodyn.train.cldtrans.run_cldtrans`. Under ``torchrun`` each rank joins the process group first.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from biodyn.errors import BiodynError
    from biodyn.train.cldtrans import compose, run_cldtrans
    from biodyn.train.distributed import init_from_env, shutdown

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        run = compose(args)
        init_from_env()
        res = run_cldtrans(run)
    except BiodynError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        shutdown()
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun rank 0 reports
        return 0
    row = res.get("last_train_row") or {}
    print(json.dumps({"mode": res["mode"], "ablation": res["ablation"], "step": res["train_summary"]["step"],
                      **{k: v for k, v in row.items() if k.startswith("loss")}, **(res.get("codebook") or {})}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CLD-Trans: evaluation of a stage-1 or stage-2 run folder (``biodyn eval RUN``).

A CLD-Trans stage is trained without labels on its objective's terms (reconstruction, VQ commitment, LD-SEM
likelihood, L1 on the lags; stage 2 adds the graph-ODE term): the run is evaluated on the same terms, each the
mean over every block of its corpora's windows, with the model reloaded by
:func:`biodyn.models.from_pretrained` and switched to the run's stage, plus the codebook's usage and perplexity.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from biodyn.errors import CheckpointError, ConfigError


def read_run(run_dir: str | os.PathLike):
    """The :class:`~biodyn.systems.cldtrans.config.CLDTransRun` a stage's ``config.yaml`` holds."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from biodyn.systems.cldtrans.config import CLDTransRun

    f = Path(run_dir) / "config.yaml"
    if not f.is_file():
        raise ConfigError(f"{run_dir}: not a CLD-Trans run (no config.yaml)")
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(CLDTransRun), OmegaConf.load(f)))
    except OmegaConfBaseException as e:
        raise ConfigError(f"{f}: not a CLD-Trans run config ({e})") from e


def evaluate_cldtrans_run(run_dir: str | os.PathLike, *, which: str = "best", parts=None) -> dict[str, Any]:
    """The mean of each objective term over every block of the run's windows, for ``checkpoints/<which>``
    (a run without validation keeps ``last`` only: then ``last``). ``parts``: the windows (default: the run's
    corpora, their caches reused)."""
    import numpy as np
    import torch

    from biodyn.models import find_checkpoint, from_pretrained
    from biodyn.systems.cldtrans.run import ModalityBlocks, _ablate, build_windows

    run_path = Path(run_dir)
    run = read_run(run_path)
    _ablate(run)
    ckpt = find_checkpoint(run_path / "checkpoints" / which)
    if ckpt is None and which == "best":
        ckpt, which = find_checkpoint(run_path / "checkpoints" / "last"), "last"
    if ckpt is None:
        raise CheckpointError(f"{run_path}: no {which!r} checkpoint (checkpoints/{which}/state.json)")
    model = from_pretrained(ckpt)
    model.set_stage(run.mode)
    parts = parts if parts is not None else build_windows(run)
    blocks = ModalityBlocks(
        parts, run.train.batch_size, seed=run.train.seed, max_channels=run.data.max_channels
    )
    sums: dict[str, list[float]] = {}
    usage, perplexity = [], []
    with torch.no_grad():
        for k in range(len(blocks)):
            terms = model.forward_loss(blocks[k])
            for name, v in terms.items():
                sums.setdefault(f"loss_{name}", []).append(float(v))
            if run.model.use_vq:
                cb = model.codebook_stats()
                usage.append(cb["codebook_usage"])
                perplexity.append(cb["codebook_perplexity"])
    metrics = {k: float(np.mean(v)) for k, v in sums.items()}
    metrics["loss"] = float(sum(metrics.values()))
    if usage:
        metrics["codebook_usage"], metrics["codebook_perplexity"] = (
            float(np.mean(usage)),
            float(np.mean(perplexity)),
        )
    return {
        "run_dir": str(run_path),
        "system": "cldtrans",
        "mode": run.mode,
        "ablation": run.ablation,
        "checkpoint": which,
        "n_blocks": len(blocks),
        "metrics": metrics,
    }

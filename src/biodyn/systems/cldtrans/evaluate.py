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


def evaluate_focal_run(run_dir: str | os.PathLike, onsets: dict | None = None) -> dict[str, Any]:
    """``biodyn eval`` of a focal-lead run folder (``.../zeroshot/run_seed<k>``): every seizure's ranking
    recomputed from what the run stored (``readout.npz``: the lag graph, whose focal scores rank the channels,
    or the occlusion drops) and scored against its onset channels (those the run recorded in
    ``results.json``, or ``onsets`` ``{(record, seizure_index): [channels]}`` to score other ones): top-1/3/5
    accuracy, ties shared as a random tie-break would, with Wilson intervals over the scored seizures."""
    import json

    import numpy as np
    import yaml

    from biodyn.causal.metrics import topk_accuracy
    from biodyn.systems.cldtrans.focal_lead import (
        FOCAL_SYSTEM,
        READOUT_FILE,
        graph_ranking,
        occlusion_ranking,
        summarise,
    )
    from biodyn.types import LagGraph

    run = Path(run_dir)
    cfg_file, res_file, arr_file = run / "config.yaml", run / "results.json", run / READOUT_FILE
    try:
        cfg = yaml.safe_load(cfg_file.read_text()) if cfg_file.is_file() else None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{cfg_file}: cannot be read as a run config ({type(e).__name__})") from None
    if not isinstance(cfg, dict) or cfg.get("system") != FOCAL_SYSTEM:
        raise ConfigError(f"{run}: not a focal-lead run folder (its config.yaml names no {FOCAL_SYSTEM})")
    for f in (res_file, arr_file):
        if not f.is_file():
            raise CheckpointError(f"{run}: an unfinished focal-lead run ({f.name} is missing)")
    try:
        stored = json.loads(res_file.read_text())["per_seizure"]
        with np.load(arr_file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"{run}: damaged focal-lead run ({type(e).__name__}: {e})") from None
    per = []
    for i, s in enumerate(stored):
        entry = {"record": s["record"], "seizure_index": s["seizure_index"]}
        channels = [str(c) for c in arrays[f"s{i}_channels"]]
        if f"s{i}_tau" in arrays:
            graph = LagGraph(arrays[f"s{i}_tau"], arrays[f"s{i}_weight"], channels, float(arrays[f"s{i}_fs"]))
            ranking, scores = graph_ranking(graph)
        elif f"s{i}_drop" in arrays:
            ranking, scores = occlusion_ranking(channels, arrays[f"s{i}_drop"])
        else:  # the run could not score it (no detector): left out, as the run left it
            entry["error"] = s.get("error", "no read-out stored")
            per.append(entry)
            continue
        listed = s["onset_channels"] if onsets is None else onsets.get((s["record"], s["seizure_index"]), [])
        truth = [c for c in listed if c in channels]
        entry.update(onset_channels=truth, ranking=ranking)
        if truth:
            entry.update(topk_accuracy(ranking, truth, scores=scores))
        per.append(entry)
    return {
        "run_dir": str(run),
        "system": FOCAL_SYSTEM,
        "method": cfg.get("method"),
        "seed": cfg.get("seed"),
        "readout": cfg.get("readout"),
        "metrics": summarise(per),
        "per_seizure": per,
    }

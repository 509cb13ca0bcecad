"""CLD-Trans training run: stage 1 (motif VQ-VAE + LD-SEM, no labels) and stage 2 (graph-ODE fine-tuning).

``python -m biodyn.cldtrans mode=stage1 train.max_steps=1`` composes ``biodyn/configs/cldtrans/``
(``profile=cpu|gpu``, ``ablation=none|no_vq|no_lag|integer_lag|no_ode``) and calls :func:`run_cldtrans`:
the corpora's window caches are built (or reused), windows are drawn in blocks of one modality (EEG
64 x 1600 and ECG 12 x 5000 windows never share a batch), and the :class:`~biodyn.train.trainer.Trainer`
runs ``model.forward_loss`` (every term logged on its own) with accumulation up to ``effective_batch``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from biodyn.errors import ConfigError, check_option
from biodyn.models import InputSpec
from biodyn.systems.cldtrans.config import ABLATIONS, MODALITY, CLDTransData, CLDTransRun, compose

__all__ = [
    "ABLATIONS",
    "CLDTransData",
    "CLDTransRun",
    "ModalityBlocks",
    "build_windows",
    "compose",
    "run_cldtrans",
]


class ModalityBlocks(Dataset):
    """Item ``k`` = a block of ``block`` windows of one corpus: ``x`` ``(block, C, T)``, ``modality``
    (index into ``modalities``), ``fs``. Blocks are drawn without replacement per corpus (seeded).

    The blocks are drawn once and the Trainer reshuffles only their order each epoch. This is not
    :class:`~biodyn.train.data.GroupedBatchSampler` (which draws new batches of a group every epoch) on
    purpose: switching would change the training order of the recorded CLD-Trans runs, and
    :func:`~biodyn.systems.cldtrans.evaluate.evaluate_cldtrans_run` averages over these same blocks."""

    def __init__(
        self,
        parts: list[tuple[Any, int, float, str]],
        block: int,
        seed: int = 0,
        max_channels: int | None = None,
    ):
        self.parts, self.max_channels = parts, max_channels
        rng = np.random.default_rng(seed)
        self.blocks: list[tuple[int, np.ndarray]] = []
        for p, (ds, _, _, name) in enumerate(parts):
            if len(ds) == 0:
                raise ConfigError(f"data: corpus {name} has no windows")
            perm = rng.permutation(len(ds))
            b = min(block, len(ds))
            self.blocks += [(p, perm[s : s + b]) for s in range(0, len(perm) - b + 1, b)]

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, k: int) -> dict[str, Any]:
        p, idx = self.blocks[k]
        ds, mod, fs, name = self.parts[p]
        xs = []
        for i in idx:
            item = ds[int(i)]
            x = item["x"][: self.max_channels] if self.max_channels else item["x"]
            if not torch.isfinite(x).all():
                meta = item.get("meta", {})
                raise ConfigError(
                    f"{name}: NaN/Inf in window {int(i)} (record {meta.get('record_id')}, "
                    f"start {meta.get('start')}); rebuild the cache or drop the record"
                )
            xs.append(x)
        return {"x": torch.stack(xs), "modality": torch.tensor(mod), "fs": torch.tensor(float(fs))}


def build_windows(run: CLDTransRun) -> list[tuple[Any, int, float, str]]:
    """Window caches of ``run.data.corpora`` -> ``[(WindowDataset, modality index, fs, corpus)]``."""
    from biodyn.cache import WindowDataset, build_cache
    from biodyn.data_root import data_root
    from biodyn.datasets import get_corpus

    d, m = run.data, run.model
    cache_root = Path(d.cache_dir or Path(run.train.out_dir) / "cache")
    parts = []
    for name in d.corpora:
        check_option("data.corpora", name, tuple(MODALITY))
        modality = MODALITY[name]
        if modality not in m.modalities:
            raise ConfigError(f"data: {name} is {modality}, not among model.modalities {m.modalities}")
        root = d.roots.get(name) or (data_root(required=True) / name)
        if not Path(root).exists():
            raise ConfigError(
                f"data: {name} not found at {root} (set +data.roots.{name}=DIR or drop it from data.corpora)"
            )
        fs = m.modality_fs[m.modalities.index(modality)]
        corpus = get_corpus(name, root, fs=fs)
        pre = corpus.default_preprocess
        if pre.fs != fs:
            raise ConfigError(
                f"data: {name} is preprocessed to {pre.fs} Hz but model.modality_fs gives {modality} "
                f"{fs} Hz: windows at mixed rates would reach the model without resampling"
            )
        refs = corpus.records()
        keep = d.splits.get(name)
        if keep:
            have = sorted({str(r.split) for r in refs})
            refs = [r for r in refs if r.split in keep]
            if not refs:
                raise ConfigError(
                    f"data.splits.{name}: no {name} record in split(s) {', '.join(keep)} "
                    f"(its records' splits: {', '.join(have)})"
                )
        ids = sorted(r.record_id for r in refs)
        out = cache_root / name
        ids = ids[: d.limit] if d.limit else ids
        report = build_cache(
            corpus, out, window_s=d.window_s, stride_s=d.window_s, records=ids, progress=False
        )
        if report.all_failed:
            raise ConfigError(f"data: no record of {name} could be cached: {report.failed}")
        ds = WindowDataset(out, records=ids)  # a cache shared with other runs may hold more records
        if abs(ds.fs - fs) > 1e-6:
            raise ConfigError(
                f"data: cache {out} holds {ds.fs} Hz windows, not {fs} Hz ({modality}); rebuild it"
            )
        parts.append((ds, m.modalities.index(modality), fs, name))
    return parts


def check_run(run: CLDTransRun, *, force: bool = False) -> None:
    """The checks that need no data, before any cache is built or anything written: the device exists,
    ``train.out_dir`` (and ``data.cache_dir``) are writable folders, the stage folder
    ``<train.out_dir>/<mode>`` holds no run unless ``train.resume=true`` (continue it) or ``force`` (replace
    it), and stage 2 has its stage-1 checkpoint (``init_from`` or ``<train.out_dir>/stage1/checkpoints/last``):
    training stage 2 from an untrained tokenizer is refused, not warned about."""
    from biodyn.models._pretrained import resolve_checkpoint
    from biodyn.rundir import check_device, check_out_dir, existing_run

    check_device(run.train.device, "train.device")
    check_out_dir(run.train.out_dir, "train.out_dir")
    stage = Path(run.train.out_dir) / run.mode
    check_out_dir(stage, "train.out_dir")
    if force and run.train.resume:
        raise ConfigError(
            "train.resume=true and --force exclude each other: resume continues the run, --force replaces it"
        )
    found = existing_run(stage)
    if found and not run.train.resume and not force:
        raise ConfigError(
            f"train.out_dir={run.train.out_dir}: its {run.mode} folder {stage} already holds a run "
            f"({', '.join(found)}); add train.resume=true to continue it or --force to replace it"
        )
    if run.data.cache_dir:
        check_out_dir(run.data.cache_dir, "data.cache_dir")
    if run.mode == "stage2":
        init = (
            Path(run.init_from)
            if run.init_from
            else Path(run.train.out_dir) / "stage1" / "checkpoints" / "last"
        )
        if resolve_checkpoint(init) is None:
            key = "init_from" if run.init_from else "mode=stage2"
            raise ConfigError(
                f"{key}: no stage-1 checkpoint at {init}; train mode=stage1 into the same "
                "train.out_dir first, or give init_from=DIR"
            )


def _ablate(run: CLDTransRun) -> None:
    m = run.model
    if run.ablation == "no_vq":
        m.use_vq = False
    elif run.ablation == "no_lag":
        m.lag_mode = "zero"
    elif run.ablation == "integer_lag":
        m.lag_mode = "integer"
    elif run.ablation == "no_ode":
        m.use_ode = False


def run_cldtrans(run: CLDTransRun, *, parts=None, force: bool = False) -> dict[str, Any]:
    """Train one stage; writes ``<train.out_dir>/<mode>/`` (checkpoints, log.jsonl, config.yaml,
    results.json) and returns a :class:`~biodyn.train.result.RunResult` (the results dict, ``.model``,
    ``.run_dir``). A stage folder that already holds a run is continued with ``train.resume=true``, replaced
    with ``force`` (its run files only; ``--force`` on the command line) and refused otherwise."""
    import copy
    from dataclasses import asdict

    from omegaconf import OmegaConf

    from biodyn.atomic import atomic_write_json, atomic_write_text
    from biodyn.models import create_model
    from biodyn.models._pretrained import read_state, resolve_checkpoint
    from biodyn.provenance import git_commit, versions
    from biodyn.train.checkpoint import load_checkpoint
    from biodyn.train.seed import seed_everything
    from biodyn.train.trainer import Trainer

    run = copy.deepcopy(run)
    check_run(run, force=force)
    if force:  # the old stage run goes (on rank 0), nothing else in the folder
        from biodyn.rundir import clear_run

        clear_run(Path(run.train.out_dir) / run.mode)
    _ablate(run)
    seed_everything(run.train.seed)
    parts = parts if parts is not None else build_windows(run)
    base = Path(run.train.out_dir)
    out_dir = base / run.mode
    world = int(os.environ.get("WORLD_SIZE", "1"))
    micro = run.train.batch_size
    if run.effective_batch:
        if run.effective_batch % (micro * world):
            raise ConfigError(
                f"effective_batch={run.effective_batch} is not a multiple of train.batch_size "
                f"({micro}) x world size ({world})"
            )
        run.train.accum_steps = run.effective_batch // (micro * world)
    blocks = ModalityBlocks(parts, micro, seed=run.train.seed, max_channels=run.data.max_channels)
    if len(blocks) < world:
        raise ConfigError(f"data: {len(blocks)} blocks of {micro} windows for {world} ranks; add records")
    fs0 = parts[0][2]
    x0 = blocks[0]["x"]
    trained = sorted({run.model.modalities[p[1]] for p in parts})
    mcfg = {
        "n_chans": int(x0.shape[1]),
        "n_outputs": 1,
        "n_times": int(x0.shape[-1]),
        "sfreq": float(fs0),
        **asdict(run.model),
    }
    model = create_model("cldtrans", **mcfg)
    model.input_spec = InputSpec(modalities=trained)  # recorded in the checkpoints
    init = None
    if run.mode == "stage2":
        init = Path(run.init_from) if run.init_from else base / "stage1" / "checkpoints" / "last"
        folder = resolve_checkpoint(init)
        if folder is None:
            raise ConfigError(f"init_from={init}: no checkpoint there")  # check_run says it first
        else:
            st = read_state(folder, model_name="cldtrans")
            _check_compatible(st, mcfg, trained, folder)
            load_checkpoint(folder, model=model, model_name="cldtrans", restore_rng=False)
            init = str(folder)
        model.set_stage("stage2")
    tcfg = copy.deepcopy(run.train)
    tcfg.out_dir = str(out_dir)
    tcfg.batch_size = 1  # one block of `micro` windows per micro-batch
    # under DDP: a stage leaves parts unused (stage 1 the graph ODE and the task head; a block of one modality
    # the other modality's embedding), so the reducer must not wait for their gradients
    tcfg.find_unused_parameters = True
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(run)))
    trainer = Trainer(model, blocks, None, tcfg, model_name="cldtrans", model_config=mcfg)
    summary = trainer.fit()
    last = [r for r in trainer.history if r["kind"] == "train"]
    codebook = None
    if run.model.use_vq:  # codebook usage and perplexity on one block, after training
        was = model.training
        model.eval()
        with torch.no_grad():
            b0 = blocks[0]
            model.forward_loss({k: v.to(trainer.device) for k, v in b0.items()})
        codebook = model.codebook_stats()
        model.train(was)
    result = {
        "system": "CLD-Trans",
        "mode": run.mode,
        "ablation": run.ablation,
        "seed": run.train.seed,
        "init_from": init,
        "corpora": [p[3] for p in parts],
        "n_windows": {p[3]: len(p[0]) for p in parts},
        "micro_batch": micro,
        "world_size": world,
        "accum_steps": run.train.accum_steps,
        "train_summary": summary,
        "last_train_row": last[-1] if last else None,
        "codebook": codebook,
        "config": OmegaConf.to_container(OmegaConf.structured(run)),
        "git_commit": git_commit(),
        "versions": versions(),
    }
    if trainer.rank == 0:
        atomic_write_json(out_dir / "results.json", result)
    from biodyn.train.result import RunResult

    return RunResult(result, model=model, run_dir=out_dir)  # .model, .run_dir beside the results


def _check_compatible(state: dict, new: dict, new_trained: list[str], folder) -> None:
    """Stage 2 must start from a stage-1 model of the same architecture and modalities (``state``: the
    stage-1 checkpoint's; older ones kept the trained modalities in the model config)."""
    saved = state.get("model_config") or {}
    keys = (
        "codebook_size",
        "latent_dim",
        "hidden",
        "downsample",
        "use_vq",
        "modalities",
        "modality_fs",
        "tau_max_s",
        "lag_hidden",
        "lag_embed_dim",
        "use_ode",
        "ode_hidden",
    )
    diff = {k: (saved.get(k), new.get(k)) for k in keys if k in saved and saved.get(k) != new.get(k)}
    if diff:
        raise ConfigError(f"{folder}: stage-1 checkpoint differs from this config in {diff} (saved, now)")
    trained = (state.get("input_spec") or {}).get("modalities", saved.get("trained_modalities"))
    if trained is not None and not set(new_trained) <= set(trained):
        raise ConfigError(
            f"{folder}: checkpoint trained on {trained}, stage 2 data is "
            f"{new_trained}: a checkpoint of another modality"
        )

"""The training loop shared by every model."""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, Subset

from biodyn.atomic import dumps_json
from biodyn.errors import ConfigError, check_option
from biodyn.models._pretrained import resolve_checkpoint
from biodyn.train.checkpoint import load_checkpoint, save_checkpoint
from biodyn.train.config import TrainConfig, validate_train_config
from biodyn.train.data import IndexBatchSampler, ResumableBatchSampler, eval_batches, make_loader
from biodyn.train.nan_guard import NonFiniteError, install_nan_hooks, nan_debug_enabled
from biodyn.train.optim import lr_at, param_groups
from biodyn.train.tasks import get_task


def _to(batch: dict, device) -> dict:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


class Objective(nn.Module):
    """The named loss terms of one batch: the model's ``forward_loss(batch)`` when it has one (and
    ``objective="model"``), else ``{"task": task.loss(model(batch["x"]), batch)}``. A module so that DDP wraps
    the whole objective."""

    def __init__(self, model: nn.Module, task, objective: str = "model"):
        super().__init__()
        self.model, self.task = model, task
        self.custom = objective == "model" and callable(getattr(model, "forward_loss", None))

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        if self.custom:
            terms = self.model.forward_loss(batch)
            if not isinstance(terms, dict) or not terms:
                raise TypeError(
                    f"{type(self.model).__name__}.forward_loss must return a non-empty dict of "
                    f"named scalar losses, got {type(terms).__name__}"
                )
            return terms
        return {"task": self.task.loss(self.model(batch["x"]), batch)}


def check_task_fits(model: nn.Module, task, name: str | None = None) -> None:
    """``train.task`` scores the output kind the model declares (``clip`` or ``per_sample``)."""
    output = getattr(model, "output", None)
    if output is not None and output != task.output:
        fits = "per_sample" if output == "per_sample" else "multiclass or multilabel"
        raise ConfigError(
            f"train.task={task.name!r} scores {task.output} outputs but model {name or type(model).__name__!r} "
            f"outputs {output!r}; use train.task={fits}"
        )


class Trainer:
    """AdamW + warmup/cosine, clipping, accumulation, bf16 autocast on CUDA, eval/early stopping,
    checkpoints (``last``/``best``) with exact resume, tensorboard + JSONL logs, DDP when
    ``torch.distributed`` is initialised.

    Args:
        model: a module mapping ``x`` ``(B, C, T)`` to logits.
        train_ds / val_ds: datasets whose items are dicts (``x``, ``y``, optional ``mask``, ``meta``).
        cfg: :class:`TrainConfig`.
        model_name / model_config: recorded in checkpoints (a checkpoint of another model is refused).
            A model built by ``create_model`` knows both: its checkpoints always record its full
            ``init_config()`` (the signal's shape included, so that ``from_pretrained`` rebuilds it), and
            ``model_config`` is used only for a module without ``init_config``. The model's ``input_spec``
            is recorded too.
        extra_state: JSON-able, stored in every checkpoint's ``state.json`` under ``"extra"`` (e.g. the
            preprocessing and montage a detector needs at inference).
        extra_eval: called with the model at every evaluation; the ``val_*`` metrics it returns join the
            evaluation's (logged, and usable as ``train.early_stop_metric``).
        batch_sampler: the training batches instead of ``train.sampler``'s (it must already take its DDP
            rank's share and be resumable: ``position``, ``seed``, ``state_dict``/``load_state_dict``, as
            :class:`~biodyn.train.data.GroupedBatchSampler` is).
    """

    def __init__(
        self,
        model: nn.Module,
        train_ds: Dataset,
        val_ds: Dataset | None = None,
        cfg: TrainConfig | None = None,
        *,
        model_name: str | None = None,
        model_config: dict[str, Any] | None = None,
        parameters=None,
        labels=None,
        extra_state: dict[str, Any] | None = None,
        extra_eval=None,
        batch_sampler=None,
    ):
        self.cfg = cfg = validate_train_config(cfg or TrainConfig())
        self.task = get_task(cfg.task)
        check_task_fits(model, self.task, model_name)
        self.task.bind(cfg=cfg, val_ds=val_ds)
        self.distributed = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        if cfg.device == "auto":
            self.device = torch.device(
                f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu"
            )
        else:
            self.device = torch.device(cfg.device)
        self.model = model.to(self.device)
        self.extra_state = extra_state or {}
        self.extra_eval = extra_eval
        self.objective = Objective(self.model, self.task, cfg.objective)
        # a model built by create_model knows its name and the arguments that rebuild it
        self.model_name = model_name or getattr(model, "model_name", None)
        self._given_config = model_config
        self.train_ds, self.val_ds = train_ds, val_ds
        self.out_dir = Path(cfg.out_dir)
        self.amp = cfg.precision == "bf16" or (cfg.precision == "auto" and self.device.type == "cuda")
        params = parameters if parameters is not None else self.model
        groups = param_groups(params, cfg.weight_decay) if isinstance(params, nn.Module) else params
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas))
        self.ddp_objective = self.objective
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp_objective = DistributedDataParallel(
                self.objective, device_ids=ids, find_unused_parameters=cfg.find_unused_parameters
            )
        check_option("train.sampler", cfg.sampler, ("uniform", "balanced", "sequential"))
        if batch_sampler is not None:  # e.g. a GroupedBatchSampler: one modality per batch
            self.sampler = batch_sampler
        elif cfg.sampler == "balanced":
            from biodyn.cache import BalancedSampler

            labels = labels if labels is not None else getattr(train_ds, "labels", None)
            if labels is None:
                raise ConfigError(
                    "train.sampler=balanced needs window labels (pass labels= or a dataset with .labels)"
                )
            index_sampler = BalancedSampler(
                labels,
                positive_ratio=cfg.positive_ratio,
                seed=cfg.seed,
                rank=self.rank,
                world_size=self.world,
            )
            self.sampler = IndexBatchSampler(index_sampler, cfg.batch_size)
        else:
            self.sampler = ResumableBatchSampler(
                len(train_ds),
                cfg.batch_size,
                seed=cfg.seed,
                rank=self.rank,
                world_size=self.world,
                shuffle=cfg.sampler != "sequential",
            )
        self.step = 0
        self.data_position = 0
        self.best: float | None = None
        self.bad_evals = 0
        self.history: list[dict] = []
        self._writer = None
        self._wandb = None
        self._log = None

    # ----------------------------------------------------------------------------------- state
    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def model_config(self) -> dict[str, Any]:
        """What checkpoints record to rebuild the model: its ``init_config()`` now (after any ``reset_head``),
        else the ``model_config`` given."""
        init_config = getattr(self.model, "init_config", None)
        return init_config() if callable(init_config) else dict(self._given_config or {})

    def _state(self) -> dict[str, Any]:
        spec = getattr(self.model, "input_spec", None)
        return {
            "model_name": self.model_name,
            "model_config": self.model_config,
            "input_spec": spec.to_dict() if hasattr(spec, "to_dict") else spec,
            "step": self.step,
            # batches consumed, not drawn: worker prefetching draws ahead of what was trained on
            "sampler": {"position": self.data_position, "seed": self.sampler.seed},
            "best": self.best,
            "bad_evals": self.bad_evals,
            "train_config": asdict(self.cfg),
            "extra": self.extra_state,
        }

    def save(self, which: str) -> None:
        if self.is_main:
            save_checkpoint(
                self.out_dir / "checkpoints" / which,
                model=self.model,
                optimizer=self.optimizer,
                state=self._state(),
            )
        if self.distributed:
            dist.barrier()

    def resume(self, which: str = "last") -> bool:
        folder = resolve_checkpoint(self.out_dir / "checkpoints" / which)
        if folder is None:
            if self.is_main:
                import sys

                print(
                    f"train.resume=true: no checkpoint in {self.out_dir / 'checkpoints' / which}; starting fresh",
                    file=sys.stderr,
                )
            return False
        st = load_checkpoint(folder, model=self.model, optimizer=self.optimizer, model_name=self.model_name)
        self.step = int(st["step"])
        self.sampler.load_state_dict(st["sampler"])
        self.data_position = self.sampler.position
        self.best, self.bad_evals = st["best"], int(st["bad_evals"])
        return True

    # ----------------------------------------------------------------------------------- logging
    def _open_logs(self) -> None:
        """Open ``log.jsonl`` (and tensorboard) so that each step is logged once: a fresh run starts an empty
        log, a resumed one drops the rows past the checkpoint's step (a killed run logged them, and they are
        trained again)."""
        if not self.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        log = self.out_dir / "log.jsonl"
        kept = []
        if self.step > 0 and log.exists():
            for line in log.read_text().splitlines():
                try:
                    row = json.loads(line)
                except ValueError:  # a line cut short by the kill
                    continue
                if isinstance(row, dict) and int(row.get("step", 0)) <= self.step:
                    kept.append(line + "\n")
        from biodyn.atomic import atomic_write_text

        atomic_write_text(log, "".join(kept))
        self._log = open(log, "a")
        if self.cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step drops the killed run's events past the checkpoint
            self._writer = SummaryWriter(
                str(self.out_dir / "tb"), purge_step=self.step + 1 if self.step else None
            )
        if self.cfg.wandb_project:
            self._wandb = _wandb_run(self.cfg, self.out_dir, self.model_name)

    def _emit(self, row: dict) -> None:
        self.history.append(row)
        if not self.is_main:
            return
        if self._log is not None:
            self._log.write(dumps_json(row) + "\n")  # NaN (e.g. grad_norm without clipping) -> null
            self._log.flush()
        scalars = {
            f"{row['kind']}/{k}": v
            for k, v in row.items()
            if k not in ("step", "kind") and isinstance(v, (int, float)) and math.isfinite(v)
        }
        if self._writer is not None:
            for k, v in scalars.items():
                self._writer.add_scalar(k, v, row["step"])
        if self._wandb is not None:
            self._wandb.log(scalars, step=row["step"])

    def _close_logs(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None

    # ----------------------------------------------------------------------------------- loss
    def combine(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``sum(train.loss_weights.get(name, 1) * term)``; a weight naming no term is a ConfigError."""
        weights = self.cfg.loss_weights or {}
        unknown = set(weights) - set(terms)
        if unknown:
            raise ConfigError(
                f"train.loss_weights names {sorted(unknown)}, which the model does not return; "
                f"its loss terms: {sorted(terms)}"
            )
        return sum(float(weights.get(k, 1.0)) * v.float() for k, v in terms.items())

    # ----------------------------------------------------------------------------------- eval
    @torch.no_grad()
    def evaluate(self, ds: Dataset | None = None, prefix: str = "val") -> dict[str, float]:
        """Mean loss (and, for a model with ``forward_loss``, each term as ``loss_<name>``) and the task's
        metrics over ``ds``. A model with ``forward_loss`` is scored on ``model(x)`` when the batches hold
        the task's target. Under DDP each rank scores every ``world``-th example and the parts are gathered
        in the original order, so every rank returns the single-process result."""
        ds = ds if ds is not None else self.val_ds
        was = self.model.training
        self.model.eval()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        probs, targets = [], []
        n_total = len(ds)
        if self.distributed:
            ds = Subset(ds, range(self.rank, n_total, self.world))
        for batch in eval_batches(ds, self.cfg.batch_size):
            batch = _to(batch, self.device)
            n = len(batch["x"])
            scored = self.task.target_key in batch
            with self._autocast():
                if self.objective.custom:
                    terms = self.objective(batch)
                    logits = self.model(batch["x"]) if scored else None
                else:
                    logits = self.model(batch["x"])
                    terms = {"task": self.task.loss(logits, batch)}
                total = self.combine(terms)
            named = {
                "loss": total,
                **({f"loss_{k}": v for k, v in terms.items()} if self.objective.custom else {}),
            }
            # a term some batches lack (e.g. one per modality) averages over its own
            for k, v in named.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
                counts[k] = counts.get(k, 0) + n
            if logits is not None:
                probs.append(self.task.probs(logits).cpu().numpy())
                targets.append(self.task.target(batch).float().cpu().numpy())
        self.model.train(was)
        if self.distributed:
            parts = [None] * self.world
            dist.all_gather_object(parts, (sums, counts, probs, targets))
            keys = sorted({k for p in parts for k in p[0]})
            sums = {k: sum(p[0].get(k, 0.0) for p in parts) for k in keys}
            counts = {k: sum(p[1].get(k, 0) for p in parts) for k in keys}
            if probs:
                probs = _interleave([np.concatenate(p[2]) for p in parts], n_total)
                targets = _interleave([np.concatenate(p[3]) for p in parts], n_total)
        elif probs:
            probs, targets = np.concatenate(probs), np.concatenate(targets)
        out = {k: v / max(counts[k], 1) for k, v in sums.items()}
        if len(probs):
            out.update(self.task.metrics(probs, targets))
        return {f"{prefix}_{k}": v for k, v in out.items()}

    def _autocast(self):
        if self.amp:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _improved(self, value: float) -> bool:
        if self.best is None or not math.isfinite(self.best):
            return math.isfinite(value)
        return value < self.best if self.cfg.early_stop_mode == "min" else value > self.best

    # ----------------------------------------------------------------------------------- fit
    def fit(self, stop_at: int | None = None) -> dict[str, Any]:
        """Train until ``max_steps`` (or early stopping; ``stop_at`` ends early without changing the
        schedule, as if the job were killed after a checkpoint). Returns a summary dict."""
        cfg = self.cfg
        if cfg.resume:
            self.resume("last")
        self._open_logs()
        hooks = install_nan_hooks(self.model) if nan_debug_enabled() else []
        end = min(cfg.max_steps, stop_at) if stop_at is not None else cfg.max_steps
        loader = iter(make_loader(self.train_ds, self.sampler, cfg.num_workers))
        bar = None
        if cfg.progress and self.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.max_steps, initial=self.step, desc="train", dynamic_ncols=True)
        stopped = "max_steps"
        self.model.train()
        t0, seen = time.perf_counter(), 0
        try:
            while self.step < end:
                lr = lr_at(
                    self.step,
                    lr=cfg.lr,
                    warmup_steps=cfg.warmup_steps,
                    max_steps=cfg.max_steps,
                    min_lr_ratio=cfg.min_lr_ratio,
                )
                for g in self.optimizer.param_groups:
                    g["lr"] = lr
                total = 0.0
                term_sums: dict[str, torch.Tensor] = {}
                for micro in range(cfg.accum_steps):
                    batch = _to(next(loader), self.device)
                    self.data_position += 1
                    self.task.step = self.step
                    sync = micro == cfg.accum_steps - 1 or not self.distributed
                    ctx = contextlib.nullcontext() if sync else self.ddp_objective.no_sync()
                    with ctx:
                        with self._autocast():
                            terms = self.ddp_objective(batch)
                        loss = self.combine(terms)
                        if not torch.isfinite(loss):
                            bad = {k: float(v.detach()) for k, v in terms.items()}
                            raise NonFiniteError(
                                f"non-finite loss ({float(loss.detach())}; terms {bad}) at step {self.step}; "
                                "rerun with BIODYN_NAN_DEBUG=1 to find the first non-finite module"
                            )
                        (loss / cfg.accum_steps).backward()
                    total += float(loss.detach()) / cfg.accum_steps
                    if self.objective.custom:
                        for k, v in terms.items():
                            term_sums[k] = term_sums.get(k, 0.0) + v.detach().float() / cfg.accum_steps
                    seen += len(batch["x"]) * self.world
                gnorm = float("nan")
                if cfg.grad_clip > 0:
                    gnorm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip))
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step += 1
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total:.4f}", samples_s=f"{rate:.0f}")
                if self.step % cfg.log_every == 0 or self.step == end:
                    self._emit(
                        {
                            "kind": "train",
                            "step": self.step,
                            "loss": total,
                            **{f"loss_{k}": float(v) for k, v in term_sums.items()},
                            "lr": lr,
                            "grad_norm": gnorm,
                            "samples_per_s": rate,
                        }
                    )
                stop = False
                if self.val_ds is not None and cfg.eval_every > 0 and self.step % cfg.eval_every == 0:
                    metrics = self.evaluate()
                    if self.extra_eval is not None:
                        metrics.update(self.extra_eval(self.model))
                    self._emit({"kind": "eval", "step": self.step, **metrics})
                    key = cfg.early_stop_metric
                    if key not in metrics:
                        raise ConfigError(f"train.early_stop_metric={key!r} not among {sorted(metrics)}")
                    if self._improved(metrics[key]):
                        self.best, self.bad_evals = metrics[key], 0
                        self.save("best")
                    else:
                        self.bad_evals += 1
                        if cfg.patience > 0 and self.bad_evals >= cfg.patience:
                            stop, stopped = True, "early_stopping"
                if (cfg.ckpt_every > 0 and self.step % cfg.ckpt_every == 0) or self.step == end or stop:
                    self.save("last")
                if stop:
                    break
            if stop_at is not None and self.step >= stop_at and self.step < cfg.max_steps:
                stopped = "stop_at"
        finally:
            for h in hooks:
                h.remove()
            if bar is not None:
                bar.close()
            self._close_logs()
        return {"step": self.step, "stopped": stopped, "best": self.best, "metric": cfg.early_stop_metric}


def _interleave(parts: list[np.ndarray], n_total: int) -> np.ndarray:
    """Rank ``r`` scored examples ``r, r + world, ...``: put them back in order."""
    out = np.empty((n_total, *parts[0].shape[1:]), parts[0].dtype)
    for r, part in enumerate(parts):
        out[r :: len(parts)] = part
    return out


def _wandb_run(cfg: TrainConfig, out_dir: Path, model_name: str | None):
    """A Weights & Biases run for ``cfg.wandb_project`` under ``out_dir/wandb``; a resumed training run continues
    the same W&B run (its id is kept in ``out_dir/wandb_run_id``). ``WANDB_MODE=offline`` logs without a
    network (``wandb sync`` uploads later)."""
    try:
        import wandb
    except ImportError:
        raise ConfigError(
            f"wandb_project={cfg.wandb_project!r} needs Weights & Biases: pip install 'biodyn[wandb]'"
        ) from None
    import secrets

    from biodyn.atomic import atomic_write_text

    id_file = out_dir / "wandb_run_id"
    run_id = id_file.read_text().strip() if cfg.resume and id_file.is_file() else secrets.token_hex(4)
    atomic_write_text(id_file, run_id + "\n")
    return wandb.init(
        project=cfg.wandb_project,
        dir=str(out_dir),
        id=run_id,
        resume="allow",
        name=f"{model_name or 'model'}-{out_dir.name}",
        config=asdict(cfg),
    )

"""Training PRISM (and its baselines) on ECG, images and audio: the library behind ``biodyn prism``.

``run_prism(PrismRunConfig(...))`` loads one modality's data (or all of them for ``mode="joint"``), builds the
model from the registry, trains it epoch by epoch with :class:`~biodyn.train.Trainer` (AdamW + warmup/cosine,
checkpoints, exact resume, tensorboard, DDP under torchrun), evaluates the best checkpoint on the test split
and writes the run folder every system writes into ``output_dir``: ``config.yaml`` (the resolved run config,
``system: prism``), ``checkpoints/best|last``, ``log.jsonl``, ``results.json``, and ``curves.png``. The model
carries what prediction needs in its ``input_spec`` (input form, feature settings, the training split's
normalisation statistics): :func:`biodyn.systems.prism.predict` applies it to new files or arrays.

Splits (validation always from the training part, never from the test set):

* ecg: PTB-XL 5 superclasses (multi-hot, BCE), official ``strat_fold`` 1-8 train, 9 val, 10 test; records
  without a diagnostic superclass left out; leads standardised with the training set's mean and std.
  Metrics: macro-AUROC over the 5 classes (the PTB-XL benchmark's) and accuracy on the single-label records.
* image: CIFAR-10 pickles or image folder; official train/test; 10 % of each training class is validation.
  Images standardised with CIFAR-10's channel statistics and cut into ``patch_size`` patches
  (4x4x3 = 48 values, 64 tokens); ``augment`` adds random crop (4-pixel zero padding) + horizontal flip.
* audio: FSDD (repetitions 0-4 test, 5-9 validation, 10-49 train) or class folders (see
  :mod:`biodyn.datasets.audio`); log-mel frames standardised per mel bin with training statistics.
* ``data="synthetic"``: random class-templated sequences of the modality's token shape and label kind (ecg
  ``(12, 1000)``, 5 multi-hot classes; image ``(48, 64)`` and audio ``(n_mels, n_frames)``, 10 classes); no
  files, not real data.

Models see ``(B, C, T)``: C = token width (12 leads, 48 patch values, n_mels), T = tokens.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from biodyn.errors import ConfigError, DataRootError, NothingMatchedError, check_option
from biodyn.provenance import git_commit, versions
from biodyn.systems.prism.config import MODALITIES, PrismRunConfig
from biodyn.systems.prism.plot import plot_curves
from biodyn.train.result import RunResult


# ---------------------------------------------------------------------------------------------- data
@dataclass
class ModalityData:
    name: str
    task: str  # multiclass | multilabel
    classes: list[str]
    train: Dataset
    val: Dataset
    test: Dataset
    n_chans: int
    n_times: int
    sfreq: float
    source: str
    splits: str
    spec: dict[str, Any] | None = None  # the model's input spec: what prediction on new data needs


def _norm(mean: np.ndarray, std: np.ndarray) -> dict[str, list[float]]:
    return {"mean": [float(v) for v in np.ravel(mean)], "std": [float(v) for v in np.ravel(std)]}


class SequenceDataset(Dataset):
    """``x`` ``(N, C, T)`` float32 and ``y`` (``(N,)`` int64 or ``(N, K)`` float32) -> ``{"x", "y"}``."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
        self.labels = self.y if self.y.ndim == 1 else None

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"x": self.x[i], "y": self.y[i]}


class PatchDataset(Dataset):
    """Standardised images ``(N, H, W, 3)`` -> patch tokens ``(p p 3, (H/p)(W/p))`` per item, with optional
    random crop (4-pixel zero padding) and horizontal flip."""

    def __init__(self, images: np.ndarray, y: np.ndarray, patch: int, augment: bool):
        # (N,3,H,W)
        self.images = torch.as_tensor(images, dtype=torch.float32).permute(0, 3, 1, 2).contiguous()
        self.y, self.patch, self.augment = torch.as_tensor(y), patch, augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        img = self.images[i]
        if self.augment:
            _, h, w = img.shape
            padded = torch.nn.functional.pad(img, (4, 4, 4, 4))
            dy, dx = (int(v) for v in torch.randint(0, 9, (2,)))
            img = padded[:, dy : dy + h, dx : dx + w]
            if torch.rand(()) < 0.5:
                img = img.flip(-1)
        p = self.patch
        c, h, w = img.shape
        tok = img.reshape(c, h // p, p, w // p, p).permute(1, 3, 2, 4, 0).reshape(-1, p * p * c)  # (L, p p C)
        return {"x": tok.t().contiguous(), "y": self.y[i]}


def stratified_subset(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices (in their original order) of a seeded subset of at most ``n`` of the items labelled ``y``,
    about ``n / K`` of each of the ``K`` classes (a class with fewer gives all it has, the others the rest);
    every index when ``n`` is None or 0. For ``--limit``: the lists are sorted by class, so their first ``n``
    items would be one or two classes."""
    if not n or n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(y == k)) for k in rng.permutation(np.unique(y))]
    depth = max(len(c) for c in per_class)
    round_robin = [c[i] for i in range(depth) for c in per_class if i < len(c)]
    return np.sort(np.asarray(round_robin[:n], dtype=np.int64))


def resolve_root(modality: str, data_root: str | None) -> Path:
    """The dataset folder: ``data_root`` itself when it holds the modality's dataset by its own marks
    (``ptbxl_database.csv``; CIFAR-10 pickles; FSDD-named files, in it or in ``recordings/``), else its
    ``ptbxl/``, ``cifar*/`` (``cifar10*`` first) or ``fsdd/`` child, else ``data_root`` as a class-folder
    dataset (``train/`` and ``test/``; ``<class>/*.wav``). The children come before the class-folder reading,
    so a parent holding ``fsdd/`` is never read as a dataset with one class ``fsdd``. Default: biodyn's data
    root."""
    from biodyn.data_root import data_root as default_root

    base = Path(data_root) if data_root else default_root()
    if base is None:
        raise DataRootError(
            "no data root: pass --data-root DIR (or set $BIODYN_DATA_ROOT), or use --data synthetic"
        )
    if not base.is_dir():
        raise DataRootError(f"--data-root {base} is not a directory")

    def marked(p: Path) -> bool:  # the dataset's own files: never a parent by accident
        if modality == "ecg":
            return (p / "ptbxl_database.csv").is_file()
        if modality == "image":
            from biodyn.datasets.cifar import find_pickles

            return find_pickles(p) is not None
        from biodyn.datasets.audio import _fsdd_root

        return _fsdd_root(p) is not None

    def class_folders(p: Path) -> bool:  # also what a parent of datasets can look like
        if modality == "ecg":
            return False
        if modality == "image":
            return (p / "train").is_dir() and (p / "test").is_dir()
        return any(p.glob("*/*.wav")) or any(p.glob("train/*/*.wav"))

    if marked(base):
        return base
    if modality == "image":  # cifar10*, other cifar* (cifar/cifar-10-batches-py/: PRISM's layout), cifar100*
        names = sorted(
            (d.name for d in base.glob("cifar*")),
            key=lambda n: (2 if n.startswith("cifar100") else 0 if n.startswith("cifar10") else 1, n),
        )
    else:
        names = {"ecg": ["ptbxl"], "audio": ["fsdd"]}[modality]
    for n in names:
        if (base / n).is_dir() and (marked(base / n) or class_folders(base / n)):
            return base / n
    if class_folders(base):
        return base
    expect = {
        "ecg": "ptbxl/ (ptbxl_database.csv)",
        "image": "cifar*/ (cifar-10-batches-py/ or train/<class>/)",
        "audio": "fsdd/ ({label}_{speaker}_{rep}.wav) or <class>/*.wav",
    }[modality]
    raise NothingMatchedError(f"{base}: no {modality} dataset found (expected it there or in {expect})")


def _synthetic(modality: str, cfg: PrismRunConfig) -> ModalityData:
    """Random class-templated sequences of the real data's token shape and label kind: ecg ``(12, 1000)`` with
    5 multi-hot classes (like PTB-XL's superclasses; about a quarter of the records mix two classes'
    sequences), image ``(48, 64)`` and audio ``(n_mels, n_frames)`` with 10 single-label classes."""
    from biodyn.datasets.audio import MelConfig, synthetic_mel

    shape = {"audio": (cfg.n_frames, cfg.n_mels), "image": (64, 48), "ecg": (1000, 12)}[modality]
    k = 5 if modality == "ecg" else 10
    n = cfg.limit or 400
    d = synthetic_mel(
        {"train": n, "val": max(n // 4, 1), "test": max(n // 4, 1)},
        k,
        MelConfig(n_frames=shape[0], n_mels=shape[1]),
        seed=cfg.seed,
    )
    if modality == "ecg":
        rng = np.random.default_rng(cfg.seed)
        for s in ("train", "val", "test"):
            x, y = d[s]["x"], d[s]["y"]
            other = rng.permutation(len(y))
            two = (rng.random(len(y)) < 1 / 3) & (y[other] != y)
            d[s]["x"] = np.where(two[:, None, None], (x + x[other]) / np.sqrt(2), x).astype(np.float32)
            d[s]["y"] = np.eye(k, dtype=np.float32)[y]
            d[s]["y"][two, y[other][two]] = 1.0
    sets = {s: SequenceDataset(d[s]["x"].transpose(0, 2, 1), d[s]["y"]) for s in ("train", "val", "test")}
    task = "multilabel" if modality == "ecg" else "multiclass"
    spec = {
        "input_form": FORMS[modality],
        "classes": list(d["classes"]),
        "modalities": [modality],
        "extra": {"synthetic": True, "n_chans": shape[1], "n_times": shape[0]},
    }
    return ModalityData(
        modality,
        task,
        d["classes"],
        sets["train"],
        sets["val"],
        sets["test"],
        shape[1],
        shape[0],
        1.0,
        "synthetic",
        "synthetic class-templated sequences (not real data)",
        spec,
    )


FORMS = {"ecg": "waveform", "image": "patches", "audio": "log-mel"}  # InputSpec.input_form per modality
SYNTHETIC_NOTE = "NOTE: --data synthetic: random class-templated sequences, not real data (smoke run only)"


def load_modality(modality: str, cfg: PrismRunConfig) -> ModalityData:
    """The train/val/test datasets of one modality (see the module docstring for the splits)."""
    check_option("modality", modality, MODALITIES)
    if cfg.data == "synthetic":
        return _synthetic(modality, cfg)
    root = resolve_root(modality, cfg.data_root)
    if modality == "ecg":
        from biodyn.datasets.ptbxl import superclass_arrays

        d = superclass_arrays(root, 100, limit=cfg.limit)
        mean = d["train"]["x"].mean(axis=(0, 2), keepdims=True)
        std = d["train"]["x"].std(axis=(0, 2), keepdims=True) + 1e-6
        sets = {s: SequenceDataset((d[s]["x"] - mean) / std, d[s]["y"]) for s in ("train", "val", "test")}
        n_times = d["train"]["x"].shape[-1]
        spec = {
            "input_form": "waveform",
            "sfreq": float(d["sfreq"]),
            "classes": list(d["classes"]),
            "modalities": ["ecg"],
            "feature_norm": _norm(mean, std),
            "window_s": n_times / float(d["sfreq"]),
            "extra": {"n_chans": 12, "n_times": n_times},
        }
        return ModalityData(
            "ecg",
            "multilabel",
            d["classes"],
            sets["train"],
            sets["val"],
            sets["test"],
            12,
            n_times,
            d["sfreq"],
            str(root),
            "PTB-XL strat_fold 1-8 train, 9 val, 10 test",
            spec,
        )
    if modality == "image":
        from biodyn.datasets.cifar import load_cifar, normalize, split_validation

        d = load_cifar(root)
        tr_idx, va_idx = split_validation(d["train"]["y"], 0.1, seed=0)
        parts = {
            "train": (d["train"]["x"][tr_idx], d["train"]["y"][tr_idx]),
            "val": (d["train"]["x"][va_idx], d["train"]["y"][va_idx]),
            "test": (d["test"]["x"], d["test"]["y"]),
        }
        if cfg.limit:
            keep = {s: stratified_subset(y, cfg.limit, cfg.seed) for s, (_, y) in parts.items()}
            parts = {s: (x[keep[s]], y[keep[s]]) for s, (x, y) in parts.items()}
        h, w = parts["train"][0].shape[1:3]
        if h % cfg.patch_size or w % cfg.patch_size:
            raise ConfigError(f"patch_size={cfg.patch_size} must divide the image size {h}x{w}")
        sets = {
            s: PatchDataset(normalize(x), y, cfg.patch_size, cfg.augment and s == "train")
            for s, (x, y) in parts.items()
        }
        from biodyn.datasets.cifar import CIFAR10_MEAN, CIFAR10_STD

        n_chans, n_times = cfg.patch_size**2 * 3, (h // cfg.patch_size) * (w // cfg.patch_size)
        spec = {
            "input_form": "patches",
            "classes": list(d["classes"]),
            "modalities": ["image"],
            "feature_norm": _norm(np.asarray(CIFAR10_MEAN), np.asarray(CIFAR10_STD)),
            "extra": {
                "patch_size": cfg.patch_size,
                "image_size": [int(h), int(w)],
                "n_chans": n_chans,
                "n_times": n_times,
            },
        }
        return ModalityData(
            "image",
            "multiclass",
            d["classes"],
            sets["train"],
            sets["val"],
            sets["test"],
            n_chans,
            n_times,
            1.0,
            str(root),
            "official train/test; 10 % of each training class held out for validation",
            spec,
        )
    from biodyn.datasets.audio import MelConfig, load_audio

    mc = MelConfig(n_mels=cfg.n_mels, n_frames=cfg.n_frames)
    d = load_audio(root, mc)
    for s in ("train", "val", "test"):
        if len(d[s]["y"]) == 0:
            raise NothingMatchedError(f"{root}: the audio {s} split is empty")
        i = stratified_subset(d[s]["y"], cfg.limit, cfg.seed)
        d[s] = {"x": d[s]["x"][i], "y": d[s]["y"][i], "files": [d[s]["files"][j] for j in i]}
    mean = d["train"]["x"].mean(axis=(0, 1), keepdims=True)
    std = d["train"]["x"].std(axis=(0, 1), keepdims=True) + 1e-6
    sets = {
        s: SequenceDataset(((d[s]["x"] - mean) / std).transpose(0, 2, 1), d[s]["y"])
        for s in ("train", "val", "test")
    }
    spec = {
        "input_form": "log-mel",
        "sfreq": mc.sample_rate / mc.hop,
        "classes": list(d["classes"]),
        "modalities": ["audio"],
        "feature_norm": _norm(mean, std),
        "extra": {"mel": asdict(mc), "n_chans": cfg.n_mels, "n_times": cfg.n_frames},
    }
    return ModalityData(
        "audio",
        "multiclass",
        d["classes"],
        sets["train"],
        sets["val"],
        sets["test"],
        cfg.n_mels,
        cfg.n_frames,
        mc.sample_rate / mc.hop,
        str(root),
        "FSDD: repetitions 0-4 test, 5-9 val, 10-49 train (class folders: see biodyn.datasets.audio)",
        spec,
    )


# ---------------------------------------------------------------------------------------------- model
def model_name(cfg: PrismRunConfig) -> str:
    if cfg.model != "prism":
        return cfg.model
    if cfg.block_pattern == "hybrid" and cfg.ffn == "moe":
        return "prism_moe"
    return {"hybrid": "prism", "s4": "prism_s4", "delta": "prism_delta"}[cfg.block_pattern]


def model_params(cfg: PrismRunConfig) -> dict[str, Any]:
    """Config overrides of the registered model from the run's width/depth flags."""
    if cfg.model == "prism":
        p = {"hidden_dim": cfg.hidden_dim, "num_layers": cfg.num_layers, "num_heads": cfg.num_heads}
        if cfg.ffn != "swiglu":
            p["ffn"] = cfg.ffn
    elif cfg.model == "transformer":
        p = {"d_model": cfg.hidden_dim, "depth": cfg.num_layers, "num_heads": cfg.num_heads}
    else:
        p = {}
    return {**p, **cfg.model_overrides}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _moe_counts(model: torch.nn.Module) -> dict[str, Any]:
    """For a model with MoE layers: its active (per-token) parameters and the assignments dropped under a
    capacity (none without one); nothing for other models."""
    from biodyn.nn.moe import moe_drop_stats, moe_modules, param_counts

    if not moe_modules(model):
        return {}
    return {"n_params_active": param_counts(model)["active"], "moe_drops": moe_drop_stats(model)}


# ---------------------------------------------------------------------------------------------- metrics
@torch.no_grad()
def predict(model, ds: Dataset, batch_size: int, device, forward=None) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``(N, K)`` and targets of ``ds`` (in order)."""
    from torch.utils.data import DataLoader

    was = model.training
    model.eval()
    logits, ys = [], []
    for b in DataLoader(ds, batch_size=batch_size, shuffle=False):
        x = b["x"].to(device)
        logits.append((forward(x) if forward else model(x)).float().cpu().numpy())
        ys.append(b["y"].numpy())
    model.train(was)
    return np.concatenate(logits), np.concatenate(ys)


def classification_metrics(logits: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """The metrics of the task (:mod:`biodyn.train.tasks`: multiclass accuracy, one-vs-rest ``macro_auroc``,
    macro-F1, kappa; multilabel ``macro_auroc`` over the classes), and for multilabel also ``accuracy`` on the
    single-label records (argmax == the one positive class) with ``n_single_label``."""
    from biodyn.train.tasks import get_task

    t = get_task(task)
    probs = t.probs(torch.from_numpy(np.asarray(logits))).numpy()
    out = dict(t.metrics(probs, np.asarray(y)))
    if task == "multilabel":
        single = y.sum(1) == 1
        out["n_single_label"] = int(single.sum())
        if single.any():
            out["accuracy"] = float((probs[single].argmax(1) == y[single].argmax(1)).mean())
    return out


# ---------------------------------------------------------------------------------------------- outputs
def _write_json(path: Path, obj) -> None:
    from biodyn.atomic import atomic_write_json

    atomic_write_json(path, obj)


RUN_CONFIG = "config.yaml"


def write_run_config(out: Path, obj: dict) -> None:
    """The run's resolved config as ``config.yaml`` (``system: prism`` first), the file every run folder holds
    (not ``config.json``, which an export loader reads as an export's)."""
    import yaml

    from biodyn.atomic import atomic_write_text

    plain = json.loads(json.dumps({"system": "prism", **obj}, default=str))
    atomic_write_text(out / RUN_CONFIG, yaml.safe_dump(plain, sort_keys=False))


def read_run_config(run_dir: str | Path) -> dict:
    """The run config of a PRISM run folder: ``config.yaml``, or the ``config.json`` older runs wrote."""
    import yaml

    run = Path(run_dir)
    if (run / RUN_CONFIG).is_file():
        cfg = yaml.safe_load((run / RUN_CONFIG).read_text())
    elif (run / "config.json").is_file():
        cfg = json.loads((run / "config.json").read_text())
    else:
        raise ConfigError(f"{run}: not a PRISM run (no {RUN_CONFIG})")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("run"), dict):
        raise ConfigError(f"{run}: not a PRISM run config (no 'run' section)")
    return cfg


# ---------------------------------------------------------------------------------------------- single
def _say(cfg, msg):
    if cfg.progress is not None:
        print(msg, flush=True)


def _train_config(cfg: PrismRunConfig, out: Path, steps_per_epoch: int, metric: str, **kw):
    """The Trainer's settings of a PRISM run: ``cfg.epochs`` epochs of ``steps_per_epoch`` steps, evaluated and
    checkpointed once an epoch, early stopping on ``metric`` (higher is better); ``kw``: the rest."""
    from biodyn.train.config import TrainConfig

    return TrainConfig(
        out_dir=str(out),
        seed=cfg.seed,
        max_steps=cfg.epochs * steps_per_epoch,
        lr=cfg.lr,
        warmup_steps=int(cfg.warmup_epochs * steps_per_epoch),
        weight_decay=cfg.weight_decay,
        eval_every=steps_per_epoch,
        ckpt_every=steps_per_epoch,
        log_every=1,
        early_stop_metric=metric,
        early_stop_mode="max",
        patience=cfg.early_stopping,
        resume=cfg.resume,
        num_workers=cfg.num_workers,
        progress=cfg.progress,
        tensorboard=cfg.tensorboard,
        wandb_project=cfg.wandb_project,
        device=cfg.device,
        **kw,
    )


def run_single(cfg: PrismRunConfig) -> RunResult:
    from biodyn.models import create_model
    from biodyn.models._pretrained import resolve_checkpoint
    from biodyn.train.checkpoint import load_checkpoint
    from biodyn.train.seed import seed_everything
    from biodyn.train.trainer import Trainer

    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    data = load_modality(cfg.modality, cfg)
    if cfg.data == "synthetic":
        _say(cfg, SYNTHETIC_NOTE)
    name = model_name(cfg)
    params = model_params(cfg)
    seed_everything(cfg.seed)
    model = create_model(
        name,
        n_chans=data.n_chans,
        n_outputs=len(data.classes),
        n_times=data.n_times,
        sfreq=data.sfreq,
        **params,
    )
    out = Path(cfg.output_dir)
    import torch.distributed as dist

    # under torchrun every rank takes batch_size items a step: an epoch is len / (batch_size x ranks) steps
    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    spe = len(data.train) // (cfg.batch_size * world)
    if spe == 0:
        raise ConfigError(
            f"batch_size={cfg.batch_size} x {world} rank(s) exceeds the {len(data.train)} training items"
        )
    metric = "val_macro_auroc" if data.task == "multilabel" else "val_accuracy"
    tc = _train_config(cfg, out, spe, metric, task=data.task, batch_size=cfg.batch_size)
    _say(
        cfg,
        f"PRISM run: {cfg.modality} ({data.source}; {data.splits}); train/val/test "
        f"{len(data.train)}/{len(data.val)}/{len(data.test)}; model {name} ({n_params(model):,} params), "
        f"{cfg.epochs} epochs x {spe} steps",
    )
    _start_run(cfg, out)
    write_run_config(
        out,
        {"mode": "single", "run": asdict(cfg), "model": name, "model_config": params, "train": asdict(tc)},
    )
    from biodyn.models import InputSpec

    spec = {**data.spec, "extra": {**data.spec.get("extra", {}), "task": data.task}}
    model.input_spec = InputSpec.from_dict(spec)  # saved with every checkpoint: what predict needs
    trainer = Trainer(model, data.train, data.val, tc, model_name=name, model_config=params)
    summary = trainer.fit()
    best = resolve_checkpoint(out / "checkpoints" / "best")
    if best is not None:
        load_checkpoint(best, model=model, model_name=name, restore_rng=False)
    logits, y = predict(model, data.test, cfg.batch_size, trainer.device)
    test = classification_metrics(logits, y, data.task)
    curves = _epoch_curves(trainer.history, spe)
    res = {
        "command": "biodyn prism",
        "mode": "single",
        "modality": cfg.modality,
        "model": name,
        "model_config": params,
        "n_params": n_params(model),
        "data": cfg.data,
        "data_source": data.source,
        **_moe_counts(model),
        "splits": {
            "how": data.splits,
            "train": len(data.train),
            "val": len(data.val),
            "test": len(data.test),
        },
        "classes": data.classes,
        "task": data.task,
        "test": test,
        "best_val": summary.get("best"),
        "val_metric": metric,
        "checkpoint": "best" if best is not None else "last",
        "curves": curves,
        "train_summary": summary,
        "seed": cfg.seed,
        "config": asdict(cfg),
        "versions": versions(),
        "git_commit": git_commit(),
        "elapsed_s": time.perf_counter() - t0,
    }
    if data.task == "multiclass":  # rows: true class, columns: predicted (scikit-learn's convention)
        from sklearn.metrics import confusion_matrix

        labels = list(range(len(data.classes)))
        res["confusion_matrix"] = confusion_matrix(
            y.astype(np.int64), logits.argmax(1), labels=labels
        ).tolist()
    if trainer.is_main:
        _write_json(out / "results.json", res)
        plot_curves({cfg.modality: curves}, out / "curves.png")
    return RunResult(res, model=model, run_dir=out)


def _epoch_curves(
    history: list[dict], spe: int, loss_key: str = "loss", val_prefix: str = "val_"
) -> list[dict]:
    """Per epoch: the mean of the train rows' ``loss_key`` and the eval rows' ``val_prefix*`` metrics (renamed
    ``val_*``); joint mode reads each modality's curve with ``loss_<m>`` and ``val_<m>_``."""
    rows: dict[int, dict] = {}
    losses: dict[int, list[float]] = {}
    for r in history:
        ep = (int(r["step"]) - 1) // spe + 1
        if r["kind"] == "train" and loss_key in r:
            losses.setdefault(ep, []).append(float(r[loss_key]))
        elif r["kind"] == "eval":
            rows.setdefault(ep, {}).update(
                {f"val_{k[len(val_prefix) :]}": v for k, v in r.items() if k.startswith(val_prefix)}
            )
    out = []
    for ep in sorted(set(rows) | set(losses)):
        row = {"epoch": ep, **rows.get(ep, {})}
        if ep in losses:
            row["train_loss"] = float(np.mean(losses[ep]))
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------- joint
class _Labelled(Dataset):
    """A modality's items as the joint run's batches carry them: ``x`` ``(C, T)`` and its target under
    ``labels`` (:meth:`PRISMForClassification.forward_loss` reads it; no ``y``, so the Trainer's evaluation
    takes the loss and leaves the per-modality metrics to the run's own ``val_metrics``)."""

    def __init__(self, ds: Dataset):
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict:
        item = self.ds[i]
        return {"x": item["x"], "labels": item["y"]}


def joint_data(parts: dict[str, Dataset], order: list[str]):
    """The modalities' datasets as one :class:`~biodyn.train.data.GroupedDataset` whose items carry their
    modality's index into ``order`` (``modality``)."""
    from biodyn.train.data import GroupedDataset

    return GroupedDataset([_Labelled(parts[m]) for m in order], key="modality")


def run_joint(cfg: PrismRunConfig) -> RunResult:
    """One PRISM backbone on ECG + image (+ audio when its data is present), alternating batches (one
    modality per optimiser step, round robin), a projection and a head per modality; trained by the Trainer
    (AdamW + cosine, checkpoints, exact resume, DDP under torchrun). Early stopping (``--early-stopping N``)
    watches ``val_accuracy``, the mean over the modalities of each one's validation accuracy (macro-AUROC for
    multi-label PTB-XL)."""
    import torch.distributed as dist

    from biodyn.models._pretrained import resolve_checkpoint
    from biodyn.models.prism import ModalityConfig, PRISMConfig, PRISMForClassification
    from biodyn.train.checkpoint import load_checkpoint
    from biodyn.train.seed import seed_everything
    from biodyn.train.trainer import Trainer

    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    mods: dict[str, ModalityData] = {}
    for m in MODALITIES:
        try:
            mods[m] = load_modality(m, cfg)
        except (ConfigError, FileNotFoundError) as e:
            if m in ("ecg", "image"):
                raise
            _say(cfg, f"joint: no audio data ({e}); training on ecg + image")
    if cfg.data == "synthetic":
        _say(cfg, SYNTHETIC_NOTE)
    order = [m for m in ("ecg", "image", "audio") if m in mods]
    pcfg = PRISMConfig(
        **{
            "hidden_dim": cfg.hidden_dim,
            "num_layers": cfg.num_layers,
            "num_heads": cfg.num_heads,
            "force_block_type": None if cfg.block_pattern == "hybrid" else cfg.block_pattern,
            "ffn": cfg.ffn,
            **cfg.model_overrides,
        },
        modalities=[ModalityConfig(m, mods[m].n_chans, len(mods[m].classes)) for m in order],
    )
    seed_everything(cfg.seed)
    net = PRISMForClassification(pcfg)  # its forward_loss reads a batch's modality index into `order`
    model = net
    from biodyn.train.data import GroupedBatchSampler

    distributed = dist.is_available() and dist.is_initialized()
    world = dist.get_world_size() if distributed else 1
    train = joint_data({m: mods[m].train for m in order}, order)
    val = joint_data({m: mods[m].val for m in order}, order)
    # one modality per optimiser step, the modalities in turn, each epoch a seeded permutation per modality;
    # every rank takes its share of the same global batch (a step leaves the other heads unused)
    sampler = GroupedBatchSampler(
        train.sizes,
        cfg.batch_size,
        seed=cfg.seed,
        rank=dist.get_rank() if distributed else 0,
        world_size=world,
        order="round_robin",
    )
    per_epoch = sampler.per_epoch
    out = Path(cfg.output_dir)
    tc = _train_config(
        cfg,
        out,
        per_epoch,
        "val_accuracy",
        task="multiclass",
        batch_size=cfg.batch_size,
        sampler="sequential",
        find_unused_parameters=True,
    )
    _say(
        cfg,
        f"PRISM joint run on {order}; {n_params(net):,} params; {cfg.epochs} epochs x {per_epoch} steps "
        "(one modality per step, round robin)",
    )
    _start_run(cfg, out)
    write_run_config(
        out,
        {
            "mode": "joint",
            "run": asdict(cfg),
            "model": "prism_multimodal",
            "prism_config": pcfg.to_dict(),
            "train": asdict(tc),
        },
    )
    from biodyn.models import InputSpec

    net.input_spec = InputSpec.from_dict(
        {"modalities": order, "extra": {"per_modality": {m: mods[m].spec for m in order}}}
    )

    def fwd(m):
        return lambda x: net(x, modality=m)

    def val_metrics(_model) -> dict[str, float]:
        res, primary = {}, []
        for m in order:
            lg, y = predict(net, mods[m].val, cfg.batch_size, next(net.parameters()).device, forward=fwd(m))
            met = classification_metrics(lg, y, mods[m].task)
            res.update({f"val_{m}_{k}": v for k, v in met.items()})
            primary.append(met["macro_auroc" if mods[m].task == "multilabel" else "accuracy"])
        res["val_accuracy"] = float(np.mean(primary))
        return res

    trainer = Trainer(model, train, val, tc, extra_eval=val_metrics, batch_sampler=sampler)
    summary = trainer.fit()
    best = resolve_checkpoint(out / "checkpoints" / "best")
    if best is not None:
        load_checkpoint(best, model=model, model_name=net.model_name, restore_rng=False)
    curves = {m: _epoch_curves(trainer.history, per_epoch, f"loss_{m}", f"val_{m}_") for m in order}
    test = {}
    for m in order:
        lg, y = predict(net, mods[m].test, cfg.batch_size, trainer.device, forward=fwd(m))
        test[m] = classification_metrics(lg, y, mods[m].task)
    res = {
        "command": "biodyn prism",
        "mode": "joint",
        "modalities": order,
        "model": "prism",
        "prism_config": pcfg.to_dict(),
        "n_params": n_params(net),
        "data": cfg.data,
        **_moe_counts(net),
        "splits": {
            m: {
                "how": mods[m].splits,
                "train": len(mods[m].train),
                "val": len(mods[m].val),
                "test": len(mods[m].test),
            }
            for m in order
        },
        "test": test,
        "best_val": summary.get("best"),
        "val_metric": "val_accuracy (mean over modalities)",
        "checkpoint": "best" if best is not None else "last",
        "curves": curves,
        "epochs_run": -(-summary["step"] // per_epoch),
        "train_summary": summary,
        "seed": cfg.seed,
        "config": asdict(cfg),
        "versions": versions(),
        "git_commit": git_commit(),
        "elapsed_s": time.perf_counter() - t0,
    }
    if trainer.is_main:
        from biodyn.models import save_pretrained

        save_pretrained(net, out / "model")  # biodyn.models.from_pretrained(out / "model") rebuilds it
        _write_json(out / "results.json", res)
        plot_curves(curves, out / "curves.png")
    return RunResult(res, model=net, run_dir=out)


# the settings a resumed run must share with the run in output_dir (the weights' shape and meaning)
RESUME_KEYS = (
    "mode",
    "modality",
    "model",
    "block_pattern",
    "hidden_dim",
    "num_layers",
    "num_heads",
    "data",
    "patch_size",
    "n_mels",
    "n_frames",
    "model_overrides",
)


def check_run(cfg: PrismRunConfig) -> None:
    """Every check that needs no data, before anything is read or written: the device exists, the model
    overrides fit the model, ``output_dir`` is a writable folder, a run already there is refused without
    ``resume``/``force``, and a resumed run was trained with the same settings (:data:`RESUME_KEYS`)."""
    from biodyn.errors import CheckpointError
    from biodyn.models import check_overrides
    from biodyn.rundir import check_device, check_new_run

    check_device(cfg.device, "--device")
    check_overrides("prism" if cfg.mode == "joint" else model_name(cfg), model_params(cfg))
    if cfg.mode == "joint" and cfg.modality != PrismRunConfig.modality:
        raise ConfigError(
            f"--modality {cfg.modality} does not apply to --mode joint (it trains ecg + image + audio)"
        )
    out = Path(cfg.output_dir)
    check_new_run(
        out,
        resume=cfg.resume,
        force=cfg.force,
        key="--output-dir",
        resume_hint="add --resume (resume=true)",
        force_hint="add --force",
    )
    if cfg.resume and any((out / f).is_file() for f in (RUN_CONFIG, "config.json")):
        try:
            before = read_run_config(out)["run"]
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as e:
            raise CheckpointError(f"{out}: its run config cannot be read to check the resume ({e})") from None
        now = asdict(cfg)
        diff = [
            f"{k}={before.get(k)!r} (now {now[k]!r})" for k in RESUME_KEYS if before.get(k, now[k]) != now[k]
        ]
        if diff:
            raise CheckpointError(
                f"--resume: {out} was trained with {', '.join(diff)}; resume it with the same "
                "settings, or use another --output-dir"
            )


def _start_run(cfg: PrismRunConfig, out: Path) -> None:
    """Right before the first write: ``force`` removes the old run's files (never anything else; on rank 0
    only, see :func:`~biodyn.rundir.clear_run`)."""
    if cfg.force:
        from biodyn.rundir import clear_run

        clear_run(out)


def run_prism(cfg: PrismRunConfig) -> RunResult:
    """Train and evaluate as ``cfg`` says; returns a :class:`~biodyn.train.result.RunResult`: the results
    (also written to ``output_dir/results.json``) with the trained model (``.model``) and ``.run_dir``.
    :func:`check_run` runs first: nothing is read or written before every setting is checked."""
    check_run(cfg)
    return run_joint(cfg) if cfg.mode == "joint" else run_single(cfg)


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, default=str)

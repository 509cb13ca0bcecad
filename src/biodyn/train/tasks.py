"""Tasks: the loss and the evaluation metrics for one kind of target."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from biodyn.errors import check_option
from biodyn.nn.losses import classification_loss

TASKS = ("multiclass", "multilabel", "per_sample", "seizure")


class Task:
    name = "task"
    output = "clip"  # the model output kind the task scores (BiodynModel.output)
    target_key = "y"  # the batch entry holding the target
    step = 0  # the trainer's optimiser step (set before each loss; schedules such as a gamma warm-up)

    def bind(self, cfg=None, val_ds=None) -> None:
        """Called by the trainer with its config and validation set (tasks that need settings or rates)."""

    def loss(self, logits: torch.Tensor, batch: dict) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def target(self, batch: dict) -> torch.Tensor:
        return batch[self.target_key]

    def probs(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits.float())

    def metrics(self, probs: np.ndarray, target: np.ndarray) -> dict[str, float]:
        return {}


class MultiClass(Task):
    """Cross-entropy over ``(B, K)`` logits, integer targets ``(B,)``."""

    name = "multiclass"

    def loss(self, logits, batch):
        return classification_loss(logits, batch["y"].long().view(-1))

    def probs(self, logits):
        return torch.softmax(logits.float(), dim=-1)

    def metrics(self, probs, target):
        from biodyn.metrics.classification import macro_auroc, macro_auroc_classes

        t = target.astype(np.int64).ravel()
        out = {"accuracy": float((probs.argmax(1) == t).mean())}
        onehot = np.eye(probs.shape[1])[t]
        if probs.shape[1] >= 2 and len(np.unique(t)) >= 2:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out["macro_auroc"] = macro_auroc(onehot, probs)
            out["macro_auroc_n_classes"] = float(macro_auroc_classes(onehot))
        out.update(_class_metrics(probs, t))
        return out


def _class_metrics(probs: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Two classes: AUROC and AUPRC of class 1 (seizure detection); more: macro-F1 and Cohen's kappa of the
    argmax (sleep staging)."""
    from biodyn.metrics.classification import auprc, auroc, cohen_kappa, macro_f1

    if probs.shape[1] == 2:
        return {"auroc": auroc(t == 1, probs[:, 1]), "auprc": auprc(t == 1, probs[:, 1])}
    pred = probs.argmax(1)
    return {
        "macro_f1": macro_f1(t, pred),
        "cohen_kappa": cohen_kappa(t, pred) if len(set(t) | set(pred)) > 1 else float("nan"),
    }


class MultiLabel(Task):
    """Binary cross-entropy over ``(B, K)`` logits against multi-hot ``(B, K)`` targets."""

    name = "multilabel"

    def loss(self, logits, batch):
        return classification_loss(logits, batch["y"].float().view(logits.shape))

    def metrics(self, probs, target):
        import warnings

        from biodyn.metrics.classification import macro_auroc, macro_auroc_classes

        t = target.reshape(probs.shape)
        # a class with one label value is left out of the mean (warning silenced): say how many remain
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {
                "macro_auroc": macro_auroc(t, probs),
                "macro_auroc_n_classes": float(macro_auroc_classes(t)),
            }


class PerSample(Task):
    """Per-sample BCE: logits ``(B, T)`` or ``(B, 1, T)`` against ``batch["mask"]`` ``(B, T)``, or
    ``(B, K, T)`` against a multi-hot mask ``(B, K, T)``."""

    name = "per_sample"
    output = "per_sample"
    target_key = "mask"

    def loss(self, logits, batch):
        y = batch["mask"].float()
        return F.binary_cross_entropy_with_logits(logits.float().reshape(y.shape), y)

    def metrics(self, probs, target):
        from biodyn.metrics.classification import auroc

        return {"auroc": auroc(target.ravel(), probs.ravel())}


class Seizure(PerSample):
    """Per-sample seizure detection: focal loss on ``(B, T)`` logits against ``batch["mask"]``; metrics are
    per-sample AUROC, per-window AUROC (max probability vs any seizure sample) and the OVERLAP sensitivity at
    10 FA/24h after the seizure post-processing (:data:`biodyn.metrics.postprocess.SEIZURE_POSTPROCESS`), with each window
    scored as a recording of its own (exact for non-overlapping windows; ``biodyn eval`` stitches records)."""

    name = "seizure"
    alpha, gamma, warmup = 0.25, 2.0, 0
    fs = 256.0

    def bind(self, cfg=None, val_ds=None):
        if cfg is not None:
            self.alpha, self.gamma = cfg.focal_alpha, cfg.focal_gamma
            self.warmup = cfg.focal_gamma_warmup_steps
        if val_ds is not None and getattr(val_ds, "fs", None):
            self.fs = float(val_ds.fs)

    def loss(self, logits, batch):
        from biodyn.train.losses import focal_loss, gamma_at

        y = batch["mask"].float().clamp_min(0)
        return focal_loss(
            logits.reshape(y.shape), y, self.alpha, gamma_at(self.step, self.gamma, self.warmup)
        )

    def metrics(self, probs, target):
        from biodyn.metrics.detection import window_metrics

        return window_metrics(probs, target, self.fs)


def get_task(name: str) -> Task:
    check_option("train.task", name, TASKS)
    return {"multiclass": MultiClass, "multilabel": MultiLabel, "per_sample": PerSample, "seizure": Seizure}[
        name
    ]()

"""Views over windows for protocols that re-split or relabel them: in-memory array windows with the attributes
the few-shot protocol reads (``labels``, ``subjects``, ``fs``), a view of the labelled windows of a dataset,
and a patient-disjoint split."""

from __future__ import annotations

import numpy as np
import torch

from biodyn.errors import ConfigError


class ArrayWindows(torch.utils.data.Dataset):
    """In-memory windows with the attributes the protocol reads: ``labels``, ``subjects``, ``fs``."""

    def __init__(self, x: np.ndarray, labels: np.ndarray, subjects, fs: float, channels=None):
        self.x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        self.labels = np.asarray(labels)
        self.subjects = np.asarray(subjects)
        self.fs = float(fs)
        self.channels = list(channels or [])

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        y = self.labels[i]
        return {
            "x": self.x[i],
            "y": torch.tensor(int(y)) if np.ndim(y) == 0 else torch.from_numpy(np.asarray(y)),
        }


class LabelledView(torch.utils.data.Dataset):
    """The windows of ``ds`` with a label >= 0 (Sleep-EDF's unlabelled epochs dropped); ``y`` only (no mask)."""

    def __init__(self, ds, index: np.ndarray | None = None):
        self.ds = ds
        lab = np.asarray(ds.labels)
        if index is not None:
            self.index = np.asarray(index)
        else:
            self.index = np.flatnonzero(lab >= 0) if lab.ndim == 1 else np.arange(len(lab))
        self.labels = lab[self.index]
        self.subjects = np.asarray(ds.subjects)[self.index]
        self.fs = ds.fs

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        item = self.ds[int(self.index[i])]
        return {"x": item["x"], "y": item["y"]}


def patient_split(subjects, fractions=(0.6, 0.2, 0.2)) -> dict[str, list[str]]:
    """Sorted subjects cut into train / val / test by ``fractions`` (at least one subject each)."""
    subs = sorted(set(map(str, subjects)))
    if len(subs) < 3:
        raise ConfigError(f"a patient-disjoint split needs >= 3 subjects, got {len(subs)}: {subs}")
    n_test = max(1, round(fractions[2] * len(subs)))
    n_val = max(1, round(fractions[1] * len(subs)))
    n_train = len(subs) - n_val - n_test
    if n_train < 1:
        raise ConfigError(f"no training subject left among {subs}")
    return {"train": subs[:n_train], "val": subs[n_train : n_train + n_val], "test": subs[n_train + n_val :]}

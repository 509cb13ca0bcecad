"""Samplers over cached windows: class-balanced oversampling that also splits across DDP ranks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from biodyn.errors import ConfigError


class BalancedSampler(Sampler[int]):
    """Draws an epoch with a target share of positive windows (Brain-Go-Brr trains at 34 % seizure windows).

    Positives (``labels > 0``; for multi-hot labels, any positive) are drawn with replacement, negatives
    without replacement while they last. Each epoch's order is a function of ``(seed, epoch)`` only, so
    every DDP rank computes the same permutation and takes every ``world_size``-th index from ``rank``.
    ``state_dict()`` holds the epoch and the position within it, for exact resumption.

    Args:
        labels: window labels ``(N,)`` or ``(N, K)``.
        positive_ratio: target fraction of positives per epoch.
        num_samples: draws per epoch over all ranks (default: ``N``).
    """

    def __init__(
        self,
        labels,
        positive_ratio: float = 0.34,
        num_samples: int | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        lab = np.asarray(labels)
        pos = lab.reshape(len(lab), -1).max(axis=1) > 0
        if not 0 < positive_ratio < 1:
            raise ConfigError(f"invalid positive_ratio={positive_ratio!r}; must be in (0, 1)")
        if not 0 <= rank < world_size:
            raise ConfigError(f"invalid rank={rank} for world_size={world_size}")
        self.pos_idx = np.flatnonzero(pos)
        self.neg_idx = np.flatnonzero(~pos)
        if len(self.pos_idx) == 0 or len(self.neg_idx) == 0:
            raise ConfigError("BalancedSampler needs both positive and negative windows")
        self.positive_ratio = positive_ratio
        self.num_samples = int(num_samples or len(lab))
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0
        self.position = 0  # indices of this rank already consumed in the current epoch

    def _epoch_indices(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        n_pos = round(self.num_samples * self.positive_ratio)
        n_neg = self.num_samples - n_pos
        pos = rng.choice(self.pos_idx, n_pos, replace=True)
        neg = rng.choice(self.neg_idx, n_neg, replace=n_neg > len(self.neg_idx))
        idx = rng.permutation(np.concatenate([pos, neg]))
        per_rank = -(-len(idx) // self.world_size)
        idx = np.resize(idx, per_rank * self.world_size)  # pad by wrapping so every rank gets as many
        return idx[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        idx = self._epoch_indices()
        start = self.position
        for k in range(start, len(idx)):
            self.position = k + 1
            yield int(idx[k])
        self.epoch += 1
        self.position = 0

    def __len__(self) -> int:
        return -(-self.num_samples // self.world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.position = int(epoch), 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise ConfigError(f"sampler state has seed {state['seed']}, this sampler {self.seed}")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])

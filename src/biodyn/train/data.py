"""Data plumbing: a resumable, DDP-aware batch sampler and a loader over any dict-returning Dataset."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from biodyn.errors import ConfigError


class ResumableBatchSampler(Sampler[list[int]]):
    """Endless batches of a seeded permutation per epoch; the position is a single integer.

    Epoch ``e`` shuffles with ``seed + e``; global batch ``j`` is ``perm[j*B*W:(j+1)*B*W]`` and rank ``r``
    takes its ``r``-th slice of ``B`` indices, so ``W`` ranks with batch ``B`` see the same global
    batches as one process with batch ``B*W``. The last incomplete global batch is dropped.
    ``state_dict()`` / ``load_state_dict()`` hold the number of batches already drawn.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1, shuffle: bool = True
    ):
        self.n, self.batch_size, self.seed = int(n), int(batch_size), int(seed)
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.per_epoch = self.n // (self.batch_size * world_size)
        if self.per_epoch == 0:
            raise ConfigError(
                f"dataset of {n} items is smaller than one global batch ({batch_size} x {world_size} ranks)"
            )
        self.position = 0

    def _perm(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        g = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.n, generator=g)

    def __iter__(self) -> Iterator[list[int]]:
        gb = self.batch_size * self.world_size
        while True:
            epoch, j = divmod(self.position, self.per_epoch)
            perm = self._perm(epoch)
            while j < self.per_epoch:
                lo = j * gb + self.rank * self.batch_size
                self.position += 1
                yield perm[lo : lo + self.batch_size].tolist()
                j += 1

    def state_dict(self) -> dict[str, int]:
        return {"position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position = int(state["position"])
        self.seed = int(state["seed"])


class IndexBatchSampler(Sampler[list[int]]):
    """Endless batches from an epoch-seeded index sampler with ``set_epoch`` (e.g.
    :class:`biodyn.cache.BalancedSampler`, which already slices by DDP rank); the position is the number
    of batches drawn, as in :class:`ResumableBatchSampler`. The last incomplete batch of an epoch is dropped."""

    def __init__(self, index_sampler, batch_size: int):
        self.index_sampler, self.batch_size = index_sampler, int(batch_size)
        self.seed = int(getattr(index_sampler, "seed", 0))
        self.per_epoch = len(index_sampler) // self.batch_size
        if self.per_epoch == 0:
            raise ConfigError(
                f"sampler draws {len(index_sampler)} items per epoch, fewer than batch_size={batch_size}"
            )
        self.position = 0

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            epoch, j = divmod(self.position, self.per_epoch)
            self.index_sampler.set_epoch(epoch)
            idx = list(iter(self.index_sampler))
            while j < self.per_epoch:
                self.position += 1
                yield idx[j * self.batch_size : (j + 1) * self.batch_size]
                j += 1

    def state_dict(self) -> dict[str, int]:
        return {"position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state.get("seed", self.seed)) != self.seed:
            raise ConfigError(f"sampler state has seed {state['seed']}, this sampler {self.seed}")
        self.position = int(state["position"])


def make_loader(ds: Dataset, sampler: Sampler, num_workers: int = 0) -> DataLoader:
    """A DataLoader over ``ds`` with a batch sampler; items must be dicts (``x``, ``y``, opt. ``mask``,
    ``meta``); ``meta`` strings are collated into lists."""
    # a private generator: creating the iterator must not draw from the global torch RNG (exact resume)
    return DataLoader(
        ds, batch_sampler=sampler, num_workers=num_workers, generator=torch.Generator().manual_seed(0)
    )


def eval_batches(ds: Dataset, batch_size: int) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False)


class TensorDictDataset(Dataset):
    """In-memory dataset returning ``dict(x=(C, T), y=..., [mask=(T,)])`` (tests, few-shot subsets)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None):
        self.x, self.y, self.mask = x, y, mask

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        out = {"x": self.x[i], "y": self.y[i]}
        if self.mask is not None:
            out["mask"] = self.mask[i]
        return out

"""Data plumbing: resumable, DDP-aware batch samplers (one over any dataset, one that keeps every batch
inside one group: a modality, a corpus) and a loader over any dict-returning Dataset."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

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


class GroupedDataset(Dataset):
    """Several datasets (the groups: one per modality or corpus) read as one: flat index ``i`` is item
    ``i - offset[g]`` of group ``g``, returned with ``key`` set to ``g`` (a ``torch.long`` scalar), so that a
    batch says which group it is of. Batches of one group come from :class:`GroupedBatchSampler` (training)
    and :func:`eval_batches` (evaluation); the groups' items may differ in shape."""

    def __init__(self, parts: Sequence[Dataset], key: str = "group"):
        self.parts, self.key = list(parts), key
        self.sizes = [len(p) for p in self.parts]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64).tolist()

    def __len__(self) -> int:
        return self.offsets[-1]

    def group_of(self, i: int) -> int:
        """The group that flat index ``i`` falls in."""
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        return bisect.bisect_right(self.offsets, i) - 1

    def __getitem__(self, i: int) -> dict[str, Any]:
        g = self.group_of(int(i))
        item = dict(self.parts[g][int(i) - self.offsets[g]])
        item[self.key] = torch.tensor(g)
        return item


class GroupedBatchSampler(Sampler[list[int]]):
    """Endless batches that each hold items of one group only (indices into a :class:`GroupedDataset`'s flat
    order, ``group_sizes`` its groups' sizes), resumable by one integer like :class:`ResumableBatchSampler`.

    One seeded NumPy stream (``np.random.default_rng(seed)``) drives every epoch: epoch ``e`` draws, group by
    group, a permutation of that group's items, then (``order="shuffle"``) a permutation of the epoch's
    batches. Group ``g`` gives ``n_g // (batch_size * world_size)`` global batches per epoch, its ``j``-th the
    slice ``perm_g[j*B*W:(j+1)*B*W]`` of which rank ``r`` takes the ``r``-th ``B`` items; every rank walks
    the same sequence of (group, j), so all ranks train the same group at each step with the same number of
    batches, and together they see what one process with batch ``B*W`` would. ``order="round_robin"``
    visits the groups in turn (``g0 g1 g2 g0 g1 g2 ...``, a group that runs out dropping out of the turn).
    An epoch covers each group's items once, but for the remainder of fewer than ``B*W`` items per group.
    ``state_dict()`` / ``load_state_dict()`` hold the number of batches already drawn."""

    def __init__(
        self,
        group_sizes: Sequence[int],
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        order: str = "shuffle",
    ):
        from biodyn.errors import check_option

        check_option("order", order, ("shuffle", "round_robin"))
        self.sizes = [int(n) for n in group_sizes]
        self.batch_size, self.seed, self.order = int(batch_size), int(seed), order
        self.rank, self.world_size = int(rank), int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(f"rank {rank} outside world_size {world_size}")
        gb = self.batch_size * self.world_size
        self.per_group = [n // gb for n in self.sizes]
        if not self.sizes or min(self.per_group) == 0:
            raise ConfigError(
                f"a group is smaller than one global batch ({batch_size} x {world_size} ranks): "
                f"group sizes {self.sizes}"
            )
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.per_epoch = sum(self.per_group)
        self.position = 0

    def _schedule(self, rng: np.random.Generator) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
        """One epoch's draws: the permutation of each group's items and the (group, j) order of its batches."""
        perms = [rng.permutation(n) for n in self.sizes]
        if self.order == "round_robin":
            steps = [
                (g, j)
                for j in range(max(self.per_group))
                for g in range(len(self.sizes))
                if j < self.per_group[g]
            ]
        else:
            steps = [(g, j) for g, k in enumerate(self.per_group) for j in range(k)]
            steps = [steps[i] for i in rng.permutation(len(steps))]
        return perms, steps

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of epoch ``epoch``, in order (flat indices)."""
        rng = np.random.default_rng(self.seed)
        for _ in range(epoch):  # the stream's earlier epochs
            self._schedule(rng)
        perms, steps = self._schedule(rng)
        gb, lo = self.batch_size * self.world_size, self.rank * self.batch_size
        return [
            (self.offsets[g] + perms[g][j * gb + lo : j * gb + lo + self.batch_size]).tolist()
            for g, j in steps
        ]

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            epoch, j = divmod(self.position, self.per_epoch)
            batches = self.epoch_batches(epoch)
            while j < self.per_epoch:
                self.position += 1
                yield batches[j]
                j += 1

    def state_dict(self) -> dict[str, int]:
        return {"position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state.get("seed", self.seed)) != self.seed:
            raise ConfigError(f"sampler state has seed {state['seed']}, this sampler {self.seed}")
        self.position = int(state["position"])


def _contiguous_group_batches(indices: Iterable[int], group_of, batch_size: int) -> list[list[int]]:
    """``indices`` in their order, cut into batches of at most ``batch_size`` that never span two groups."""
    out: list[list[int]] = []
    last = None
    for i in indices:
        g = group_of(int(i))
        if not out or g != last or len(out[-1]) == batch_size:
            out.append([])
        out[-1].append(int(i))
        last = g
    return out


def make_loader(ds: Dataset, sampler: Sampler, num_workers: int = 0) -> DataLoader:
    """A DataLoader over ``ds`` with a batch sampler; items must be dicts (``x``, ``y``, opt. ``mask``,
    ``meta``); ``meta`` strings are collated into lists."""
    # a private generator: creating the iterator must not draw from the global torch RNG (exact resume)
    return DataLoader(
        ds, batch_sampler=sampler, num_workers=num_workers, generator=torch.Generator().manual_seed(0)
    )


def eval_batches(ds: Dataset, batch_size: int) -> DataLoader:
    """Batches of ``ds`` in order; over a :class:`GroupedDataset` (or a ``Subset`` of one, as a DDP rank's
    share) no batch spans two groups."""
    base, idx = (ds.dataset, ds.indices) if isinstance(ds, Subset) else (ds, range(len(ds)))
    if isinstance(base, GroupedDataset):
        return DataLoader(base, batch_sampler=_contiguous_group_batches(idx, base.group_of, batch_size))
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

"""GroupedBatchSampler / GroupedDataset: one group per batch, every item once per epoch, seeded, resumable,
split across DDP ranks (simulated), and the PRISM joint schedule it replaced, rebuilt by hand."""

import numpy as np
import pytest
import torch
from torch.utils.data import Subset

from biodyn.errors import ConfigError
from biodyn.train import TensorDictDataset
from biodyn.train.data import GroupedBatchSampler, GroupedDataset, eval_batches

SIZES = [8, 4, 12]  # groups of 8, 4 and 12 items


def _group(i, sizes=SIZES):
    return int(np.searchsorted(np.cumsum(sizes), i, side="right"))


def _epoch(sampler, epoch):
    """The batches of epoch ``epoch``, drawn by iterating the sampler from that epoch's first position."""
    sampler.position = epoch * sampler.per_epoch
    it = iter(sampler)
    return [next(it) for _ in range(sampler.per_epoch)]


@pytest.mark.parametrize("order", ["shuffle", "round_robin"])
def test_batches_hold_one_group_and_cover_every_item_once_per_epoch(order):
    s = GroupedBatchSampler(SIZES, batch_size=2, seed=3, order=order)
    assert s.per_epoch == 4 + 2 + 6
    for epoch in range(3):
        batches = _epoch(s, epoch)
        assert all(len(b) == 2 and len({_group(i) for i in b}) == 1 for b in batches)
        assert sorted(i for b in batches for i in b) == list(range(sum(SIZES)))


def test_round_robin_visits_the_groups_in_turn_and_shuffle_mixes_them():
    rr = GroupedBatchSampler(SIZES, batch_size=4, seed=0, order="round_robin")
    # per group 2, 1 and 3 batches: the groups in turn, one that ran out drops out
    assert [_group(b[0]) for b in _epoch(rr, 0)] == [0, 1, 2, 0, 2, 2]
    sh = GroupedBatchSampler(SIZES, batch_size=4, seed=0)
    orders = {tuple(_group(b[0]) for b in _epoch(sh, e)) for e in range(6)}
    assert len(orders) > 1 and all(sorted(o) == [0, 0, 1, 2, 2, 2] for o in orders)


def test_remainders_are_dropped_and_never_repeat():
    s = GroupedBatchSampler([5, 3], batch_size=2, seed=1)
    batches = _epoch(s, 0)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat)) == 4 + 2  # 5 // 2 and 3 // 2 batches of 2
    assert sum(i < 5 for i in flat) == 4


def test_seeded_deterministic_and_reshuffled_per_epoch():
    a, b = GroupedBatchSampler(SIZES, 2, seed=7), GroupedBatchSampler(SIZES, 2, seed=7)
    assert _epoch(a, 0) == _epoch(b, 0) and _epoch(a, 2) == _epoch(b, 2)
    assert _epoch(a, 0) != _epoch(a, 1)
    assert _epoch(a, 0) != _epoch(GroupedBatchSampler(SIZES, 2, seed=8), 0)


def test_resumes_from_its_position():
    s = GroupedBatchSampler(SIZES, 2, seed=5)
    it = iter(s)
    whole = [next(it) for _ in range(30)]  # past two epochs
    t = GroupedBatchSampler(SIZES, 2, seed=5)
    it = iter(t)
    head = [next(it) for _ in range(17)]
    state = t.state_dict()
    u = GroupedBatchSampler(SIZES, 2, seed=5)
    u.load_state_dict(state)
    it = iter(u)
    assert head + [next(it) for _ in range(13)] == whole
    with pytest.raises(ConfigError, match="seed"):
        GroupedBatchSampler(SIZES, 2, seed=6).load_state_dict(state)


@pytest.mark.parametrize("order", ["shuffle", "round_robin"])
def test_two_ranks_split_what_one_process_with_twice_the_batch_draws(order):
    """world_size 2, simulated: each rank gets the same number of batches, the same group at every step,
    disjoint items; rank 0's batch then rank 1's is the single process's batch of 2B."""
    ranks = [GroupedBatchSampler(SIZES, 2, seed=9, rank=r, world_size=2, order=order) for r in (0, 1)]
    one = GroupedBatchSampler(SIZES, 4, seed=9, order=order)
    assert ranks[0].per_epoch == ranks[1].per_epoch == one.per_epoch == 2 + 1 + 3
    for epoch in range(2):
        b0, b1, b = _epoch(ranks[0], epoch), _epoch(ranks[1], epoch), _epoch(one, epoch)
        assert [_group(x[0]) for x in b0] == [_group(x[0]) for x in b1]
        assert all(not set(x) & set(y) for x, y in zip(b0, b1, strict=True))
        assert [x + y for x, y in zip(b0, b1, strict=True)] == b


def test_a_group_smaller_than_a_global_batch_is_refused():
    with pytest.raises(ConfigError, match=r"smaller than one global batch \(4 x 2 ranks\)"):
        GroupedBatchSampler([8, 7], 4, world_size=2)
    with pytest.raises(ConfigError, match="order"):
        GroupedBatchSampler(SIZES, 2, order="random")


def _joint_schedule_by_hand(sizes, batch, epochs, seed, world):
    """The PRISM joint run's schedule as it was written before the sampler (one item per (step, rank), the
    modalities round robin, one NumPy stream drawing a permutation per modality per epoch)."""
    rng = np.random.default_rng(seed)
    gb, offsets, out = batch * world, np.cumsum([0, *sizes]), []
    spe = [n // gb for n in sizes]
    for _ in range(epochs):
        perms = [rng.permutation(n) for n in sizes]
        for i in range(max(spe)):
            for g in range(len(sizes)):
                if i < spe[g]:
                    out += [
                        (offsets[g] + perms[g][i * gb + r * batch : i * gb + (r + 1) * batch]).tolist()
                        for r in range(world)
                    ]
    return out


@pytest.mark.parametrize("world", [1, 2])
def test_round_robin_is_the_joint_schedule_it_replaced(world):
    want = _joint_schedule_by_hand([10, 6, 9], 2, 3, 42, world)
    for r in range(world):
        s = GroupedBatchSampler([10, 6, 9], 2, seed=42, rank=r, world_size=world, order="round_robin")
        it = iter(s)
        assert [next(it) for _ in range(3 * s.per_epoch)] == want[r::world]


def test_grouped_dataset_and_eval_batches_keep_groups_apart():
    """Items carry their group; evaluation batches follow the flat order and never span two groups, also
    over a DDP rank's Subset (every world-th item), and may differ in shape between groups."""
    a = TensorDictDataset(torch.zeros(5, 2, 8), torch.zeros(5, dtype=torch.long))
    b = TensorDictDataset(torch.ones(3, 3, 4), torch.ones(3, dtype=torch.long))
    ds = GroupedDataset([a, b], key="modality")
    assert len(ds) == 8 and [ds.group_of(i) for i in range(8)] == [0] * 5 + [1] * 3
    assert int(ds[6]["modality"]) == 1 and ds[6]["x"].shape == (3, 4)
    with pytest.raises(IndexError):
        ds.group_of(8)
    shapes = [(tuple(x["x"].shape), x["modality"].tolist()) for x in eval_batches(ds, 2)]
    assert shapes == [
        ((2, 2, 8), [0, 0]),
        ((2, 2, 8), [0, 0]),
        ((1, 2, 8), [0]),
        ((2, 3, 4), [1, 1]),
        ((1, 3, 4), [1]),
    ]
    share = Subset(ds, range(1, 8, 2))  # rank 1 of 2: items 1, 3, 5, 7
    assert [x["modality"].tolist() for x in eval_batches(share, 4)] == [[0, 0], [1, 1]]
    # a batch sampler over it: every batch stacks
    loader = torch.utils.data.DataLoader(
        ds, batch_sampler=[b for b in _epoch(GroupedBatchSampler([5, 3], 1), 0)]
    )
    assert sum(len(x["x"]) for x in loader) == 8

"""Two CPU ranks on gloo end with identical parameters, equal to one process on the same global batch, and
their sharded evaluation equals the single-process one."""

import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from biodyn.train import TensorDictDataset, TrainConfig, Trainer


class _Net(nn.Module):  # no BatchNorm: per-rank batch statistics would differ from one process
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 5, padding=2)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(-1))


def _data():
    g = torch.Generator().manual_seed(0)
    return TensorDictDataset(torch.randn(40, 2, 16, generator=g), torch.randint(0, 3, (40,), generator=g))


def _cfg(out, batch_size):
    return TrainConfig(
        out_dir=str(out),
        task="multiclass",
        batch_size=batch_size,
        max_steps=6,
        warmup_steps=1,
        lr=1e-2,
        eval_every=0,
        ckpt_every=3,
        progress=False,
        tensorboard=False,
        accum_steps=2,
    )


def _val():
    g = torch.Generator().manual_seed(1)
    return TensorDictDataset(torch.randn(9, 2, 16, generator=g), torch.randint(0, 3, (9,), generator=g))


def _train(batch_size, out):
    torch.manual_seed(0)
    tr = Trainer(_Net(), _data(), None, _cfg(out, batch_size), model_name="net")
    tr.fit()
    return {k: v.clone() for k, v in tr.model.state_dict().items()}, tr.evaluate(_val())


def _worker(rank, port, fn, out, results):
    """Rank ``rank`` of two on gloo: ``results[rank] = fn(out)``."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        results[rank] = fn(out)
    finally:
        dist.destroy_process_group()


def _two_ranks(fn, out):
    """``fn(out)`` on two spawned gloo ranks; returns their two results."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        results = manager.dict()
        mp.start_processes(
            _worker, args=(_free_port(), fn, out, results), nprocs=2, join=True, start_method="spawn"
        )
        return results[0], results[1]


def _train_ddp(out):
    return _train(4, out)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_rank_gloo_matches_single_process(tmp_path):
    (r0, m0), (r1, m1) = _two_ranks(_train_ddp, tmp_path / "ddp")
    single, m_single = _train(8, tmp_path / "single")
    assert m0 == m1  # 9 examples: 5 (two batches) on rank 0, 4 (one batch) on rank 1
    assert set(m0) == set(m_single) and "val_loss" in m0
    for key in m0:
        assert m0[key] == pytest.approx(m_single[key], rel=1e-5, abs=1e-6), key
    for k in single:
        assert torch.equal(r0[k], r1[k]), k
        torch.testing.assert_close(r0[k], single[k], rtol=1e-5, atol=1e-6)
    assert (tmp_path / "ddp" / "checkpoints" / "last" / "model.safetensors").is_file()


_JOINT = dict(
    mode="joint",
    data="synthetic",
    hidden_dim=16,
    num_layers=2,
    num_heads=2,
    limit=48,
    progress=False,
    lr=3e-3,
    n_frames=12,
    n_mels=8,
    warmup_epochs=0.0,
    epochs=1,
    tensorboard=False,
)


_SINGLE = dict(_JOINT, mode="single", modality="audio", epochs=2)


def _prism_rank(settings, out):
    from biodyn.systems.prism import PrismRunConfig, run_prism

    res = run_prism(PrismRunConfig(batch_size=8, output_dir=str(out), **settings))
    return res["train_summary"]["step"], res["test"]


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "settings, weights",
    [(_JOINT, ("model", "model.safetensors")), (_SINGLE, ("checkpoints", "last", "model.safetensors"))],
    ids=["joint", "single"],
)
def test_prism_on_two_gloo_ranks_trains_what_one_process_trains(tmp_path, settings, weights):
    """``biodyn prism`` under DDP: two ranks of 8 train what one process with batches (joint: blocks) of 16
    trains, in as many steps. Joint mode: each step is one modality on every rank (the others' heads unused).
    Single mode: an epoch is the training set once over all ranks (it had been once per rank, so two ranks
    trained twice the epochs asked for)."""
    import functools

    from safetensors.torch import load_file

    from biodyn.systems.prism import PrismRunConfig, run_prism

    (s0, t0), (s1, t1) = _two_ranks(functools.partial(_prism_rank, settings), tmp_path / "ddp")
    single = run_prism(PrismRunConfig(batch_size=16, output_dir=str(tmp_path / "single"), **settings))
    assert s0 == s1 == single["train_summary"]["step"] > 0 and t0 == t1
    a = load_file(str(tmp_path.joinpath("ddp", *weights)))
    b = load_file(str(tmp_path.joinpath("single", *weights)))
    for k in b:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)

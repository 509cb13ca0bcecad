"""The SSM blocks' CPU inference chunk (eval mode without autograd): the same output as the token-by-token
recurrence at a chunk other than the training one, and training keeps its own chunk."""

from __future__ import annotations

import pytest
import torch

import biodyn.nn.gated_delta as gd_module
import biodyn.nn.mamba2 as mamba_module
from biodyn.nn.chunk import inference_chunk
from biodyn.nn.gated_delta import GatedDeltaBlock
from biodyn.nn.mamba2 import Mamba2Block


def _token_by_token(block, x):
    """The block's output from its one-token ``step`` (the recurrent form, no chunks): ``(B, T, D)``."""
    state = block.allocate_state(x.shape[0], dtype=x.dtype)
    out = []
    for x_t in x.unbind(1):
        y_t, state = block.step(x_t, state)
        out.append(y_t)
    return torch.stack(out, 1)


def _spy(monkeypatch, module, name):
    """Record the ``chunk_size`` of every call of ``module.name``."""
    seen, fn = [], getattr(module, name)

    def wrapped(*a, **kw):
        seen.append(kw["chunk_size"])
        return fn(*a, **kw)

    monkeypatch.setattr(module, name, wrapped)
    return seen


@pytest.mark.parametrize(
    ("make", "module", "kernel"),
    [
        (
            lambda: GatedDeltaBlock(16, num_heads=2, chunk_size=8, inference_chunk_size=32),
            gd_module,
            "gated_delta_rule",
        ),
        (
            lambda: Mamba2Block(16, d_state=8, headdim=8, chunk_size=64, inference_chunk_size=16),
            mamba_module,
            "ssd",
        ),
    ],
    ids=["gated_delta", "mamba2"],
)
def test_inference_chunk_matches_the_token_recurrence(monkeypatch, make, module, kernel):
    torch.manual_seed(0)
    block = make().eval()
    x = torch.randn(3, 75, 16)  # 75: not a multiple of either chunk (the padded tail is covered too)
    with torch.no_grad():
        ref = _token_by_token(block, x)
    seen = _spy(monkeypatch, module, kernel)
    with torch.inference_mode():
        y = block(x)
    assert seen == [block.inference_chunk_size]  # the inference chunk ran, not the training one
    assert (y - ref).abs().max().item() < 1e-5
    # with autograd on (training, or gradients of an eval model) the training chunk runs, same output
    seen.clear()
    y_grad = block(x)
    assert seen == [block.chunk_size]
    assert (y_grad.detach() - y).abs().max().item() < 1e-5


def test_inference_chunk_only_for_eval_without_autograd_on_cpu():
    block = GatedDeltaBlock(8, num_heads=2, chunk_size=8, inference_chunk_size=32)
    x = torch.zeros(1, 4, 8)
    with torch.no_grad():
        assert inference_chunk(block, x) == 8  # training mode
        block.eval()
        assert inference_chunk(block, x) == 32
        assert inference_chunk(block, x.to("meta")) == 8  # not CPU: library kernels pick their own
    assert inference_chunk(block, x) == 8  # autograd on
    block.inference_chunk_size = None
    with torch.no_grad():
        assert inference_chunk(block, x) == 8

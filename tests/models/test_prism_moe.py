"""PRISM with ``ffn="moe"``: sizing at equal active parameters (counts by hand), streaming == full pass, the
auxiliary loss through ``forward_loss``, config checks. The registered ``prism_moe`` also runs the model
contract (tests/models/test_contract.py: gradients, export round trip, step == forward)."""

import pytest
import torch
import torch.nn.functional as F

from biodyn.errors import ConfigError
from biodyn.models import create_model, from_pretrained, save_pretrained
from biodyn.models.prism import ModalityConfig, PRISMConfig, PRISMForClassification
from biodyn.nn.moe import MoESwiGLU, moe_modules

TINY = {"hidden_dim": 8, "num_heads": 2, "num_layers": 2, "delta_every": 2, "delta_chunk_size": 8}


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_sizes_and_counts_by_hand():
    """d = 8, ffn_expand 2 -> dense SwiGLU width F = 16 (3 d F = 384 parameters per layer). MoE with E = 4,
    k = 2: shared S = F / 2 = 8, each routed expert H = round((3*16 - 3*8 - 4) / (3*2)) = round(3.33) = 3.
    Per layer: router 8*4 = 32, shared 3*8*8 = 192, experts 4 * 3*8*3 = 288 -> 512 in all; a token uses
    32 + 192 + 2*72 = 368. Two layers: total = dense + 2*(512 - 384), active = dense + 2*(368 - 384)."""
    cfg = PRISMConfig(**TINY, ffn="moe", moe_num_experts=4, moe_top_k=2)
    assert cfg.moe_dims_for("s4") == (8, 3) and cfg.moe_dims_for("delta") == (8, 3)
    kw = {"n_chans": 3, "n_outputs": 2, "n_times": None, "sfreq": 1.0, **TINY}
    dense = create_model("prism", **kw)
    moe = create_model("prism", **kw, ffn="moe", moe_num_experts=4, moe_top_k=2)
    n = _count(dense)
    assert dense.param_counts() == {"total": n, "active": n}
    assert moe.param_counts() == {"total": n + 2 * 128, "active": n - 2 * 16}
    layers = moe_modules(moe)
    assert len(layers) == 2 and all(m.expert_dim == 3 and m.shared.out.in_features == 8 for m in layers)
    # explicit widths are taken as given
    cfg = PRISMConfig(**TINY, ffn="moe", moe_shared_expert_dim=0, moe_expert_dim=5)
    assert cfg.moe_dims_for("s4") == (0, 5)


@pytest.mark.parametrize("pattern", [None, "s4", "delta"])
def test_cpu_size_moe_matches_the_dense_active_count(pattern):
    """At the benchmark's CPU size (64 wide, 4 layers) the MoE PRISM uses as many parameters per token as the
    dense one to within one routed-expert unit (3 d k) per layer; its total is larger."""
    size = {"hidden_dim": 64, "num_heads": 4, "num_layers": 4, "force_block_type": pattern}
    with torch.device("meta"):
        dense = create_model("prism", n_chans=48, n_outputs=10, n_times=None, sfreq=1.0, **size)
        moe = create_model("prism", n_chans=48, n_outputs=10, n_times=None, sfreq=1.0, **size, ffn="moe")
    d, k, layers = 64, 2, 4
    counts = moe.param_counts()
    assert abs(counts["active"] - _count(dense)) <= 3 * d * k * layers / 2
    assert counts["total"] > 1.5 * _count(dense)
    if pattern is None:  # the counts docs/prism.md quotes
        assert (_count(dense), counts["total"], counts["active"]) == (207_314, 350_674, 207_826)


def test_streaming_equals_full_pass_with_moe():
    torch.manual_seed(0)
    cfg = PRISMConfig(**TINY, ffn="moe", moe_num_experts=4, modalities=[ModalityConfig("ecg", 3, 5)])
    model = PRISMForClassification(cfg).double().eval()
    x = torch.randn(2, 40, 3, dtype=torch.float64)
    with torch.no_grad():
        state = model.allocate_state(2, dtype=torch.float64)
        logits = []
        for t in range(x.shape[1]):
            lg, state = model.step(x[:, t], state, "ecg")
            logits.append(lg)
        for t in (0, 7, 8, 39):
            ref = model(x[:, : t + 1], modality="ecg")
            torch.testing.assert_close(logits[t], ref, rtol=1e-10, atol=1e-10)
    # the streamed MoE layers routed each token on its own and still agree: a different router would not
    with torch.no_grad():
        moe_modules(model)[0].router.weight.mul_(-1)
        assert not torch.allclose(model(x, modality="ecg"), logits[-1])


def test_forward_loss_is_the_task_loss_plus_the_weighted_aux_terms():
    torch.manual_seed(0)
    kw = {"n_chans": 3, "n_outputs": 4, "n_times": None, "sfreq": 1.0, **TINY}
    m = create_model("prism_moe", **kw, moe_num_experts=4, moe_aux_loss_weight=0.5, moe_z_loss_weight=0.1)
    x = torch.randn(2, 3, 11)
    y = torch.tensor([0, 3])
    terms = m.forward_loss({"x": x, "y": y})
    assert set(terms) == {"task", "moe_balance", "moe_z"}
    logits = m(x)
    torch.testing.assert_close(terms["task"], F.cross_entropy(logits, y))
    layers = moe_modules(m)
    torch.testing.assert_close(terms["moe_balance"], sum(lay.aux_losses["moe_balance"] for lay in layers))
    assert len(layers) == 2 and float(terms["moe_z"].detach()) > 0
    yf = torch.tensor([[1.0, 0, 0, 1], [0, 1, 0, 0]])  # multi-hot floats: BCE, as the multilabel task
    torch.testing.assert_close(
        m.forward_loss({"x": x, "y": yf})["task"], F.binary_cross_entropy_with_logits(m(x), yf)
    )
    dense = create_model("prism", **kw)
    assert not hasattr(dense, "forward_loss")  # the Trainer applies the task's loss as for any model


def test_capacity_factor_travels_through_the_config_and_export(tmp_path):
    torch.manual_seed(0)
    m = create_model(
        "prism_moe",
        n_chans=3,
        n_outputs=2,
        n_times=None,
        sfreq=1.0,
        **TINY,
        moe_num_experts=4,
        moe_capacity_factor=0.5,
    )
    assert all(isinstance(lay, MoESwiGLU) and lay.capacity_factor == 0.5 for lay in moe_modules(m))
    m.train()
    m(torch.randn(2, 3, 30))
    assert sum(lay.last_dropped for lay in moe_modules(m)) > 0  # counted, not silent
    save_pretrained(m.eval(), tmp_path / "m")
    m2 = from_pretrained(tmp_path / "m")
    assert m2.cfg.moe_capacity_factor == 0.5 and m2.cfg.ffn == "moe"
    x = torch.randn(2, 3, 30)
    with torch.no_grad():
        assert torch.equal(m(x), m2(x))


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"ffn": "mlp"}, "ffn"),
        ({"moe_top_k": 9}, "exceeds moe_num_experts"),
        ({"moe_num_experts": 0}, "moe_num_experts"),
        ({"moe_shared_expert_dim": -1}, "moe_shared_expert_dim"),
        ({"moe_expert_dim": 0}, "moe_expert_dim"),
        ({"moe_aux_loss_weight": -0.1}, "moe_aux_loss_weight"),
        ({"moe_capacity_factor": 0}, "moe_capacity_factor"),
    ],
)
def test_bad_moe_settings_are_refused(bad, match):
    with pytest.raises(ConfigError, match=match):
        PRISMConfig(**bad)

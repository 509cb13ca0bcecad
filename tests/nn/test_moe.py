"""The mixture-of-experts SwiGLU: the sorted/gathered fast path equals the dense reference (every expert on
every token, weighted by the router's gates), the auxiliary losses and the parameter counts by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from biodyn.errors import ConfigError
from biodyn.nn.moe import MoESwiGLU, moe_aux_losses, moe_dense_reference, moe_drop_stats, param_counts


def _moe(e=5, k=2, d=6, h=3, s=4, seed=0, **kw) -> MoESwiGLU:
    torch.manual_seed(seed)
    return MoESwiGLU(d, num_experts=e, top_k=k, expert_dim=h, shared_dim=s, **kw).double()


def _grads(m, x, fn):
    m.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    y = fn(x)
    w = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view(y.shape)  # a loss that weighs every output
    (y * w).sum().backward()
    return y.detach(), x.grad, {n: p.grad.clone() for n, p in m.named_parameters()}


@pytest.mark.parametrize(("e", "k"), [(1, 1), (3, 1), (3, 2), (8, 1), (8, 2)])
@pytest.mark.parametrize("shape", [(7, 6), (3, 5, 6)])  # odd token counts: 7 and 15
def test_fast_path_equals_dense_reference_outputs_and_gradients(e, k, shape):
    m = _moe(e=e, k=k)
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y, gx, gp = _grads(m, x, m)
    y_ref, gx_ref, gp_ref = _grads(m, x, lambda z: moe_dense_reference(m, z))
    assert y.shape == x.shape
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-12, atol=1e-12)
    for n in gp:
        torch.testing.assert_close(gp[n], gp_ref[n], rtol=1e-12, atol=1e-12, msg=f"gradient of {n}")
    assert m.last_dropped == 0 and moe_drop_stats(m) == {"routed": 0, "dropped": 0}


def test_reference_by_hand_for_one_token():
    """One token, E = 3, k = 2: the output is the shared expert plus the two largest softmax gates times their
    experts, written out without the module's routing code."""
    m = _moe(e=3, k=2, d=4, h=2, s=3, seed=5)
    x = torch.randn(1, 4, dtype=torch.float64)
    m.requires_grad_(False)
    p = torch.softmax(x @ m.router.weight.t(), -1)[0]
    first, second = sorted(range(3), key=lambda i: -float(p[i]))[:2]

    def expert(i):
        a, b = (x @ m.w_gate_up[i].t()).split(2, -1)
        return (F.silu(a) * b) @ m.w_out[i].t()

    want = m.shared(x) + p[first] * expert(first) + p[second] * expert(second)
    with torch.no_grad():
        torch.testing.assert_close(m(x), want, rtol=1e-12, atol=1e-12)


def test_a_different_expert_set_changes_the_output():
    """The test can fail: zeroing an expert that some token uses changes the output, one no token uses does not."""
    m = _moe(e=6, k=1)
    x = torch.randn(9, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y = m(x)
        used = set(m.route(x)[3].flatten().tolist())
        unused = sorted(set(range(6)) - used)
        ex = sorted(used)[0]
        m.w_out[ex].zero_()
        assert not torch.allclose(m(x), y)
        if unused:
            m.w_out[unused[0]].zero_()
            torch.testing.assert_close(m(x), moe_dense_reference(m, x))


@pytest.mark.parametrize("k", [1, 2])
def test_capacity_drops_are_counted_and_match_the_reference(k):
    m = _moe(e=4, k=k, capacity_factor=0.5).train()
    x = torch.randn(13, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    cap = math.ceil(0.5 * 13 * k / 4)
    assert m.capacity(13) == cap
    idx = m.route(x)[3]
    counts = torch.bincount(idx.flatten(), minlength=4)
    want_dropped = int((counts - cap).clamp_min(0).sum())
    assert want_dropped > 0  # the case exercises drops
    y, gx, gp = _grads(m, x, m)
    assert m.last_dropped == want_dropped
    assert moe_drop_stats(m) == {"routed": 13 * k, "dropped": want_dropped}
    y_ref, gx_ref, gp_ref = _grads(m, x, lambda z: moe_dense_reference(m, z))
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-12, atol=1e-12)
    for n in gp:
        torch.testing.assert_close(gp[n], gp_ref[n], rtol=1e-12, atol=1e-12)
    # eval (and streaming): no capacity, nothing dropped
    m.eval()
    with torch.no_grad():
        m(x)
    assert m.last_dropped == 0 and m.capacity(13) is None


def test_balance_and_z_loss_by_hand():
    m = _moe(e=4, k=2, aux_loss_weight=0.1, z_loss_weight=0.01)
    x = torch.randn(11, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    m(x)
    logits = (x @ m.router.weight.t()).detach()
    p = torch.softmax(logits, -1)
    top = p.topk(2, -1).indices
    bal = 0.0
    for e in range(4):
        f_e = 4 / (2 * 11) * float((top == e).sum())
        bal += f_e * float(p[:, e].mean())
    z = float(torch.logsumexp(logits, -1).square().mean())
    assert math.isclose(float(m.aux_losses["moe_balance"].detach()), 0.1 * bal, rel_tol=1e-12)
    assert math.isclose(float(m.aux_losses["moe_z"].detach()), 0.01 * z, rel_tol=1e-12)
    # the balance loss is 1 (times its weight) at a uniform router, whatever the tie-breaking
    with torch.no_grad():
        m.router.weight.zero_()
    m(x)
    assert math.isclose(float(m.aux_losses["moe_balance"].detach()), 0.1, rel_tol=1e-12)
    # summed over layers; the z term is absent at weight 0
    two = torch.nn.Sequential(_moe(e=4, k=2), _moe(e=4, k=2, seed=1))
    two(x)
    terms = moe_aux_losses(two)
    assert set(terms) == {"moe_balance"}
    want = two[0].aux_losses["moe_balance"] + two[1].aux_losses["moe_balance"]
    torch.testing.assert_close(terms["moe_balance"], want)


def test_balance_loss_trains_the_router():
    m = _moe(e=4, k=1)
    x = torch.randn(32, 6, dtype=torch.float64)
    m(x)
    m.aux_losses["moe_balance"].backward()
    assert m.router.weight.grad is not None and m.router.weight.grad.abs().sum() > 0


def test_param_counts_by_hand():
    """d = 4, E = 3 experts of width 2, k = 1, shared width 3: router 4*3 = 12, shared 3*4*3 = 36, experts
    3 x 3*4*2 = 72 -> total 120; a token uses the router, the shared expert and one expert: 12 + 36 + 24 = 72."""
    m = MoESwiGLU(4, num_experts=3, top_k=1, expert_dim=2, shared_dim=3)
    assert param_counts(m) == {"total": 120, "active": 72}
    no_shared = MoESwiGLU(4, num_experts=3, top_k=2, expert_dim=2, shared_dim=0)
    assert no_shared.shared is None
    assert param_counts(no_shared) == {"total": 12 + 72, "active": 12 + 48}


def test_every_expert_in_the_graph_even_without_tokens():
    """An expert that gets no token still has a (zero) gradient: DDP without find_unused_parameters needs it."""
    m = _moe(e=8, k=1)
    x = torch.randn(2, 6, dtype=torch.float64)
    m(x).sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="top_k=3 exceeds"):
        MoESwiGLU(4, num_experts=2, top_k=3)
    with pytest.raises(ConfigError, match="capacity_factor"):
        MoESwiGLU(4, capacity_factor=0)
    with pytest.raises(ConfigError, match="shared_dim"):
        MoESwiGLU(4, shared_dim=-1)


def test_a_trained_step_leaves_the_module_copyable():
    import copy

    m = _moe()
    m(torch.randn(5, 6, dtype=torch.float64))  # aux terms with a graph
    c = copy.deepcopy(m)
    assert c.aux_losses == {} and "moe_balance" in m.aux_losses
    x = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(c(x), m(x))

import numpy as np
import pytest
import torch

from biodyn.nn.graph import DenseSSGConv, GatedFusion, gcn_normalize, pairs_to_dense, topk_adjacency
from biodyn.nn.tcn import TCN


def test_pairs_to_dense_symmetric_order():
    w = torch.arange(1.0, 7.0)  # 4 nodes -> 6 pairs
    a = pairs_to_dense(w, 4)
    assert torch.equal(a, a.T) and torch.equal(torch.diagonal(a), torch.zeros(4))
    assert a[0, 1] == 1 and a[0, 3] == 3 and a[1, 2] == 4 and a[2, 3] == 6
    with pytest.raises(ValueError, match="pair weights"):
        pairs_to_dense(torch.ones(5), 4)


def test_topk_adjacency_by_hand():
    # node 3 is connected only by weights under the threshold -> isolated -> self-loop
    a = torch.tensor(
        [[0, 5, 4, 1e-6], [5, 0, 1, 1e-6], [4, 1, 0, 0], [1e-6, 1e-6, 0, 0.0]], dtype=torch.float64
    )
    out = topk_adjacency(a, k=1, threshold=1e-4)
    expect = torch.tensor([[0, 5, 4, 0], [5, 0, 0, 0], [4, 0, 0, 0], [0, 0, 0, 1.0]], dtype=torch.float64)
    assert torch.equal(out, expect)
    r = torch.rand(7, 9, 9)
    r = r + r.transpose(-1, -2)
    o = topk_adjacency(r, k=3)
    assert torch.equal(o, o.transpose(-1, -2))
    assert ((o > 0).sum(-1) >= 3).all()  # each node keeps at least its own top 3


def _pyg_reference(x, adj, conv):
    from torch_geometric.nn import SSGConv

    ref = SSGConv(x.shape[-1], conv.lin.out_features, alpha=conv.alpha, K=conv.K).double()
    ref.lin.load_state_dict(conv.lin.state_dict())
    outs = []
    for g in range(x.shape[0]):  # one graph at a time: the obviously-correct loop
        ei = adj[g].nonzero().T
        outs.append(ref(x[g], ei, adj[g][ei[0], ei[1]]))
    return torch.stack(outs)


@pytest.mark.parametrize("K", [1, 3])
def test_dense_ssgconv_equals_torch_geometric(K):
    pytest.importorskip("torch_geometric")
    torch.manual_seed(K)
    g, n = 10, 19
    w = torch.rand(g, n * (n - 1) // 2, dtype=torch.float64)
    adj = topk_adjacency(pairs_to_dense(w, n), k=3)
    x = torch.randn(g, n, 8, dtype=torch.float64)
    conv = DenseSSGConv(8, 5, alpha=0.05, K=K).double()
    got = conv(x, adj)
    torch.testing.assert_close(got, _pyg_reference(x, adj, conv), atol=1e-12, rtol=1e-12)


def test_gcn_normalize_keeps_existing_self_loops():
    a = torch.tensor([[2.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    h = gcn_normalize(a)  # node 0 keeps weight 2, node 1 gets 1: degrees 3 and 2
    expect = torch.tensor([[2 / 3, 1 / np.sqrt(6)], [1 / np.sqrt(6), 1 / 2]], dtype=torch.float64)
    torch.testing.assert_close(h, expect)


def test_gated_fusion_is_the_formula():
    torch.manual_seed(0)
    f = GatedFusion(8, heads=4).double()
    node, gnn = torch.randn(3, 5, 8, dtype=torch.float64), torch.randn(3, 5, 8, dtype=torch.float64)
    out = f(node, gnn)
    for h in range(4):
        s = slice(2 * h, 2 * h + 2)
        g = torch.sigmoid(torch.cat([node[..., s], gnn[..., s]], -1) @ f.weight[h] + f.bias[h])
        torch.testing.assert_close(out[..., s], g * node[..., s] + (1 - g) * gnn[..., s])
    # linear in time: each step depends only on itself
    out2 = f(node[:, :2], gnn[:, :2])
    torch.testing.assert_close(out2, out[:, :2])


def test_tcn_inference_folds_batchnorm_into_the_convolutions():
    """Eval mode without autograd folds each BatchNorm into its convolution: same output as the two apart
    (and as with gradients enabled, where they stay apart so that every weight gets its gradient)."""
    torch.manual_seed(0)
    tcn = TCN(3, channels=(4, 8), kernel_size=3, dropout=0.0, stride=2).double()
    tcn.train()
    for _ in range(3):  # non-trivial running statistics
        tcn(torch.randn(2, 3, 32, dtype=torch.float64))
    for m in tcn.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.weight.data.uniform_(0.5, 2.0)
            m.bias.data.normal_()
    tcn.eval()
    x = torch.randn(2, 3, 32, dtype=torch.float64)
    y_grad = tcn(x)
    with torch.inference_mode():
        y_fold = tcn(x)
    torch.testing.assert_close(y_fold, y_grad, rtol=1e-12, atol=1e-12)
    y_grad.sum().backward()
    assert all(p.grad is not None for p in tcn.parameters())


def test_tcn_shapes_and_causality():
    tcn = TCN(3, channels=(4, 4, 8), kernel_size=3, dropout=0.0, stride=4, causal=True).double().eval()
    x = torch.randn(2, 3, 64, dtype=torch.float64)
    y = tcn(x)
    assert y.shape == (2, 8, 16)
    x2 = x.clone()
    x2[..., 40:] += 1.0  # change the future: outputs of steps whose window ends before 40 are unchanged
    assert torch.equal(tcn(x2)[..., :10], y[..., :10])
    with pytest.raises(ValueError, match="multiple of stride"):
        tcn(torch.randn(1, 3, 63, dtype=torch.float64))


def test_tcn_default_sizes():
    tcn = TCN(19)
    assert tcn.out_channels == 512 and len(tcn.blocks) == 8
    assert [b.conv1.dilation[0] for b in tcn.blocks] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert [b.conv1.kernel_size[0] for b in tcn.blocks] == [7] * 8

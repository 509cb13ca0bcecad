import numpy as np
import pytest
import torch

from biodyn.ops.laplacian import (
    laplacian_eigenvalues_reference,
    laplacian_eigenvectors,
    laplacian_eigenvectors_reference,
)


def _random_graphs(g, n, seed, density=0.5):
    rng = np.random.default_rng(seed)
    a = rng.random((g, n, n)) * (rng.random((g, n, n)) < density)
    a = np.triu(a, 1)
    return a + np.transpose(a, (0, 2, 1))


@pytest.mark.parametrize("n,k", [(5, 3), (19, 16), (8, 12)], ids=["n5k3", "n19k16", "k_gt_n"])
def test_batched_equals_reference_float64(n, k):
    a = _random_graphs(12, n, seed=n)
    got = laplacian_eigenvectors(torch.from_numpy(a).reshape(3, 4, n, n), k, dtype=torch.float64).reshape(
        12, n, k
    )
    checked = 0
    for g in range(12):
        ref = laplacian_eigenvectors_reference(a[g], k)
        w = laplacian_eigenvalues_reference(a[g])
        gaps = np.diff(w)
        for j in range(min(k, n)):  # a column is unique (up to the fixed sign) only for a simple eigenvalue
            left = gaps[j - 1] if j > 0 else np.inf
            right = gaps[j] if j < n - 1 else np.inf
            if min(left, right) > 1e-6:
                np.testing.assert_allclose(got[g, :, j].numpy(), ref[:, j], atol=1e-9)
                checked += 1
        np.testing.assert_array_equal(got[g, :, n:].numpy(), 0.0)
    assert checked > 12


def test_float32_default_and_detached():
    a = torch.from_numpy(_random_graphs(4, 10, 0)).float().requires_grad_(True)
    v = laplacian_eigenvectors(a, 4)
    assert v.dtype == torch.float32 and not v.requires_grad
    # orthonormal columns
    gram = v.transpose(-1, -2) @ v
    torch.testing.assert_close(gram, torch.eye(4).expand(4, 4, 4), atol=1e-5, rtol=0)


def test_sign_is_fixed_largest_entry_positive():
    v = laplacian_eigenvectors(torch.from_numpy(_random_graphs(6, 7, 3)), 5, dtype=torch.float64)
    idx = v.abs().argmax(dim=-2, keepdim=True)
    assert (torch.gather(v, -2, idx) > 0).all()


def test_non_finite_and_isolated_nodes_are_guarded():
    a = torch.from_numpy(_random_graphs(3, 6, 1)).float()
    a[0, 1, 2] = a[0, 2, 1] = float("nan")
    a[1, 3, :] = 0
    a[1, :, 3] = 0  # isolated node
    a[2] = 0  # empty graph: L = I
    v = laplacian_eigenvectors(a, 4)
    assert torch.isfinite(v).all()
    clean = a[0].clone()
    clean[1, 2] = clean[2, 1] = 0
    np.testing.assert_allclose(v[0].numpy(), laplacian_eigenvectors(clean, 4).numpy(), atol=1e-6)

"""The normalised Laplacian of a 3-node path, worked by hand: eigenvalues 0, 1, 2 with eigenvectors
(1, sqrt 2, 1) / 2, (1, 0, -1) / sqrt 2 and (1, -sqrt 2, 1) / 2, signed so the largest entry is positive.
The middle vector's two largest entries tie in exact arithmetic, so rounding picks its sign: it is compared
up to sign."""

import math

import numpy as np
import torch

from biodyn.ops.laplacian import (
    laplacian_eigenvalues_reference,
    laplacian_eigenvectors,
    laplacian_eigenvectors_reference,
    normalized_laplacian,
)

PATH = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
R2 = math.sqrt(2.0)
WANT = np.array([[0.5, R2 / 2, 0.5], [1 / R2, 0.0, -1 / R2], [-0.5, R2 / 2, -0.5]]).T  # columns by eigenvalue


def test_path_graph_laplacian_by_hand():
    lap = normalized_laplacian(torch.tensor(PATH))
    want = np.array([[1.0, -1 / R2, 0.0], [-1 / R2, 1.0, -1 / R2], [0.0, -1 / R2, 1.0]])
    np.testing.assert_allclose(lap.numpy(), want, atol=1e-15)
    np.testing.assert_allclose(laplacian_eigenvalues_reference(PATH), [0.0, 1.0, 2.0], atol=1e-12)


def _same(got, want):
    np.testing.assert_allclose(got[:, [0, 2]], want[:, [0, 2]], atol=1e-12)
    np.testing.assert_allclose(got[:, 1] * np.sign(got[0, 1]), want[:, 1], atol=1e-12)


def test_path_graph_eigenvectors_by_hand():
    _same(laplacian_eigenvectors_reference(PATH, 3), WANT)
    _same(laplacian_eigenvectors(torch.tensor(PATH)[None], 3, dtype=torch.float64)[0].numpy(), WANT)


def test_more_vectors_than_nodes_are_zero_columns():
    ref = laplacian_eigenvectors_reference(PATH, 5)
    assert ref.shape == (3, 5) and not ref[:, 3:].any()
    _same(ref[:, :3], WANT)
    got = laplacian_eigenvectors(torch.tensor(PATH), 5, dtype=torch.float64)
    assert got.shape == (3, 5) and not got[:, 3:].any()


def test_isolated_node_keeps_a_unit_diagonal():
    adj = np.zeros((3, 3))
    adj[0, 1] = adj[1, 0] = 2.0
    lap = normalized_laplacian(torch.tensor(adj)).numpy()
    np.testing.assert_allclose(lap, [[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], atol=1e-15)
    np.testing.assert_allclose(laplacian_eigenvalues_reference(adj), [0.0, 1.0, 2.0], atol=1e-12)


def test_triangle_spectrum_is_not_symmetric():
    """A triangle is not bipartite: L's eigenvalues 0, 3/2, 3/2 are not mirrored about 1 (a path's are)."""
    tri = np.ones((3, 3)) - np.eye(3)
    np.testing.assert_allclose(laplacian_eigenvalues_reference(tri), [0.0, 1.5, 1.5], atol=1e-12)
    half = tri * 0.5  # degrees 1: the same normalised Laplacian
    np.testing.assert_allclose(laplacian_eigenvalues_reference(half), [0.0, 1.5, 1.5], atol=1e-12)
    quarter = tri * 0.25  # degrees 0.5 < 1
    np.testing.assert_allclose(laplacian_eigenvalues_reference(quarter), [0.0, 1.5, 1.5], atol=1e-12)

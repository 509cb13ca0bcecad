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


def test_a_node_whose_degree_is_not_positive_gets_no_scaling():
    """D^{-1/2} = 0 for a node of degree <= 0 whatever its row holds: with signed weights node 0 has degree
    1 - 1 = 0 and node 2 degree -1, so only node 1 is scaled, and its row and column hold nothing but the
    edges to 0 and 2, which the zeros of those nodes cancel: L = I."""
    a = np.array([[0.0, 1.0, -1.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    np.testing.assert_allclose(laplacian_eigenvalues_reference(a), [1.0, 1.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(normalized_laplacian(torch.tensor(a)).numpy(), np.eye(3), atol=1e-15)


SIGNED = np.array(  # node 0: degree 1 - 1 = 0 with two edges; nodes 1 to 4: degrees 4, 1, 4, 3
    [
        [0.0, 1.0, -1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 1.0, 2.0],
        [-1.0, 0.0, 0.0, 2.0, 0.0],
        [0.0, 1.0, 2.0, 0.0, 1.0],
        [0.0, 2.0, 0.0, 1.0, 0.0],
    ]
)


def test_references_decompose_the_laplacian_of_a_zero_degree_node_with_edges():
    """Both numpy references decompose the matrix ``normalized_laplacian`` builds (node 0 unscaled although
    its row holds edges): its eigenvalues in ascending order, and unit eigenvectors in that order."""
    lap = normalized_laplacian(torch.tensor(SIGNED)).numpy()
    assert lap[0, 0] == 1.0 and not lap[0, 1:].any()
    w = np.linalg.eigvalsh(lap)
    assert np.diff(w).min() > 0.1  # simple eigenvalues: each eigenvector is unique up to sign
    np.testing.assert_allclose(laplacian_eigenvalues_reference(SIGNED), w, atol=1e-12)
    v = laplacian_eigenvectors_reference(SIGNED, 5)
    np.testing.assert_allclose(lap @ v, v * w, atol=1e-12)
    np.testing.assert_allclose(v.T @ v, np.eye(5), atol=1e-12)


def test_references_compute_in_float64_whatever_the_input():
    """float32 (or integer) adjacency is read as float64: the same numbers as from the float64 matrix (the
    degrees 2, 3 and 1 make 1 / sqrt(d) inexact in float32)."""
    a = np.array([[0.0, 2.0, 0.0, 0.0], [2.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    for other in (a.astype(np.float32), a.astype(np.int64)):
        np.testing.assert_array_equal(
            laplacian_eigenvalues_reference(other), laplacian_eigenvalues_reference(a)
        )
        np.testing.assert_array_equal(
            laplacian_eigenvectors_reference(other, 3), laplacian_eigenvectors_reference(a, 3)
        )

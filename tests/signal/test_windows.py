"""Window arithmetic at its boundaries, worked by hand: a window exactly the recording's length, the last
window ending exactly at the end, unit windows and strides, integer dtypes of empty and full results."""

import numpy as np
import pytest

from biodyn.errors import ConfigError
from biodyn.signal import make_windows, window_starts


@pytest.mark.parametrize(
    ("n", "w", "s", "want"),
    [
        (10, 10, 3, [0]),  # exactly one window
        (9, 10, 3, []),  # one sample short
        (11, 10, 2, [0]),  # the next start (2) would end at 12 > 11
        (12, 10, 2, [0, 2]),  # the last window ends exactly at the end
        (4, 1, 1, [0, 1, 2, 3]),  # unit window and stride are valid
    ],
)
def test_window_starts_by_hand(n, w, s, want):
    got = window_starts(n, w, s)
    assert got.tolist() == want and got.dtype == np.int64


@pytest.mark.parametrize(("w", "s"), [(0, 1), (1, 0), (-1, 1), (1, -2)])
def test_window_and_stride_must_be_positive(w, s):
    with pytest.raises(ConfigError, match="positive"):
        window_starts(10, w, s)


def test_make_windows_by_hand():
    x = np.arange(2 * 7).reshape(2, 7)
    wins, lab = make_windows(x, 3, 2)
    assert lab is None
    assert wins.shape == (3, 2, 3)
    assert wins[:, 0].tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert wins[:, 1].tolist() == [[7, 8, 9], [9, 10, 11], [11, 12, 13]]
    wins1, lab1 = make_windows(np.arange(7), 3, 2, labels=np.arange(7) % 2)  # (T,) becomes (1, T)
    assert wins1.shape == (3, 1, 3) and wins1[2, 0].tolist() == [4, 5, 6]
    assert lab1.tolist() == [[0, 1, 0], [0, 1, 0], [0, 1, 0]]
    with pytest.raises(ConfigError, match="labels have 6 samples but x has 7"):
        make_windows(x, 3, 2, labels=np.zeros(6))


@pytest.mark.parametrize("kind", [np.int32, np.uint64])
def test_starts_are_int64_whatever_integer_type_the_counts_come_in(kind):
    """Counts read from a table may be NumPy integers; an unsigned one would make np.arange's default dtype
    float64."""
    got = window_starts(kind(12), 10, 2)
    assert got.tolist() == [0, 2] and got.dtype == np.int64

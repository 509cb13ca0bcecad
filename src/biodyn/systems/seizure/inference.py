"""Brain-Go-Brr inference pieces shared by detection on a recording and evaluation of a run: where the
overlapping windows of a record start, and one overlap-average that stitches their per-sample
probabilities into one track."""

from __future__ import annotations

import numpy as np


def window_starts(n: int, win: int, stride: int) -> list[int]:
    """Starts of windows of ``win`` samples every ``stride`` samples over ``n`` samples (``n >= win``); the
    last window ends at the end of the record."""
    starts = list(range(0, max(n - win, 0) + 1, stride))
    if starts[-1] + win < n:
        starts.append(n - win)
    return starts


class OverlapAverage:
    """Per-sample mean of window rows added at their start sample: ``add(start, row (win,))`` for every
    window, then :meth:`mean` gives ``(probs (length,), covered (length,) bool)``; an uncovered sample's
    probability is 0."""

    def __init__(self, length: int):
        self.total = np.zeros(length, np.float64)
        self.count = np.zeros(length, np.float64)

    def add(self, start: int, row: np.ndarray) -> None:
        row = np.asarray(row, np.float64).reshape(-1)
        self.total[start : start + len(row)] += row
        self.count[start : start + len(row)] += 1

    def mean(self) -> tuple[np.ndarray, np.ndarray]:
        covered = self.count > 0
        return np.where(covered, self.total / np.maximum(self.count, 1), 0.0), covered

"""Which side of a threshold or a default a computation took, counted for tests (numpy/torch-free).

A kernel or reader calls :func:`hit` with a dotted name where it picks one of several paths (the exact or
the factorised in-chunk decay of the chunked gated delta rule, a padded last chunk, a high-pass-only
filter design, an EDF whose data records are not 1 s long); a test wraps the call in
``with count() as seen:`` and asserts ``seen["gated_delta.decay.exact"] > 0``. With no ``count`` block open
a hit costs one empty-list check, so the calls stay in the library code.

The names in use are listed in :data:`NAMES`; ``tests/test_branches.py`` checks that every one of them is
asserted by at least one test.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

NAMES = (
    "gated_delta.decay.exact",  # exp(G_i - G_j) per pair: the in-chunk decay range is too wide to factorise
    "gated_delta.decay.outer",  # exp(G_i - m) exp(m - G_j): 2C exponentials instead of C^2
    "gated_delta.pad",  # T not a multiple of the chunk: the last chunk is padded
    "gated_delta.inverse.solve",  # one triangular solve (C < 16 or C odd)
    "gated_delta.inverse.halves",  # the block inverse by halves (even C >= 16)
    "ssd.pad",  # the last chunk of a block is padded
    "ssd.step.grouped",  # ssd_step with G > 1 groups of B/C shared by H/G heads
    "filters.bandpass",
    "filters.highpass",
    "filters.lowpass",
    "pipeline.resample",  # the chain changes the rate (the filters run before, at the input rate)
    "edf.record_not_1s",  # an EDF whose data records last other than 1 s
)

_COUNTERS: list[Counter] = []


def hit(name: str) -> None:
    """Count one pass through the path ``name`` in every open :func:`count` block."""
    for c in _COUNTERS:
        c[name] += 1


@contextlib.contextmanager
def count() -> Iterator[Counter]:
    """``with count() as seen:`` gives a :class:`collections.Counter` of the paths taken inside."""
    c: Counter = Counter()
    _COUNTERS.append(c)
    try:
        yield c
    finally:
        _COUNTERS.remove(c)

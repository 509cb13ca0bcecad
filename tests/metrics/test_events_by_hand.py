"""NEDC event scoring worked out by hand where the DP alignment substitutes or inserts a label more than
once, where a TAES hypothesis absorbs later ones, and at the edges of the cost comparison."""

import pytest

from biodyn.errors import RecordingError
from biodyn.metrics.events import (
    Segment,
    _eq,
    dp_alignment,
    normalize,
    sample_epochs,
    score_dpalign,
    score_taes,
)
from biodyn.types import Event

S, B = "seiz", "bckg"
L2 = (S, B)


def _segs(labels):
    return [Segment(float(k), float(k + 1), lab) for k, lab in enumerate(labels)]


def _counts(per):
    return {lab: (c.targets, c.hits, c.misses, c.false_alarms) for lab, c in per.items()}


def test_dpalign_counts_repeated_substitutions_with_its_penalties():
    ref, hyp = _segs([S, B, S, B]), _segs([B, S, B, S])
    # substitutions at 0.4: four of them (1.6) beat shifting by one (a deletion and an insertion, 2)
    per, conf, insdel = score_dpalign(ref, hyp, L2, (1.0, 1.0, 0.4))
    # each label is missed twice (substituted away) and falsely detected twice (substituted into)
    assert _counts(per) == {S: (2, 0, 2, 2), B: (2, 0, 2, 2)}
    assert conf.tolist() == [[0.0, 2.0], [2.0, 0.0]]
    assert insdel == {S: {"ins": 0.0, "del": 0.0}, B: {"ins": 0.0, "del": 0.0}}
    # at the default substitution penalty 1 the shift is cheaper: an insertion of bckg first, a deletion of
    # bckg last, three matches between
    per, conf, insdel = score_dpalign(ref, hyp, L2)
    assert _counts(per) == {S: (2, 2, 0, 0), B: (2, 1, 1, 1)}
    assert conf.tolist() == [[2.0, 0.0], [0.0, 1.0]]
    assert insdel == {S: {"ins": 0.0, "del": 0.0}, B: {"ins": 1.0, "del": 1.0}}


def test_dpalign_counts_repeated_insertions():
    # hypothesis bckg seiz bckg against reference seiz: bckg inserted twice
    per, conf, insdel = score_dpalign(_segs([S]), _segs([B, S, B]), L2)
    assert _counts(per) == {S: (1, 1, 0, 0), B: (0, 0, 0, 2)}
    assert conf.tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert insdel == {S: {"ins": 0.0, "del": 0.0}, B: {"ins": 2.0, "del": 0.0}}


def test_dp_alignment_leading_insertion_before_a_match():
    # the backtrace reaches the first row with one hypothesis label left: an insertion, never a deletion
    assert dp_alignment([S], [S, S], L2) == [(None, S), (S, S)]
    assert dp_alignment([S, B], [S, S, B], L2) == [(None, S), (S, S), (B, B)]


def test_costs_exactly_the_tolerance_apart_compare_equal():
    assert _eq(0.0, 1e-9) and _eq(1e-9, 0.0)  # the tolerance (1e-9 below a cost of 1) is inclusive


def test_taes_absorbed_hypothesis_adds_its_false_alarm():
    # reference seiz 10-20; hypotheses 5-12 (starts 5 s early: hit .2, false alarm .5) and 18-25 (ends 5 s
    # late: hit .2, false alarm .5). The first ends before the reference and absorbs the second: one scoring
    # with hit .4, miss .6, false alarm 1.0
    ref = normalize([Event(10, 10, S)], 100.0)
    hyp = normalize([Event(5, 7, S), Event(18, 7, S)], 100.0)
    c = score_taes(ref, hyp, L2)[S]
    assert (c.targets, c.hits, c.misses, c.false_alarms) == (1, pytest.approx(0.4), pytest.approx(0.6), 1.0)


def test_taes_absorbs_every_later_hypothesis_of_the_label():
    # three hypotheses of one label inside one reference, in a row (segments as given, not normalised): the
    # first absorbs the second and the third, 1 s each of 10 s
    c = score_taes([Segment(10, 20, S)], [Segment(11, 12, S), Segment(13, 14, S), Segment(15, 16, S)], (S,))[
        S
    ]
    assert (c.targets, c.hits, c.misses, c.false_alarms) == (1, pytest.approx(0.3), pytest.approx(0.7), 0.0)


# ---- normalisation at its edges
def test_normalize_rounds_times_to_4_digits():
    assert normalize([Event(1.23456, 1.0, S)], 10.0) == [
        Segment(0.0, 1.2346, B),
        Segment(1.2346, 2.2346, S),
        Segment(2.2346, 10.0, B),
    ]


def test_normalize_clips_an_end_within_1e4_s_past_the_file_and_refuses_one_further():
    assert normalize([Event(9.0, 1.0001, S)], 10.0) == [Segment(0.0, 9.0, B), Segment(9.0, 10.0, S)]
    with pytest.raises(RecordingError, match="ends after the file's duration"):
        normalize([Event(9.0, 1.01, S)], 10.0)


def test_normalize_event_of_zero_duration_adds_nothing():
    assert normalize([Event(5.0, 0.0, S)], 10.0) == [Segment(0.0, 10.0, B)]


def test_normalize_event_ending_at_the_file_end_is_last():
    assert normalize([Event(5.0, 5.0, S)], 10.0) == [Segment(0.0, 5.0, B), Segment(5.0, 10.0, S)]


def test_normalize_merges_touching_events_first_and_later_in_the_file():
    assert normalize([Event(0.0, 1.0, S), Event(1.0, 1.0, S)], 5.0) == [
        Segment(0.0, 2.0, S),
        Segment(2.0, 5.0, B),
    ]
    got = normalize([Event(1.0, 1.0, S), Event(3.0, 1.0, S), Event(4.0, 1.0, S)], 10.0)
    assert got == [
        Segment(0.0, 1.0, B),
        Segment(1.0, 2.0, S),
        Segment(2.0, 3.0, B),
        Segment(3.0, 5.0, S),
        Segment(5.0, 10.0, B),
    ]


def test_epochs_before_the_first_segment_read_its_label():
    # segments that do not start at 0 (not normalised): the epochs before the first one read its label
    segs = [Segment(1.0, 2.0, S), Segment(2.0, 3.0, B)]
    assert sample_epochs(segs, 3.0, 0.5, L2).tolist() == [0, 0, 0, 0, 1, 1]

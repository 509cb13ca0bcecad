"""Scores worked out on paper at their edges: ECE bins and their boundaries, AUPRC and F1 at the corner
cases, NEDC parameter files with and without their optional sections, epoch sampling at segment starts,
kappa of degenerate confusion matrices, per-label kappa of a three-class matrix."""

from pathlib import Path

import numpy as np
import pytest

from biodyn.errors import ConfigError, RecordingError
from biodyn.io.events import AnnotationFile
from biodyn.metrics.classification import auprc, ece, f1_at_threshold
from biodyn.metrics.events import (
    Segment,
    cohen_kappa_from_confusion,
    epoch_confusion,
    per_label_kappa,
    sample_epochs,
)
from biodyn.metrics.nedc import NedcParams, _joint_runs
from biodyn.types import Event


# ---- ECE: bins (0, 1/n], (1/n, 2/n], ... with 0 in the first
def test_ece_two_bins_by_hand():
    p = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    y = np.array([0, 0, 1, 1, 1])
    # bin (0, .5] holds 0, .25 and .5 (hits 1, confidence .75); bin (.5, 1] holds .75, 1 (hits 2, conf 1.75)
    assert ece(p, y, n_bins=2) == pytest.approx((0.25 + 0.25) / 5)
    assert ece(p, y, n_bins=1) == pytest.approx(abs(3 - 2.5) / 5)  # one bin: |sum hits - sum conf| / N
    assert ece([0.8], [1]) == pytest.approx(0.2)  # a single prediction
    assert np.isnan(ece([], []))
    with pytest.raises(ConfigError, match="n_bins"):
        ece(p, y, n_bins=0)


def test_ece_multiclass_top_label_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    y = np.array([0, 2, 2])  # hits 1, 0, 1 at confidences .7, .6, .6
    assert ece(p, y, n_bins=2) == pytest.approx(abs(2 - 1.9) / 3)
    assert ece(p, y, n_bins=10) == pytest.approx((abs(1 - 0.7) + abs(1 - 1.2)) / 3)


def test_auprc_corner_cases():
    assert np.isnan(auprc([0, 0, 0], [0.1, 0.2, 0.3]))
    # one positive ranked second of three: precision at its recall is 1/2
    assert auprc([0, 1, 0], [0.9, 0.5, 0.1]) == pytest.approx(0.5)


def test_f1_at_threshold_edges():
    # 0.5 >= 0.5
    assert f1_at_threshold([1, 0, 1], [0.5, 0.49, 0.2]) == pytest.approx(2 * 1 / (2 * 1 + 0 + 1))
    assert f1_at_threshold([0, 0], [0.1, 0.2]) == 0.0  # no positives anywhere: 0, not 1
    assert f1_at_threshold([1, 1], [0.6, 0.7], threshold=0.65) == pytest.approx(2 / 3)


# ---- NEDC parameter files
def test_nedc_params_sections_and_defaults():
    full = {
        "MAP": {"SEIZ": "seiz, tcsz", "BCKG": "bckg,null"},
        "NEDC_DPALIGN": {"penalty_del": "0.5", "penalty_ins": "2", "penalty_sub": "3"},
        "NEDC_EPOCH": {"epoch_duration": "1.0", "null_class": "BCKG"},
    }
    p = NedcParams.from_mapping(full)
    assert p.symbols == {"seiz": "seiz", "tcsz": "seiz", "bckg": "bckg", "null": "bckg"}
    assert (p.null_class, p.penalty_del, p.penalty_ins, p.penalty_sub, p.epoch_s) == (
        "bckg",
        0.5,
        2.0,
        3.0,
        1.0,
    )
    only_map = NedcParams.from_mapping({"MAP": {"SEIZ": "seiz", "BCKG": "bckg"}})
    assert only_map == NedcParams()  # every other value is NEDC's default
    assert (only_map.penalty_del, only_map.penalty_ins, only_map.penalty_sub, only_map.epoch_s) == (
        1,
        1,
        1,
        0.25,
    )
    with pytest.raises(RecordingError, match="epoch_duration must be > 0"):
        NedcParams.from_mapping({**full, "NEDC_EPOCH": {"epoch_duration": "0"}})
    with pytest.raises(RecordingError, match="null_class 'x'"):
        NedcParams.from_mapping({**full, "NEDC_EPOCH": {"null_class": "x"}})


# ---- epoch sampling, confusion, kappa
def test_sample_epochs_at_centres_and_starts():
    segs = [Segment(0.0, 0.75, "bckg"), Segment(0.75, 2.0, "seiz"), Segment(2.0, 3.0, "bckg")]
    # centres .25 .75 1.25 1.75 2.25 2.75; the centre .75 is exactly where seiz starts: it reads seiz
    assert sample_epochs(segs, 3.0, 0.5, ("seiz", "bckg")).tolist() == [1, 0, 0, 0, 1, 1]
    assert len(sample_epochs(segs, 2.9, 0.5, ("seiz", "bckg"))) == 5  # a partial last epoch is not sampled
    assert len(sample_epochs(segs, 2.9999998, 0.5, ("seiz", "bckg"))) == 6  # float noise is rounded away


def test_epoch_confusion_keeps_its_shape_when_labels_are_missing():
    segs = [Segment(0.0, 2.0, "seiz")]
    conf = epoch_confusion(segs, segs, 2.0, ("seiz", "bckg"), epoch_s=0.5)
    assert conf.tolist() == [[4.0, 0.0], [0.0, 0.0]] and conf.dtype == np.float64


def test_kappa_of_degenerate_and_three_class_matrices():
    assert cohen_kappa_from_confusion(np.array([[5.0, 0.0], [0.0, 0.0]])) == 1.0  # one class only: p_e = 1
    conf = np.array([[4.0, 1.0, 0.0], [2.0, 3.0, 1.0], [0.0, 1.0, 8.0]])
    # label 0 against the rest: tp 4, fn 1, fp 2, tn 13 -> p_o 17/20, p_e (5*6 + 15*14) / 400 = 0.6
    k0 = (17 / 20 - 0.6) / (1 - 0.6)
    got = per_label_kappa(conf)
    assert got[0] == pytest.approx(k0)
    for i, k in enumerate(got):  # each equals the 2x2 collapse computed from scratch
        tp, fn, fp = conf[i, i], conf[i].sum() - conf[i, i], conf[:, i].sum() - conf[i, i]
        tn = conf.sum() - tp - fn - fp
        n = conf.sum()
        po, pe = (tp + tn) / n, ((tp + fn) * (tp + fp) + (fp + tn) * (fn + tn)) / n**2
        assert k == pytest.approx((po - pe) / (1 - pe))


def test_joint_runs_by_hand():
    assert _joint_runs(np.array([]), np.array([])) == (0, 0)
    assert _joint_runs(np.array([1]), np.array([1])) == (1, 0)
    assert _joint_runs(np.array([1]), np.array([0])) == (0, 1)
    # runs of (ref, hyp): (0,0)(0,0) | (0,1) | (1,1)(1,1) -> agree 2, disagree 1
    assert _joint_runs(np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 1])) == (2, 1)
    assert _joint_runs(np.array([0, 1]), np.array([1, 1])) == (1, 1)


def test_szcore_annotations_drop_background_and_pass_options():
    from biodyn.metrics.szcore import szcore_score_annotations

    ref = AnnotationFile(
        Path("r.csv"), [Event(0, 1000, "bckg"), Event(1000, 30, "seiz"), Event(1030, 2570, "bckg")], 3600.0
    )
    hyp = AnnotationFile(Path("h.csv"), [Event(0, 975, "bckg"), Event(975, 10, "seiz")], 3600.0)
    r = szcore_score_annotations([ref], [hyp])
    # ends 15 s before onset: inside the 30 s pre-tolerance
    assert (r["ref_events"], r["tp"], r["fp"]) == (
        1,
        1,
        0,
    )
    r = szcore_score_annotations([ref], [hyp], tolerance_start_s=10.0)
    assert (r["ref_events"], r["tp"], r["fp"]) == (1, 0, 1)
    # with null_label="seiz" the two bckg events count: 30 s apart they merge (< 90 s) into 0-3600 s, which
    # SzCORE splits into 12 events of 300 s
    assert szcore_score_annotations([ref], [hyp], null_label="seiz")["ref_events"] == 12


# ---- TAES at its boundaries
def _taes(ref, hyp):
    from biodyn.metrics.events import score_taes

    c = score_taes(
        [Segment(a, b, "seiz") for a, b in ref], [Segment(a, b, "seiz") for a, b in hyp], ("seiz",)
    )
    return (
        c["seiz"].targets,
        round(c["seiz"].hits, 10),
        round(c["seiz"].misses, 10),
        round(c["seiz"].false_alarms, 10),
    )


def test_taes_hypothesis_ending_exactly_with_the_reference_uses_up_the_next_one():
    # ref1 [10, 20] meets both hypotheses in turn (each unused one touching it by whole seconds is scored):
    # hyp1 [15, 20] ends at (not before) ref1's end: hit .5, miss .5, and it uses up ref2 [20.5, 30], which it
    # touches in second 20, as a full miss; hyp2 [20.2, 25] also ends after ref1: hit -0.02 (NEDC does not
    # clip it), false alarm .5, miss 1.02, and uses up ref2 again (+1 miss). Totals: hits .48, misses 3.52.
    assert _taes([(10, 20), (20.5, 30)], [(15, 20), (20.2, 25)]) == (2, 0.48, 3.52, 0.5)


def test_taes_needs_a_strict_overlap_before_whole_second_touching():
    # hyp [5, 10.1] touches ref [10.2, 20] by whole seconds (both in second 10) but does not overlap it
    assert _taes([(10.2, 20)], [(5, 10.1)]) == (1, 0.0, 1.0, 1.0)
    assert _taes([(10, 20)], [(5, 10)]) == (1, 0.0, 1.0, 1.0)  # ends exactly at the onset
    assert _taes([(10, 20)], [(20, 25)]) == (1, 0.0, 1.0, 1.0)  # starts exactly at the end
    assert _taes([(10, 20)], [(5, 10.5)]) == (1, 0.05, 0.95, 0.5)  # overlaps by 0.5 s


# ---- DP alignment backtrace by hand
L2 = ("seiz", "bckg")


def test_dp_alignment_deletions_insertions_and_penalties():
    from biodyn.metrics.events import dp_alignment

    s, b = "seiz", "bckg"
    assert dp_alignment([s, b, s], [s, s], L2) == [(s, s), (b, None), (s, s)]  # one deletion in the middle
    assert dp_alignment([s, s], [s, b, s], L2) == [(s, s), (None, b), (s, s)]  # one insertion
    assert dp_alignment([b, s], [s], L2) == [(b, None), (s, s)]  # a leading deletion
    assert dp_alignment([s], [b, s], L2) == [(None, b), (s, s)]  # a leading insertion
    assert dp_alignment([], [s, b], L2) == [(None, s), (None, b)]
    assert dp_alignment([s, b], [], L2) == [(s, None), (b, None)]
    # a substitution costs 1 by default (ties prefer it); at 3 a deletion plus an insertion (2) is cheaper
    assert dp_alignment([s], [b], L2) == [(s, b)]
    assert dp_alignment([s], [b], L2, penalties=(1.0, 1.0, 3.0)) == [(None, b), (s, None)]
    # cheap deletions: one deletion and one insertion (1.1) beat two substitutions (2); of the two such
    # alignments the backtrace, walking from the end, takes the deletion first
    assert dp_alignment([s, b], [b, s], L2, penalties=(0.1, 1.0, 1.0)) == [(None, b), (s, s), (b, None)]


def test_close_costs_compare_equal_within_a_relative_tolerance():
    from biodyn.metrics.events import _eq

    assert _eq(1.0, 1.0 + 1e-10) and not _eq(1.0, 1.0 + 1e-8)
    assert _eq(1e6, 1e6 + 1e-4) and not _eq(1e6, 1e6 + 1e-2)  # relative for large costs
    assert _eq(0.0, 5e-10) and not _eq(0.0, 2e-9)  # absolute below 1


def test_candidate_thresholds_exact_and_gridded():
    from biodyn.metrics.detection import Scored, candidate_thresholds

    recs = [Scored(np.array([0.1, 0.5, 0.5, 0.9], np.float32), 1.0, []), Scored(np.array([0.3]), 1.0, [])]
    got = candidate_thresholds(recs)
    assert got.dtype == np.float64 and got.tolist() == [
        float(np.float32(0.1)),
        0.3,
        0.5,
        float(np.float32(0.9)),
    ]
    assert len(candidate_thresholds(recs, max_candidates=4)) == 4  # exactly the cap: every value kept
    assert candidate_thresholds(recs, max_candidates=2).tolist() == [
        float(np.float32(0.1)),
        float(np.float32(0.9)),
    ]


def test_macro_scores_corner_cases():
    from biodyn.metrics.classification import macro_auroc, macro_f1

    y = np.array([[1, 0], [0, 0], [1, 0]])  # the second column never positive: skipped
    s = np.array([[0.9, 0.1], [0.2, 0.3], [0.8, 0.5]])
    assert macro_auroc(y, s) == 1.0
    assert np.isnan(macro_auroc(np.zeros((3, 2)), s))
    assert macro_f1([0, 1, 1], [0, 1, 0]) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert macro_f1([0, 0], [1, 1]) == 0.0  # class 1 never true, class 0 never predicted: both 0

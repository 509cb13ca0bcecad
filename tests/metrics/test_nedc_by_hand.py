"""NEDC scoring and its printouts worked out by hand on one small file pair: the per-file blocks with an
insertion, a confusion-matrix row with no reference epoch, and the matrix titles byte for byte."""

import math
import warnings
from pathlib import Path

import pytest

from biodyn.errors import RecordingError
from biodyn.io.events import AnnotationFile
from biodyn.metrics.nedc import NedcParams, format_per_file, format_summary, rates, score_annotations
from biodyn.testing import shared_data
from biodyn.types import Event


def _file(name, events, duration_s=100.0):
    return AnnotationFile(Path(name), [Event(a, b - a, lab) for a, b, lab in events], duration_s)


# reference: one seizure 10-20 s of 100 s; hypothesis: 12-15 s (inside it) and 40-45 s (a false alarm)
REF = _file("r.csv_bi", [(10, 20, "seiz")])
HYP = _file("h.csv_bi", [(12, 15, "seiz"), (40, 45, "seiz")])


def test_per_file_dpalign_marks_insertions_with_stars():
    # bckg seiz bckg against bckg seiz bckg seiz bckg: the backtrace matches the last three and inserts the
    # first two (upper case: the pair disagrees; *** the empty reference side)
    res = score_annotations([REF], [HYP], methods=["dpalign"], details=True)
    assert format_per_file(res["dpalign"]) == (
        "    0: r.csv_bi\n"
        "       h.csv_bi\n"
        "  Ref:   ***   ***  bckg  seiz  bckg \n"
        "  Hyp:  BCKG  SEIZ  bckg  seiz  bckg \n"
        "        (Hit: 3  Sub: 0  Ins: 2  Del: 0  Total: 2)\n"
        "\n"
    )


def test_per_file_overlap_and_epoch_blocks():
    res = score_annotations([REF], [HYP], methods=["overlap", "epoch"], details=True)
    # every reference event is hit (bckg 0-10, seiz 10-20, bckg 20-100); the seizure at 40-45 s is a false
    # alarm; NEDC's total is hits + misses + false alarms
    assert format_per_file(res["overlap"]) == (
        "    0: r.csv_bi\n"
        "       h.csv_bi\n"
        "  Ref: bckg seiz bckg\n"
        "  Hyp: bckg seiz bckg seiz bckg\n"
        "       (Hit: 3  Miss: 0  False Alarms: 1  Total: 4)\n"
        "\n"
    )
    # runs of (reference, hypothesis) epochs: 0-10 agree, 10-12 seiz/bckg, 12-15 agree, 15-20 seiz/bckg,
    # 20-40 agree, 40-45 bckg/seiz, 45-100 agree
    assert format_per_file(res["epoch"]) == (
        "    0: r.csv_bi\n"
        "       h.csv_bi\n"
        "  Ref:  bckg  SEIZ  seiz  SEIZ  bckg  BCKG  bckg \n"
        "  Hyp:  bckg  BCKG  seiz  BCKG  bckg  SEIZ  bckg \n"
        "        (Hit: 4  Sub: 3  Ins: 0  Del: 0  Total: 3)\n"
        "\n"
    )


def test_confusion_row_without_reference_events_prints_zero_percent():
    # no seizure in the reference: the DP matrix's seiz row is empty and prints 0 %, not a division by zero
    res = score_annotations([_file("r0.csv_bi", [])], [HYP], methods=["dpalign"])
    lines = format_summary(res).splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("  Ref/Hyp:"))
    assert lines[k + 1 : k + 3] == [
        "     seiz:        0.00 (  0.00%)        0.00 (  0.00%)",
        "     bckg:        0.00 (  0.00%)        1.00 (100.00%)",
    ]


def test_matrix_titles_are_nedcs_byte_for_byte():
    # NEDC centres each title in 52 columns, trailing spaces included
    golden = shared_data("tusz_nedc", "test", "results", "summary.txt").read_text().splitlines()
    want = [line for line in golden if "Confusion Matrix" in line]
    res = score_annotations([REF], [HYP])
    got = [line for line in format_summary(res).splitlines() if "Confusion Matrix" in line]
    assert len(want) == 3 and got == want


def test_rates_with_zero_denominators_are_nan():
    r = rates(0.0, 10.0, 0.0, 0.0)  # no positive anywhere: everything about positives is undefined
    for k in ("sensitivity", "precision", "miss_rate", "fdr", "f1", "mcc"):
        assert math.isnan(r[k]), k
    assert (r["specificity"], r["npv"], r["fpr"], r["for"], r["accuracy"], r["prevalence"]) == (
        1,
        1,
        0,
        0,
        1,
        0,
    )
    r = rates(0, 0, 0, 0)
    assert all(math.isnan(v) for v in r.values())


def test_summary_f1_divides_by_the_last_labels_precision_plus_sensitivity():
    # three classes: nedc_eeg_eval v6.0.0 divides 2 * PPV * TPR of the totals by the *last* label's PPV + TPR
    ref = _file("r.csv_bi", [(10, 20, "seiz"), (50, 60, "fnsz")])
    hyp = _file("h.csv_bi", [(12, 15, "seiz"), (40, 45, "seiz"), (70, 75, "fnsz")])
    res = score_annotations([ref], [hyp], methods=["overlap"], labels=("seiz", "fnsz", "bckg"))["overlap"]
    pl, s = res.per_label, res.summary
    tp = sum(d["tp"] for d in pl.values())
    fp = sum(d["fp"] for d in pl.values())
    fn = sum(d["fn"] for d in pl.values())
    ppv, tpr = tp / (tp + fp), tp / (tp + fn)
    last, middle = pl["bckg"], pl["fnsz"]
    assert last["precision"] + last["sensitivity"] != middle["precision"] + middle["sensitivity"]
    assert s["f1"] == pytest.approx(2 * ppv * tpr / (last["precision"] + last["sensitivity"]))
    assert s["f1_harmonic"] == pytest.approx(2 * ppv * tpr / (ppv + tpr))


def test_summary_f1_is_zero_when_the_last_label_scores_nothing():
    # ref seiz 0-50, bckg 50-100; hyp the other way round: only touching, so no hit at all, and bckg's
    # precision and sensitivity are both 0
    ref = _file("r.csv_bi", [(0, 50, "seiz")])
    hyp = _file("h.csv_bi", [(50, 100, "seiz")])
    res = score_annotations([ref], [hyp], methods=["overlap"])["overlap"]
    assert (res.per_label["bckg"]["precision"], res.per_label["bckg"]["sensitivity"]) == (0.0, 0.0)
    assert res.summary["f1"] == 0.0


# ---- score_annotations' options and its per-file rows
ALL_BCKG = _file("r0.csv_bi", [])  # no event: background throughout
ALL_SEIZ = _file("h1.csv_bi", [(0, 100, "seiz")])


def test_rows_hold_label_sequences_only_when_asked():
    res = score_annotations([REF], [HYP])
    assert res["overlap"].per_file[0] == {
        "ref": "r.csv_bi",
        "hyp": "h.csv_bi",
        "hits": 3,
        "misses": 0,
        "false_alarms": 1,
        "targets": 3,
        "total": 4,
    }
    assert "alignment" not in res["dpalign"].per_file[0] and "runs" not in res["epoch"].per_file[0]


def test_substitution_counts_as_a_false_alarm_but_not_an_insertion():
    # all background against all seizure: DP substitutes seiz for bckg; its false alarm is no insertion
    res = score_annotations([ALL_BCKG], [ALL_SEIZ], methods=["dpalign", "overlap"])
    dp = res["dpalign"]
    assert (dp.per_label["seiz"]["false_alarms"], dp.per_label["seiz"]["insertions"]) == (1, 0)
    assert (dp.per_label["bckg"]["misses"], dp.per_label["bckg"]["deletions"]) == (1, 0)
    assert dp.confusion == [[0.0, 0.0], [1.0, 0.0]]
    assert res["overlap"].confusion is None  # only DP, epoch and IRA have a matrix


def test_dp_penalties_reach_the_counts_and_the_alignment():
    # a substitution at 3 costs more than a deletion plus an insertion (2)
    params = NedcParams(penalty_sub=3.0)
    dp = score_annotations([ALL_BCKG], [ALL_SEIZ], methods=["dpalign"], params=params, details=True)[
        "dpalign"
    ]
    row = dp.per_file[0]
    assert row["alignment"] == [(None, "seiz"), ("bckg", None)]
    assert (row["hits"], row["substitutions"], row["insertions"], row["deletions"]) == (0, 0, 1, 1)
    assert dp.per_label["seiz"]["insertions"] == 1 and dp.per_label["bckg"]["deletions"] == 1


def test_dp_insertions_add_up_over_files():
    res = score_annotations([REF, REF], [HYP, HYP], methods=["dpalign"])["dpalign"]
    # each pair inserts one bckg and one seiz (see the per-file test)
    assert (res.per_label["seiz"]["insertions"], res.per_label["bckg"]["insertions"]) == (2, 2)
    assert res.summary["insertions"] == 4


def test_labels_and_epoch_duration_override_the_parameters():
    ref = _file("r.csv_bi", [(10, 20, "seiz"), (50, 60, "fnsz")])
    hyp = _file("h.csv_bi", [(12, 15, "seiz"), (55, 58, "fnsz")])
    res = score_annotations([ref], [hyp], labels=("seiz", "fnsz", "bckg"), epoch_s=1.0)
    assert res["overlap"].labels == ("seiz", "fnsz", "bckg")
    assert {lab: d["hits"] for lab, d in res["overlap"].per_label.items()} == {
        "seiz": 1,
        "fnsz": 1,
        "bckg": 3,
    }
    # 1 s epochs: 100 of them; seiz 10-20 ref, 12-15 hyp -> 3 agree, 7 read as bckg
    conf = res["epoch"].confusion
    assert sum(map(sum, conf)) == 100 and conf[0] == [3.0, 0.0, 7.0]


def test_a_null_class_of_another_name():
    # the background class may be called anything: the same file scores the same
    params = NedcParams.from_mapping(
        {"MAP": {"SEIZ": "seiz", "BACKGROUND": "bckg"}, "NEDC_EPOCH": {"null_class": "background"}}
    )
    mine = score_annotations([REF], [HYP], methods=["overlap", "epoch"], params=params)
    ref = score_annotations([REF], [HYP], methods=["overlap", "epoch"])
    assert mine["overlap"].per_label["background"] == ref["overlap"].per_label["bckg"]
    assert mine["epoch"].confusion == ref["epoch"].confusion


def test_inter_rater_agreement_alone():
    both = score_annotations([REF], [HYP], methods=["epoch", "ira"])["ira"]
    alone = score_annotations([REF], [HYP], methods=["ira"])["ira"]
    assert alone.method == "ira" and alone.confusion == both.confusion and alone.kappa == both.kappa
    # 400 epochs: seiz 10-20 s against 12-15 s and 40-45 s
    assert alone.confusion == [[12.0, 28.0], [20.0, 340.0]]


def test_epoch_confusion_of_a_file_that_is_all_seizure():
    res = score_annotations([ALL_SEIZ], [ALL_SEIZ], methods=["epoch"])["epoch"]
    assert res.confusion == [[400.0, 0.0], [0.0, 0.0]]


def test_epoch_runs_start_at_the_first_epoch():
    ref = _file("r.csv_bi", [(0, 0.25, "seiz")])  # only the first epoch is seizure
    row = score_annotations([ref], [ALL_BCKG], methods=["epoch"], details=True)["epoch"].per_file[0]
    assert row["runs"] == [("seiz", "bckg"), ("bckg", "bckg")]


def test_a_file_shorter_than_an_epoch_has_undefined_rates_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = score_annotations([_file("r.csv_bi", [], 0.1)], [_file("h.csv_bi", [], 0.1)], methods=["epoch"])
    s = res["epoch"].summary
    assert s["total"] == 0 and math.isnan(s["sensitivity"]) and math.isnan(s["miss_rate"])


def test_hypothesis_duration_within_1_ms_of_the_reference():
    # 2**-11 s makes the 1 ms difference exact in binary: exactly at the tolerance is accepted
    short = 2.0**-11
    score_annotations(
        [_file("r.csv_bi", [], short)], [_file("h.csv_bi", [], short + 0.001)], methods=["overlap"]
    )
    with pytest.raises(RecordingError, match=r"h\.csv_bi: duration 100.5 s disagrees"):
        score_annotations([REF], [_file("h.csv_bi", [], 100.5)], methods=["overlap"])


def test_an_event_past_the_end_names_its_file():
    late = _file("late.csv_bi", [(95, 105, "seiz")])
    with pytest.raises(RecordingError, match=r"^late\.csv_bi: event 95-105 s ends after"):
        score_annotations([late], [HYP], methods=["overlap"])
    with pytest.raises(RecordingError, match=r"^late\.csv_bi: event 95-105 s ends after"):
        score_annotations([REF], [late], methods=["overlap"])

"""Hand-worked cases for normalisation, OVERLAP and EPOCH scoring."""

import numpy as np
import pytest

from biodyn.errors import ConfigError, RecordingError
from biodyn.io.events import read_annotation_files, read_nedc_list, read_nedc_params
from biodyn.metrics.events import (
    Segment,
    cohen_kappa_from_confusion,
    epoch_confusion,
    normalize,
    score_overlap,
)
from biodyn.metrics.nedc import score_annotations
from biodyn.types import Event

L = ("seiz", "bckg")


def score_files(refs, hyps, **kw):
    return score_annotations(read_annotation_files(refs), read_annotation_files(hyps), **kw)


def seiz(a, b):
    return Event(a, b - a, "seiz")


def ov(ref, hyp, dur=100.0):
    c = score_overlap(normalize(ref, dur), normalize(hyp, dur), L)["seiz"]
    return c.targets, c.hits, c.misses, c.false_alarms


def test_normalize_fills_merges_and_sorts():
    segs = normalize([seiz(50, 60), seiz(10, 20), seiz(20, 30)], 100.0)
    assert segs == [
        Segment(0, 10, "bckg"),
        Segment(10, 30, "seiz"),
        Segment(30, 50, "bckg"),
        Segment(50, 60, "seiz"),
        Segment(60, 100, "bckg"),
    ]
    assert normalize([], 5.0) == [Segment(0, 5.0, "bckg")]


def test_touching_events_merge_into_one_target():
    assert ov([seiz(10, 20), seiz(20, 30)], [seiz(25, 26)]) == (1, 1, 0, 0)


def test_tiny_overlap_is_a_hit_and_touching_is_not():
    assert ov([seiz(10, 20)], [seiz(19.9, 40)]) == (1, 1, 0, 0)
    assert ov([seiz(10, 20)], [seiz(20, 40)]) == (1, 0, 1, 1)  # touching only: a miss and a false alarm


def test_one_hypothesis_spanning_two_seizures():
    assert ov([seiz(10, 20), seiz(30, 40)], [seiz(15, 35)]) == (2, 2, 0, 0)


def test_two_hypotheses_inside_one_seizure():
    assert ov([seiz(10, 40)], [seiz(12, 15), seiz(20, 25)]) == (1, 1, 0, 0)


def test_empty_hypothesis_and_false_alarm_only():
    assert ov([seiz(10, 20)], []) == (1, 0, 1, 0)
    assert ov([], [seiz(10, 20), seiz(50, 51)]) == (0, 0, 0, 2)


def test_unsorted_and_sub_second_events():
    assert ov([seiz(50, 50.4), seiz(10, 10.2)], [seiz(10.1, 10.15), seiz(70, 70.5)]) == (2, 1, 1, 1)


def test_epoch_sampling_at_centres():
    # 2 s file, 0.25 s epochs, centres 0.125 ... 1.875; seizure 0.2-0.9 covers centres 0.375, 0.625, 0.875
    ref = normalize([seiz(0.2, 0.9)], 2.0)
    hyp = normalize([seiz(0.5, 1.0)], 2.0)  # covers 0.625, 0.875
    conf = epoch_confusion(ref, hyp, 2.0, L)
    np.testing.assert_array_equal(conf, [[2, 1], [0, 5]])
    assert cohen_kappa_from_confusion(conf) == pytest.approx((7 / 8 - (3 * 2 + 5 * 6) / 64) / (1 - 36 / 64))


def _write(path, rows, duration=100.0):
    body = "".join(f"TERM,{a},{b},{lab},1.0\n" for a, b, lab in rows)
    path.write_text(
        f"# version = csv_v1.0.0\n# duration = {duration} secs\n#\nchannel,start_time,stop_time,label,confidence\n{body}"
    )
    return path


def test_bad_input_names_file_and_line(tmp_path):
    ref = _write(tmp_path / "r.csv_bi", [(10, 20, "seiz")])
    bad_label = _write(tmp_path / "h1.csv_bi", [(10, 20, "sz")])
    with pytest.raises(RecordingError, match=r"h1\.csv_bi: line 5: unknown label 'sz'"):
        score_files([ref], [bad_label])
    stop_before = _write(tmp_path / "h2.csv_bi", [(30, 20, "seiz")])
    with pytest.raises(RecordingError, match=r"h2\.csv_bi: line 5: invalid interval"):
        score_files([ref], [stop_before])
    other_dur = _write(tmp_path / "h3.csv_bi", [(10, 20, "seiz")], duration=90.0)
    with pytest.raises(RecordingError, match=r"h3\.csv_bi: duration 90.0 s disagrees"):
        score_files([ref], [other_dur])
    lst = tmp_path / "x.list"
    lst.write_text(f"{ref}\n{tmp_path / 'missing.csv_bi'}\n")
    with pytest.raises(
        RecordingError, match=r"x\.list: line 2: annotation file .*missing\.csv_bi does not exist"
    ):
        read_nedc_list(lst)
    with pytest.raises(ConfigError, match="invalid method"):
        score_files([ref], [ref], methods=["bogus"])
    with pytest.raises(RecordingError, match="negative duration"):
        normalize([Event(5.0, -1.0, "seiz")], 10.0)


def test_taes_partial_credit_by_hand():
    from biodyn.metrics.events import score_taes

    dur = 100.0
    # ref seizure 10-30 s; hyp 20-40 s: hit = 10/20, false alarm = 10/20 (the part after the reference)
    c = score_taes(normalize([seiz(10, 30)], dur), normalize([seiz(20, 40)], dur), L)["seiz"]
    assert (c.targets, c.hits, c.misses, c.false_alarms) == (1, 0.5, 0.5, 0.5)
    # one hyp 10-60 over two refs 10-20 and 40-50: the first gets full credit plus 40/10 -> capped 1 false alarm,
    # the second touched by the same hyp counts as a full miss
    c = score_taes(normalize([seiz(10, 20), seiz(40, 50)], dur), normalize([seiz(10, 60)], dur), L)["seiz"]
    assert (c.targets, c.hits, c.misses, c.false_alarms) == (2, 1.0, 1.0, 1.0)
    # two hyps inside one ref 10-50: 5 s + 10 s of 40 s
    c = score_taes(normalize([seiz(10, 50)], dur), normalize([seiz(12, 17), seiz(30, 40)], dur), L)["seiz"]
    assert c.hits == pytest.approx(15 / 40) and c.misses == pytest.approx(25 / 40) and c.false_alarms == 0


def test_own_json_event_lists(tmp_path):
    from biodyn.io.events import write_event_json

    write_event_json(tmp_path / "r.json", [seiz(10, 20)], 100.0)
    write_event_json(tmp_path / "h.json", [seiz(15, 25)], 100.0)
    res = score_files([tmp_path / "r.json"], [tmp_path / "h.json"], methods=["overlap"])
    assert res["overlap"].per_label["seiz"]["hits"] == 1


def test_params_map_collapses_seizure_types(tmp_path):
    from biodyn.metrics.nedc import NedcParams

    toml = tmp_path / "p.toml"
    toml.write_text(
        '[MAP]\nSEIZ = "seiz, fnsz, gnsz"\nBCKG = "bckg"\n[NEDC_EPOCH]\nepoch_duration = \'0.5\'\n'
        "null_class = \"BCKG\"\n[NEDC_DPALIGN]\npenalty_del = '1.0'\npenalty_ins = '2.0'\n"
        "penalty_sub = '1.0'\n"
    )
    p = NedcParams.from_mapping(read_nedc_params(toml), toml)
    assert p.labels == ("seiz", "bckg") and p.symbols["fnsz"] == "seiz"
    assert (p.epoch_s, p.penalty_ins) == (0.5, 2.0)
    ref = _write(tmp_path / "r.csv_bi", [(10, 20, "fnsz"), (40, 50, "gnsz")])
    hyp = _write(tmp_path / "h.csv_bi", [(15, 45, "seiz")])
    res = score_files([ref], [hyp], params=p)
    s = res["overlap"].per_label["seiz"]
    assert (s["targets"], s["hits"], s["false_alarms"]) == (2, 2, 0)
    assert sum(map(sum, res["epoch"].confusion)) == 200  # 100 s in 0.5 s epochs
    bad = tmp_path / "bad.toml"
    bad.write_text('[MAP]\nSEIZ = "seiz"\n[NEDC_EPOCH]\nnull_class = "BCKG"\n')
    with pytest.raises(RecordingError, match=r"bad\.toml: null_class 'bckg'"):
        NedcParams.from_mapping(read_nedc_params(bad), bad)


@pytest.mark.parametrize("penalties", [(1.0, 1.0, 1.0), (1.0, 2.0, 0.5), (0.3, 0.7, 1.1)], ids=str)
def test_dp_cost_matrix_matches_reference(penalties):
    from biodyn.metrics.events import dp_cost_matrix, dp_cost_matrix_reference

    rng = np.random.default_rng(1)
    for n, m in [(0, 0), (0, 3), (4, 0), (1, 1), (7, 5), (13, 21), (30, 9)]:
        a, b = rng.integers(0, 3, n), rng.integers(0, 3, m)
        np.testing.assert_allclose(
            dp_cost_matrix(a, b, penalties), dp_cost_matrix_reference(a, b, penalties), rtol=1e-12, atol=1e-12
        )


def test_dpalign_by_hand():
    from biodyn.metrics.events import score_dpalign

    # ref bckg seiz bckg seiz bckg (two seizures), hyp bckg seiz bckg: one seizure + one bckg deleted
    ref = normalize([seiz(10, 20), seiz(40, 50)], 100.0)
    hyp = normalize([seiz(12, 45)], 100.0)
    per, conf, insdel = score_dpalign(ref, hyp, L)
    assert conf.trace() == 3 and conf.sum() == 3
    assert per["seiz"].hits + per["seiz"].misses == 2 and per["seiz"].false_alarms == 0
    assert sum(v["del"] for v in insdel.values()) == 2 and sum(v["ins"] for v in insdel.values()) == 0


def taes(ref, hyp, dur=100.0):
    from biodyn.metrics.events import score_taes

    c = score_taes(normalize(ref, dur), normalize(hyp, dur), L)["seiz"]
    return c.targets, pytest.approx(c.hits), pytest.approx(c.misses), pytest.approx(c.false_alarms)


def test_taes_rules_by_hand():
    # touching references merge into one 20 s target; a 1 s hypothesis inside earns 1/20
    assert taes([seiz(10, 20), seiz(20, 30)], [seiz(25, 26)]) == (1, 0.05, 0.95, 0)
    # 0.1 s overlap: hit 0.1/10; the 20 s after the reference is a false alarm capped at 1
    assert taes([seiz(10, 20)], [seiz(19.9, 40)]) == (1, 0.01, 0.99, 1)
    # touching without overlap: a full miss and a full false alarm
    assert taes([seiz(10, 20)], [seiz(20, 40)]) == (1, 0, 1, 1)
    # one hypothesis over two seizures: half of the first, capped false alarm, the second a full miss
    assert taes([seiz(10, 20), seiz(30, 40)], [seiz(15, 35)]) == (2, 0.5, 1.5, 1)
    # two hypotheses inside one 30 s seizure: 3 s + 5 s
    assert taes([seiz(10, 40)], [seiz(12, 15), seiz(20, 25)]) == (1, 8 / 30, 22 / 30, 0)
    assert taes([seiz(10, 20)], []) == (1, 0, 1, 0)  # empty hypothesis file
    assert taes([], [seiz(10, 20), seiz(50, 51)]) == (0, 0, 0, 2)  # false alarms only
    # unsorted, sub-second: 0.05 s of a 0.2 s seizure; the 0.4 s seizure missed; one false alarm
    assert taes([seiz(50, 50.4), seiz(10, 10.2)], [seiz(10.1, 10.15), seiz(70, 70.5)]) == (2, 0.25, 1.75, 1)


def test_taes_whole_second_rule():
    # hyp 15-20.2 ends after seizure A (10-20) and, in whole seconds (15..20 vs 20..22), touches seizure B
    # (20.5-22) although it does not overlap it: B is used up as a full miss, so hyp 21-22 inside B becomes
    # a full false alarm (hit 0.5, misses 0.5 + 1, false alarms 0.2/10 + 1)
    assert taes([seiz(10, 20), seiz(20.5, 22)], [seiz(15, 20.2), seiz(21, 22)]) == (2, 0.5, 1.5, 1.02)
    # B at 21.5-23 (seconds 21..23) is not touched, so hyp 22-23 scores 1/1.5 of it
    assert taes([seiz(10, 20), seiz(21.5, 23)], [seiz(15, 20.2), seiz(22, 23)]) == (
        2,
        0.5 + 1 / 1.5,
        0.5 + 0.5 / 1.5,
        0.02,
    )


def test_per_channel_csv_scores_like_its_term_file(tmp_path):
    def write_csv(path, rows, duration=100.0):
        body = "".join(f"{ch},{a},{b},{lab},1.0000\n" for ch, a, b, lab in rows)
        path.write_text(
            f"# duration = {duration} secs\nchannel,start_time,stop_time,label,confidence\n{body}"
        )
        return path

    # two channels: FP1-F7 seizes 10-30, F7-T3 40-50; background rows fill the rest of each channel
    per_channel = write_csv(
        tmp_path / "r.csv",
        [
            ("FP1-F7", 0, 10, "bckg"),
            ("FP1-F7", 10, 30, "seiz"),
            ("FP1-F7", 30, 100, "bckg"),
            ("F7-T3", 0, 40, "bckg"),
            ("F7-T3", 40, 50, "seiz"),
            ("F7-T3", 50, 100, "bckg"),
        ],
    )
    term = _write(tmp_path / "r.csv_bi", [(10, 30, "seiz"), (40, 50, "seiz")])
    hyp = _write(tmp_path / "h.csv_bi", [(12, 14, "seiz"), (60, 70, "seiz")])
    a = score_files([per_channel], [hyp])
    b = score_files([term], [hyp])
    for m in ("overlap", "taes", "dpalign", "epoch"):
        assert a[m].per_label == b[m].per_label, m
    assert a["overlap"].per_label["seiz"]["targets"] == 2

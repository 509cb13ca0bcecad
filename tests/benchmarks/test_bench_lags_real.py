"""The PTB-XL activation-time reference of ``benchmarks/bench_lags_real.py`` on hand-built beats."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
FS = 500.0


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("bench_lags_real")
    finally:
        sys.path.remove(str(BENCH))


def _bump(t_ms, at_ms, width_ms, height):
    return height * np.exp(-0.5 * ((t_ms - at_ms) / width_ms) ** 2)


def _beat(t_ms, r=0.25, r_prime=0.4):
    """V1 as r (at -24 ms), deep S (at 0), terminal r' (at +30 ms) larger than the r; V6 as one R at -2 ms."""
    v1 = _bump(t_ms, -24, 5, r) - _bump(t_ms, 0, 10, 1.0) + _bump(t_ms, 30, 7, r_prime)
    return v1, _bump(t_ms, -2, 9, 1.0)


def _recording(n_beats, qs_beats=()):
    """``n_beats`` beats 0.8 s apart; in ``qs_beats`` V1 has no initial r wave (a QS complex)."""
    period = int(0.8 * FS)
    t = (np.arange(period) - period // 2) / FS * 1e3
    v1, v6, marks = [], [], []
    for k in range(n_beats):
        a, b = _beat(t, r=0.0 if k in qs_beats else 0.25)
        v1.append(a), v6.append(b), marks.append(k * period + period // 2)
    return np.concatenate(v1), np.concatenate(v6), np.array(marks)


def test_r_wave_is_the_initial_peak_not_the_largest_deflection(bench):
    t = (np.arange(81) - 40) / FS * 1e3  # +-80 ms
    v1, _ = _beat(t)
    assert t[bench.v1_r_wave(v1)] == pytest.approx(-24, abs=2)
    assert t[np.argmax(v1)] == pytest.approx(30, abs=2)  # what the largest-deflection reference times
    qs, _ = _beat(t, r=0.0)
    assert bench.v1_r_wave(qs) is None  # nothing rises before the S nadir
    # a wiggle below the prominence threshold is not an r wave
    assert bench.v1_r_wave(qs + 0.005 * np.sin(t / 3)) is None


def test_activation_delay_times_v6_r_against_v1_r_wave(bench):
    v1, v6, marks = _recording(8)
    out = bench.activation_delay(v1, v6, marks, FS)
    assert out["n_beats"] == 8 and out["n_beats_v1_qs"] == 0
    assert out["tau_ref_s"] == pytest.approx(0.022, abs=0.0021)  # -2 - (-24) ms: V1 first
    assert out["tau_ref_largest_s"] == pytest.approx(-0.032, abs=0.0021)  # -2 - 30 ms: the r' misread as R
    assert out["v1_rwave_time_s"] == pytest.approx(-0.024, abs=0.0021)
    assert out["v6_r_time_s"] == pytest.approx(-0.002, abs=0.0021)


def test_a_mostly_qs_v1_has_no_reference(bench):
    v1, v6, marks = _recording(6, qs_beats={0, 1, 2})
    half_qs = bench.activation_delay(v1, v6, marks, FS)
    assert half_qs["n_beats_v1_qs"] == 3 and np.isfinite(half_qs["tau_ref_s"])  # r waves in half the beats
    v1, v6, marks = _recording(6, qs_beats={0, 1, 2, 3})
    mostly_qs = bench.activation_delay(v1, v6, marks, FS)
    assert mostly_qs["n_beats_v1_qs"] == 4 and np.isnan(mostly_qs["tau_ref_s"])
    assert np.isfinite(mostly_qs["tau_ref_largest_s"])


def test_summary_counts_agreement_against_both_references(bench):
    nan = float("nan")

    def row(name, ref, largest, fit):
        return {
            "record": name,
            "scp_codes": {"NORM": 100.0},
            "tau_ref_s": ref,
            "tau_ref_largest_s": largest,
            "tau_pair_s": fit,
        }

    rows = [
        row("a", 0.020, 0.020, 0.022),  # agrees with both, |err| 2 ms
        row("b", 0.025, -0.030, 0.030),  # the references differ; the fit follows the r wave, |err| 5 ms
        row("c", 0.010, 0.010, -0.004),  # disagrees, |err| 14 ms
        row("d", nan, -0.080, 0.030),  # QS V1: no r-wave reference
        row("e", 0.015, 0.015, nan),  # no edge: no direction, counts as disagreeing
    ]
    s = bench.summarize_ptbxl(rows)
    assert s["pair"]["n_with_reference"] == 4 and s["pair"]["direction_agreement"] == pytest.approx(2 / 4)
    assert s["pair"]["median_abs_error_ms"] == pytest.approx(5.0)  # of 2, 5, 14 ms
    assert s["largest_deflection"]["pair"]["direction_agreement"] == pytest.approx(1 / 5)
    assert [r["record"] for r in s["references_differ"]] == ["b"]
    assert [r["record"] for r in s["without_r_wave_reference"]] == ["d"]
    assert [r["record"] for r in s["pair_disagrees"]] == ["c", "e"]
    assert s["ref_median_ms"] == pytest.approx(17.5) and s["ref_positive_share"] == 1.0


def test_each_lead_is_timed_at_its_r_wave(bench):
    t = (np.arange(81) - 40) / FS * 1e3
    v1, v6 = _beat(t)
    qr = _bump(t, -20, 4, -0.2) + _bump(t, 4, 8, 1.0)  # a small q, then the R (no S): timed at the R
    assert t[bench.lead_r_time(v1)] == pytest.approx(-24, abs=2)  # rS: the r, not the terminal r'
    assert t[bench.lead_r_time(v6)] == pytest.approx(-2, abs=2)
    assert t[bench.lead_r_time(qr)] == pytest.approx(4, abs=2)
    assert bench.lead_r_time(-_bump(t, 0, 10, 1.0)) is None  # QS: nothing rises
    v1s, v6s, marks = _recording(6)
    times = bench.lead_r_times(np.stack([v1s, v6s]), marks, FS)
    assert times * 1e3 == pytest.approx([-24, -2], abs=2.1)


def test_order_agreement_and_its_summary(bench):
    names = ["V1", "V2", "V3", "V4", "V5", "V6"]
    ref = np.array([-0.024, -0.018, -0.012, -0.010, -0.006, np.nan])  # V6 has no reference
    same = dict(zip(names, [-0.010, -0.006, 0.0, 0.004, 0.006, -0.050]))
    a = bench.order_agreement(same, names, ref)
    assert a["spearman"] == pytest.approx(1.0) and a["n_leads"] == 5
    assert a["v1v2_before_v5v6"] is False  # V6's onset (-50 ms) pulls V5/V6 ahead, reference or not
    reverse = {n: -v for n, v in same.items()}
    b = bench.order_agreement(reverse, names, ref)
    assert b["spearman"] == pytest.approx(-1.0) and b["v1v2_before_v5v6"] is True
    assert bench.order_agreement({"V1": 0.0}, names, ref)["v1v2_before_v5v6"] is None  # too few leads fitted

    def row(name, ref_v1v6, rho, before):
        return {
            "record": name,
            "tau_ref_s": ref_v1v6,
            "tau_ref_largest_s": ref_v1v6,
            "tau_pair_s": ref_v1v6,
            "order_chest_spearman": rho,
            "order_chest_v1v2_before_v5v6": before,
        }

    rows = [
        row("a", 0.02, 0.9, True),
        row("b", 0.02, 0.5, False),
        row("c", float("nan"), float("nan"), None),
        row("d", 0.02, 1.0, True),
    ]
    s = bench.summarize_ptbxl(rows)["order_chest"]
    assert s["median_spearman"] == pytest.approx(0.7)  # of 0.9, 0.5, 0 (undefined), 1.0
    assert s["n_spearman_undefined"] == 1 and s["n_with_r_wave_reference"] == 3
    assert s["v1v2_before_v5v6_share"] == pytest.approx(2 / 3) and s["records_v1v2_not_first"] == ["b"]


def _hand_fit(edges: dict[tuple[int, int], float], c: int = 5):
    from biodyn.causal.fit import LagFit
    from biodyn.types import LagGraph

    tau, w = np.zeros((c, c)), np.zeros((c, c))
    for (i, j), d in edges.items():
        tau[i, j], w[i, j] = d, 0.5
    z = np.zeros((c, c))
    return LagFit(
        LagGraph(tau, w, [f"C{k}" for k in range(c)], 256.0), z, z, z.astype(bool), True, 1, 0.0, 0.05
    )


def test_onset_figure_shows_the_edgeless_channels_apart(bench, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from biodyn.causal.metrics import groups_spearman, ranking_spearman
    from biodyn.report.figcheck import text_strings

    # C1 -> C3 -> C4 (10, 20 ms); seed 1 adds C4 -> C0 (5 ms), and the gauge moves the edgeless C2 among them
    f0, f1 = _hand_fit({(1, 3): 0.01, (3, 4): 0.02}), _hand_fit({(1, 3): 0.01, (3, 4): 0.02, (4, 0): 0.005})
    on0 = bench._onsets_ms(f0)
    assert on0 == pytest.approx({"C0": 0.0, "C1": -40 / 3, "C2": 0.0, "C3": -10 / 3, "C4": 50 / 3})
    row = {
        "window": "hand",
        "spearman_channel_order_seed1": ranking_spearman(
            f0.identified_graph().focal_ranking(), f1.identified_graph().focal_ranking()
        ),
        "spearman_seed1": groups_spearman(f0.focal_groups(), f1.focal_groups()),
        "spearman_connected_seed1": 1.0,
        "onsets": {
            key: {"onset_ms": bench._onsets_ms(f), "unranked": list(f.unranked()), "groups": f.focal_groups()}
            for key, f in (("seed0", f0), ("seed1", f1))
        },
    }
    texts = []
    original = Figure.savefig

    def keep(self, *a, **k):
        texts.extend([*text_strings(self), self.get_suptitle()])  # (a text of several lines is not recorded)
        return original(self, *a, **k)

    monkeypatch.setattr(Figure, "savefig", keep)
    bench.plot_onsets(row, str(tmp_path / "onsets.png"))
    assert (tmp_path / "onsets.png").stat().st_size > 0
    title = next(t for t in texts if t.startswith("hand: seed 1 against seed 0"))
    assert "(before): 0.700" in title and f"(now): {9.5 / np.sqrt(95):.3f}" in title
    assert {"C0", "C1", "C2", "C3", "C4"} <= set(texts)

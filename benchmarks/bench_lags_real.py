"""Lag graphs on real recordings: PTB-XL activation timing and CHB-MIT ranking reproducibility.

Part 1, PTB-XL 500 Hz records (``ptbxl/records500``): an independent activation-time estimate. For each
beat (R peaks found with scipy on the summed slope of all leads), V6's R peak (its largest positive
deflection within +-80 ms) and V1's r wave (the highest local maximum, scipy ``find_peaks`` with a prominence
of 5 % of the beat's peak-to-peak, before V1's S nadir: the r of its rS complex; none in a QS complex);
``tau_ref`` is the median over beats of ``t(V6) - t(V1)`` (positive: V1 activates first), undefined when V1 is
QS in more than half the beats. ``tau_ref_largest`` times V1's largest positive deflection wherever it falls
instead (this benchmark's first reference: where V1's r wave is small it picks the J point, an ST elevation or
a right bundle branch block's terminal r', late in the QRS or after it); it is reported beside, with the
records where the two references differ, their SCP codes and (``--plot``) their median beats. The intrinsicoid
deflection (steepest downstroke after V1's r wave and V6's R) is reported too. The fitted delay comes from
``biodyn.causal.recording.fit_recording`` with its defaults on the lead pair (V1, V6), which pick the ``ecg``
preset for ECG leads: ``+tau(V1 -> V6)`` or ``-tau(V6 -> V1)``, whichever identified edge is stronger (an edge
flagged ``at_ceiling`` is not identified and gives no direction; no edge: no direction, counted as
disagreeing). Goals: the fitted direction agrees with the sign of ``tau_ref`` in >= 90 % of the records that
have one, and the median ``|tau - tau_ref|`` <= 5 ms. Reported besides (no goals): the same pair with the
``ecg`` preset at the native 500 Hz, with the ``eeg`` preset (the setup before the ECG preset existed), on the
QRS complexes alone (``qrs_gated``: each beat's -60..+80 ms in the preset's band, joined by zero gaps longer
than the delay range, so that T waves and baseline take no part), the V1 -> V6 edge of a fit on all twelve
leads (``ecg`` preset), and V1's morphology per record (r-wave height over S-wave depth, the time of its
largest positive deflection from the QRS mark).

Part 2, CHB-MIT: the 41 s seizure crop (``edf_crops/chb01_03_Seizure.edf``, seizure from 1 s) and the 10 s
ictal excerpts (``npy_excerpts/*/ictal``): the focal ranking of a fit with seed 0 and the default
iteration limit against fits with another seed and with 4x the limit (Spearman with ties as ties over
``LagFit.focal_groups``, the channels without an identified edge one final unranked group; undefined, and left
out of the minimum, when a fit has no identified edge; the channel-order Spearman of the flat rankings beside it
as ``spearman_channel_order_*``; goal: the smallest defined >= 0.9), and the stability between adjacent windows
of the crop (two 20 s and four 10 s windows; reported). ``--onset-plot PNG`` draws the crop's onset times for
seeds 0 and 1 (``--onset-plot-from JSON``: from a run's saved ``chbmit_crop_onsets``, fitting nothing). ``--crop-s S``
fits the crop's first S seconds instead (and the adjacent windows that fit in them); ``--ptbxl-from JSON`` takes
Part 1 from an earlier run's JSON (its commit and date recorded as ``ptbxl_from``) when only the EEG side changed.
``--quick``: 8 PTB-XL records without the twelve-lead fit, the crop's first 10 s of seizure and one excerpt,
two adjacent 10 s windows, 4 sub-window refits in the speed row.

Part 3, speed: 23 channels x 10 s at 256 Hz (``chb01_03_ictal.npy``), the fit alone (goal <= 10 s) and with
the default 8 sub-window refits (reported).

    python benchmarks/bench_lags_real.py --quick --json out.json --plot beats.png
"""

from __future__ import annotations

import math
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, parser, report

TAU_MAX_S = 0.05


def _band(x: np.ndarray, fs: float, lo: float = 0.5, hi: float = 40.0) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(2, [lo, hi], btype="band", fs=fs, output="sos"), x, axis=-1)


def qrs_marks(banded: np.ndarray, fs: float) -> np.ndarray:
    """Sample index of each beat's QRS: peaks of the summed absolute slope of all leads, ``banded`` ``(C, T)``
    already band-passed to 0.5-40 Hz (:func:`_band`)."""
    from scipy.signal import find_peaks

    energy = np.abs(np.diff(banded, axis=1)).sum(0)
    peaks, _ = find_peaks(energy, distance=int(0.3 * fs), height=0.35 * np.quantile(energy, 0.999))
    return peaks


def qrs_gated(
    pair: np.ndarray,
    fs: float,
    marks: np.ndarray,
    before_s: float = 0.06,
    after_s: float = 0.08,
    gap_s: float = 0.06,
) -> np.ndarray:
    """The QRS complexes alone: ``pair`` ``(C, T)`` band-passed to the ``ecg`` preset's band, each beat's
    ``[mark - before_s, mark + after_s]`` cut out and the cuts joined by zeros of ``gap_s`` (longer than the
    delay range, so no delayed copy reaches from one cut into the next)."""
    from biodyn.causal.recording import PRESETS

    x = _band(pair, fs, *PRESETS["ecg"].band_hz)
    before, after, gap = int(before_s * fs), int(after_s * fs), np.zeros((x.shape[0], int(gap_s * fs)))
    cuts = [
        c
        for m in marks
        if m - before >= 0 and m + after <= x.shape[1]
        for c in (x[:, m - before : m + after], gap)
    ]
    return np.concatenate(cuts, 1)


R_PROMINENCE = 0.05  # an r wave rises at least 5 % of the beat's peak-to-peak above its surroundings


def v1_r_wave(seg: np.ndarray) -> int | None:
    """Index of V1's r wave in one beat ``seg`` (samples around the QRS mark): the highest local maximum
    (scipy ``find_peaks``, prominence >= ``R_PROMINENCE`` of the beat's peak-to-peak) before V1's S nadir, the
    initial positive deflection of an rS complex; ``None`` for a QS complex (no r wave before the nadir). A
    positive deflection after the S (J point, ST elevation, or the r' of a right bundle branch block) is not
    V1's r wave."""
    from scipy.signal import find_peaks

    nadir = int(np.argmin(seg))
    peaks, _ = find_peaks(seg[: nadir + 1], prominence=R_PROMINENCE * float(np.ptp(seg)))
    return int(peaks[np.argmax(seg[peaks])]) if len(peaks) else None


BEAT_HALF_S = 0.08  # each beat: +-80 ms around its QRS mark


def beat_windows(x: np.ndarray, marks: np.ndarray, fs: float) -> np.ndarray:
    """The beats of ``x`` ``(C, T)``: ``(n_beats, C, 2 half + 1)``, ``+-BEAT_HALF_S`` around each QRS mark
    (:func:`qrs_marks`) that lies far enough from both ends."""
    half = int(BEAT_HALF_S * fs)
    keep = [m for m in marks if half <= m < x.shape[-1] - half]
    return (
        np.stack([x[:, m - half : m + half + 1] for m in keep])
        if keep
        else np.zeros((0, x.shape[0], 2 * half + 1))
    )


def activation_delay(a: np.ndarray, b: np.ndarray, peaks: np.ndarray, fs: float) -> dict:
    """Median over beats (QRS marks ``peaks``, :func:`qrs_marks`) of ``t(V6) - t(V1)`` (seconds), ``a``, ``b``:
    V1 and V6 band-passed to 0.5-40 Hz (:func:`_band`), each beat +-80 ms around its mark.

    ``tau_ref_s`` (the reference of the goals): V6's R peak (its largest positive deflection) minus V1's r
    wave (:func:`v1_r_wave`); beats where V1 is QS give none, and a record with r waves in fewer than half
    its beats has no reference (NaN). ``tau_ref_largest_s``: the same with V1's largest positive deflection
    wherever it falls (the first reference of this benchmark, reported). ``tau_ref_intrinsicoid_s``: the
    steepest downstrokes after V1's r wave and V6's R peak."""
    beats = beat_windows(np.stack([a, b]), peaks, fs)
    n_beats, half = len(beats), beats.shape[-1] // 2
    r_delays, largest_delays, id_delays, v1_r_time, v1_r_over_s = [], [], [], [], []
    v1_rwave_time, v6_r_time = [], []
    for sa, sb in beats:
        la, rb = int(np.argmax(sa - np.median(sa))), int(np.argmax(sb - np.median(sb)))
        largest_delays.append((rb - la) / fs)
        v6_r_time.append((rb - half) / fs)
        # V1's morphology: r-wave height over S-wave depth, and when its largest deflection falls
        v1_r_time.append((la - half) / fs)  # relative to the QRS mark of all leads
        v1_r_over_s.append((sa.max() - np.median(sa)) / max(np.median(sa) - sa.min(), 1e-12))
        ra = v1_r_wave(sa)
        if ra is None:
            continue
        r_delays.append((rb - ra) / fs)
        v1_rwave_time.append((ra - half) / fs)
        da, db = np.diff(sa), np.diff(sb)
        ia = ra + int(np.argmin(da[ra:])) if ra < len(da) else ra
        ib = rb + int(np.argmin(db[rb:])) if rb < len(db) else rb
        id_delays.append((ib - ia) / fs)
    med = lambda v: float(np.median(v)) if v else float("nan")  # noqa: E731
    defined = 2 * len(r_delays) >= n_beats > 0
    return {
        "n_beats": n_beats,
        "n_beats_v1_qs": n_beats - len(r_delays),
        "tau_ref_s": med(r_delays) if defined else float("nan"),
        "tau_ref_largest_s": med(largest_delays),
        "tau_ref_intrinsicoid_s": med(id_delays) if defined else float("nan"),
        "v1_r_time_s": med(v1_r_time),
        "v1_rwave_time_s": med(v1_rwave_time),
        "v6_r_time_s": med(v6_r_time),
        "v1_r_over_s": med(v1_r_over_s),
    }


def lead_r_time(seg: np.ndarray) -> int | None:
    """Index of a lead's r/R wave in one beat ``seg``: its r wave before the S nadir (:func:`v1_r_wave`, an rS
    complex), else its highest prominent local maximum (an R after a q, a qR complex), else None (QS)."""
    from scipy.signal import find_peaks

    r = v1_r_wave(seg)
    if r is not None:
        return r
    peaks, _ = find_peaks(seg, prominence=R_PROMINENCE * float(np.ptp(seg)))
    return int(peaks[np.argmax(seg[peaks])]) if len(peaks) else None


def lead_r_times(banded: np.ndarray, marks: np.ndarray, fs: float) -> np.ndarray:
    """``(C,)`` each lead's r/R-wave time (s from the QRS marks, median over the beats where it has one,
    :func:`lead_r_time`; NaN when fewer than half its beats have one), ``banded`` ``(C, T)`` at 0.5-40 Hz."""
    beats = beat_windows(banded, marks, fs)
    half = beats.shape[-1] // 2
    out = np.full(banded.shape[0], np.nan)
    for c in range(banded.shape[0]):
        ts = [(r - half) / fs for r in (lead_r_time(b) for b in beats[:, c]) if r is not None]
        if ts and 2 * len(ts) >= len(beats):
            out[c] = float(np.median(ts))
    return out


def onset_times(fit) -> dict[str, float]:
    """Each channel's onset time (s) from a fit: a common-source fit's delays, else the least-squares onset
    times of the identified edges (minimum norm; a channel without identified edges gets none)."""
    if fit.onset_s is not None:
        return dict(fit.onset_s)
    g = fit.identified_graph()
    names = g.channels
    conn = (g.weight != 0).any(0) | (g.weight != 0).any(1)
    scores = g.focal_scores() / len(names)  # t_i - mean(t)
    return {n: float(v) for n, v, ok in zip(names, scores, conn) if ok}


def order_agreement(onsets: dict[str, float], names: list[str], ref: np.ndarray) -> dict:
    """Spearman of the fitted onset times with the per-lead reference times over the leads that have both, and
    whether V1/V2 (their mean) come before V5/V6."""
    from scipy.stats import spearmanr

    have = [k for k, n in enumerate(names) if n in onsets and np.isfinite(ref[k])]
    fitted = np.array([onsets[names[k]] for k in have])
    rho = float(spearmanr(fitted, ref[have])[0]) if len(have) >= 3 and np.ptp(fitted) > 0 else float("nan")
    early = [onsets.get(n) for n in ("V1", "V2")]
    late = [onsets.get(n) for n in ("V5", "V6")]
    before = (float(np.mean(early)) < float(np.mean(late))) if None not in early + late else None
    return {"spearman": rho, "n_leads": len(have), "v1v2_before_v5v6": before}


def _signed_v1_v6(fit) -> float:
    names = fit.graph.channels
    if "V1" not in names or "V6" not in names:
        return float("nan")
    i, j = names.index("V1"), names.index("V6")
    if fit.onset_s is not None:  # a common-source fit: the difference of the two leads' delays
        unident = fit.not_identified()
        if any(k in (i, j) for pair in unident for k in pair[1:]):  # a delay at the edge of the range
            return float("nan")
        return fit.onset_s["V6"] - fit.onset_s["V1"]
    # an edge at the delay ceiling is not identified (docs/lags.md): it gives no direction
    w16 = 0.0 if fit.at_ceiling[i, j] else fit.graph.weight[i, j]
    w61 = 0.0 if fit.at_ceiling[j, i] else fit.graph.weight[j, i]
    if w16 == 0 and w61 == 0:
        return float("nan")
    return float(fit.graph.tau[i, j]) if abs(w16) >= abs(w61) else -float(fit.graph.tau[j, i])


CHEST = ("V1", "V2", "V3", "V4", "V5", "V6")


def ptbxl(
    root: Path, n_records: int | None, twelve: bool, multilead_sem: bool = False
) -> tuple[list[dict], dict, dict]:
    """Rows per record, their summary (:func:`summarize_ptbxl`) and each record's median V1 / V6 beat
    (``{record: (V1, V6)}``, +-80 ms around the QRS marks, 0.5-40 Hz) for :func:`plot_beats`."""
    from biodyn.causal.recording import fit_recording
    from biodyn.datasets.ptbxl import PTBXL
    from biodyn.io import read_wfdb

    heads = sorted((root / "ptbxl" / "records500").rglob("*_hr.hea"))[:n_records]
    scp = {int(r["ecg_id"]): r["scp_codes"] for r in PTBXL(root / "ptbxl", 500).rows()}
    rows, beats = [], {}
    for h in heads:
        rec = read_wfdb(h)
        names = [n.upper() for n in rec.channels]
        x = rec.data.astype(np.float64)
        i1, i6 = names.index("V1"), names.index("V6")
        banded = _band(x, rec.fs)  # 0.5-40 Hz, for the QRS marks and the activation times
        marks, pair = qrs_marks(banded, rec.fs), x[[i1, i6]]
        ref = activation_delay(banded[i1], banded[i6], marks, rec.fs)
        row = {"part": "ptbxl", "record": h.stem, "scp_codes": scp.get(int(h.stem.split("_")[0])), **ref}
        cuts = beat_windows(banded[[i1, i6]], marks, rec.fs)
        beats[h.stem] = np.median(cuts, 0) if len(cuts) else np.zeros(cuts.shape[1:])  # (V1, V6)
        for key, data, kw in (
            ("pair", pair, {}),
            ("pair_500hz", pair, {"fit_fs": math.inf}),
            ("pair_eeg_preset", pair, {"preset": "eeg"}),
            # the QRS complexes alone, already in the ecg preset's band (no second band-pass)
            ("pair_qrs_gated", qrs_gated(pair, rec.fs, marks), {"band_hz": (None, None)}),
        ):
            t0 = time.perf_counter()
            fit = fit_recording(data, rec.fs, ["V1", "V6"], stability=0, **kw)
            row[f"tau_{key}_s"] = _signed_v1_v6(fit)
            row[f"converged_{key}"] = fit.converged
            row[f"fit_{key}_s"] = time.perf_counter() - t0
        if twelve:
            fit = fit_recording(x, rec.fs, names, stability=0)
            row["tau_12lead_s"] = _signed_v1_v6(fit)
            row["dropped_12lead"] = [d["channel"] for d in fit.dropped]
        # activation order over several leads against each lead's r/R-wave time
        ref_all = lead_r_times(banded, marks, rec.fs)
        row["lead_r_times_ms"] = {n: float(v * 1e3) for n, v in zip(names, ref_all)}
        chest = [names.index(n) for n in CHEST]
        fits = {"chest": (chest, {})} | ({"12lead": (list(range(len(names))), {})} if twelve else {})
        if multilead_sem:
            fits["chest_sem"] = (chest, {"preset": "ecg_sem"})
        for key, (idx, kw) in fits.items():
            t0 = time.perf_counter()
            fit = fit_recording(x[idx], rec.fs, [names[k] for k in idx], stability=0, **kw)
            agree = order_agreement(onset_times(fit), [names[k] for k in idx], ref_all[idx])
            row.update({f"order_{key}_{k}": v for k, v in agree.items()})
            row[f"order_{key}_focal_lead"] = fit.focal_lead()
            row[f"fit_order_{key}_s"] = time.perf_counter() - t0
        rows.append(row)
        print(
            f"  {h.stem}: ref {row['tau_ref_s'] * 1e3:+.1f} ms ({row['n_beats']} beats; largest deflection "
            f"{row['tau_ref_largest_s'] * 1e3:+.1f} ms), pair "
            f"{row['tau_pair_s'] * 1e3:+.1f} ms, pair@500 Hz {row['tau_pair_500hz_s'] * 1e3:+.1f} ms, "
            f"eeg preset {row['tau_pair_eeg_preset_s'] * 1e3:+.1f} ms, QRS alone {row['tau_pair_qrs_gated_s'] * 1e3:+.1f} ms"
            + (f", 12-lead {row['tau_12lead_s'] * 1e3:+.1f} ms" if twelve else "")
            + f"; V1-V6 order Spearman {row['order_chest_spearman']:.2f}",
            flush=True,
        )
    return rows, summarize_ptbxl(rows), beats


def _agreement(rows: list[dict], col: str, ref_col: str) -> dict:
    ref = np.array([r[ref_col] for r in rows], dtype=float)
    fitted = np.array([r.get(col, np.nan) for r in rows], dtype=float)
    ok = np.isfinite(ref) & (ref != 0)  # records with a reference direction
    agree = np.isfinite(fitted) & (np.sign(fitted) == np.sign(ref))
    err = np.abs(fitted - ref)[np.isfinite(fitted) & np.isfinite(ref)]
    return {
        "direction_agreement": float(agree[ok].mean()) if ok.any() else float("nan"),
        "median_abs_error_ms": float(np.median(err) * 1e3) if err.size else float("nan"),
        "n_records": len(rows),
        "n_with_edge": int(np.isfinite(fitted).sum()),
        "n_with_reference": int(ok.sum()),
    }


def summarize_ptbxl(rows: list[dict]) -> dict:
    """Direction agreement and median |tau - tau_ref| of every fit against the r-wave reference (``tau_ref_s``,
    the goals') and against V1's largest deflection (``tau_ref_largest_s``, under ``"largest_deflection"``);
    the records the two references order differently, those without an r-wave reference, and those where the
    pair fit disagrees with it, each with its SCP codes."""
    summary: dict = {}
    for key in ("pair", "pair_500hz", "pair_eeg_preset", "pair_qrs_gated", "12lead"):
        if rows and f"tau_{key}_s" in rows[0]:
            summary[key] = _agreement(rows, f"tau_{key}_s", "tau_ref_s")
    if rows:
        summary["largest_deflection"] = {"pair": _agreement(rows, "tau_pair_s", "tau_ref_largest_s")}

    def brief(r):
        return {
            "record": r["record"],
            "scp_codes": r.get("scp_codes"),
            "tau_ref_ms": r["tau_ref_s"] * 1e3,
            "tau_ref_largest_ms": r["tau_ref_largest_s"] * 1e3,
            "tau_pair_ms": r["tau_pair_s"] * 1e3,
        }

    sign = lambda v: np.sign(v) if np.isfinite(v) else np.nan  # noqa: E731
    summary["references_differ"] = [
        brief(r)
        for r in rows
        if np.isfinite(r["tau_ref_s"]) and sign(r["tau_ref_s"]) != sign(r["tau_ref_largest_s"])
    ]
    summary["without_r_wave_reference"] = [brief(r) for r in rows if not np.isfinite(r["tau_ref_s"])]
    summary["pair_disagrees"] = [
        brief(r)
        for r in rows
        if np.isfinite(r["tau_ref_s"])
        and r["tau_ref_s"] != 0
        and not sign(r["tau_pair_s"]) == sign(r["tau_ref_s"])
    ]
    for key in ("chest", "12lead", "chest_sem"):
        if rows and f"order_{key}_spearman" in rows[0]:
            rhos = [r[f"order_{key}_spearman"] for r in rows]
            with_ref = [r for r in rows if np.isfinite(r["tau_ref_s"])]  # V1 has an r wave
            before = [r[f"order_{key}_v1v2_before_v5v6"] for r in with_ref]
            summary[f"order_{key}"] = {
                "median_spearman": float(np.median([v if np.isfinite(v) else 0.0 for v in rhos])),
                "n_spearman_undefined": int(sum(not np.isfinite(v) for v in rhos)),
                "v1v2_before_v5v6_share": float(np.mean([b is True for b in before]))
                if before
                else float("nan"),
                "n_with_r_wave_reference": len(with_ref),
                "n_records": len(rows),
                "records_v1v2_not_first": [
                    r["record"] for r in with_ref if r[f"order_{key}_v1v2_before_v5v6"] is not True
                ],
            }
    refs = [r["tau_ref_s"] for r in rows if np.isfinite(r["tau_ref_s"])]
    summary["ref_median_ms"] = float(np.median(refs) * 1e3) if refs else float("nan")
    summary["ref_positive_share"] = float(np.mean([v > 0 for v in refs])) if refs else float("nan")
    return summary


def plot_beats(summary: dict, beats: dict, rows: list[dict], path: str, fs: float = 500.0) -> None:
    """Median V1 and V6 beats of the records where the two references differ, where V1 has no r wave, or
    where the pair fit disagrees with the reference, with V1's r wave, V1's largest deflection and V6's R
    peak marked (one panel per record)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biodyn.atomic import atomic_path

    by_record = {r["record"]: r for r in rows}
    names = list(
        dict.fromkeys(
            b["record"]
            for k in ("references_differ", "without_r_wave_reference", "pair_disagrees")
            for b in summary.get(k, [])
        )
    )
    if not names:
        names = [r["record"] for r in rows[:1]]
    ncol = min(4, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.8 * nrow), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        v1, v6 = beats[name]
        t = (np.arange(v1.size) - v1.size // 2) / fs * 1e3
        r = by_record[name]
        ax.plot(t, v1, color="tab:blue", label="V1")
        ax.plot(t, v6, color="tab:red", label="V6")
        for key, color, style, label in (
            ("v1_rwave_time_s", "tab:blue", "-", "V1 r wave"),
            ("v1_r_time_s", "tab:blue", ":", "V1 largest"),
            ("v6_r_time_s", "tab:red", "-", "V6 R"),
        ):
            if np.isfinite(r[key]):
                ax.axvline(r[key] * 1e3, color=color, ls=style, lw=1, label=label)
        codes = ", ".join(r.get("scp_codes") or {})
        ax.set_title(
            f"{name} ({codes})\nref {r['tau_ref_s'] * 1e3:+.0f} / largest {r['tau_ref_largest_s'] * 1e3:+.0f}"
            f" / fit {r['tau_pair_s'] * 1e3:+.0f} ms",
            fontsize=8,
        )
        ax.set_xlabel("ms from QRS mark", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.suptitle(
        "PTB-XL V1 / V6 median beats (0.5-40 Hz):\nwhere the references differ or the fit disagrees",
        fontsize=9,
    )
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def _chb_channels(root: Path) -> list[str]:
    from biodyn.datasets.chbmit import parse_summary
    from biodyn.montage import unique_names

    return unique_names(parse_summary(root / "chbmit" / "chb01-summary.txt")[0].channels)


def _onsets_ms(fit) -> dict[str, float]:
    """Each channel's onset time (ms) over the fit's identified edges as the focal ranking orders them: the
    least-squares solution of minimum norm (every connected group centred on 0). The channels without an
    identified edge get 0 there, the gauge: they are listed apart (``unranked``), not given a time."""
    g = fit.identified_graph()
    t = g.focal_scores() / len(g.channels) * 1e3  # t_i - mean(t) over the channels, ms
    return {n: float(v) for n, v in zip(g.channels, t)}


def _reproducibility(x: np.ndarray, fs: float, names: list[str], label: str) -> dict:
    """The focal ranking of seed 0 (default iteration limit) against seed 1 and against 4x the limit.
    ``spearman_*``: Spearman with ties as ties over :meth:`LagFit.focal_groups` (the channels without an
    identified edge one final group), undefined (None) when a fit has no identified edge;
    ``spearman_channel_order_*``: the measure before, over flat rankings whose ties (the edgeless channels at
    onset 0 among the others) were listed in channel order."""
    from biodyn.causal.metrics import groups_spearman, ranking_spearman, topk_overlap
    from biodyn.causal.recording import fit_recording

    runs = {}
    for key, seed, steps in (("seed0", 0, 500), ("seed1", 1, 500), ("steps2000", 0, 2000)):
        t0 = time.perf_counter()
        runs[key] = (
            fit_recording(x, fs, names, TAU_MAX_S, steps=steps, stability=0, seed=seed),
            time.perf_counter() - t0,
        )
    fit0 = runs["seed0"][0]
    ref, ref_groups = fit0.focal_ranking(), fit0.focal_groups()
    old_ref = fit0.identified_graph().focal_ranking()  # the edgeless channels at 0, ties in channel order
    g0 = fit0.identified_graph()
    connected = [n for n, has in zip(g0.channels, g0.connected()) if has]
    out = {
        "part": "chbmit_reproducibility",
        "window": label,
        "focal_seed0": fit0.focal_lead(),
        "fit_s": runs["seed0"][1],
        "n_edges_seed0": len(fit0.graph.edges()),
        "n_identified_edges_seed0": len(g0.edges()),
        "n_connected_channels_seed0": len(connected),
        "n_unranked_seed0": len(fit0.unranked()),
        "all_converged": all(f.converged for f, _ in runs.values()),
    }
    rhos, old = [], []
    for key, (fit, _) in runs.items():
        if key == "seed0":
            continue
        n_ident = len(fit.identified_graph().edges())
        if g0.edges() and n_ident:
            rho = groups_spearman(ref_groups, fit.focal_groups())
        else:
            rho = float("nan")
            out[f"spearman_undefined_{key}"] = "no identified edge in " + " and ".join(
                k for k, n in (("seed0", len(g0.edges())), (key, n_ident)) if not n
            )
        rhos.append(rho)
        out[f"spearman_{key}"] = rho
        out[f"spearman_channel_order_{key}"] = ranking_spearman(
            old_ref, fit.identified_graph().focal_ranking()
        )
        out[f"n_identified_edges_{key}"] = n_ident
        out[f"n_unranked_{key}"] = len(fit.unranked())
        out[f"top3_overlap_{key}"] = topk_overlap(ref, fit.focal_ranking(), 3)
        mine = [n for n in fit.focal_ranking() if n in connected]
        out[f"spearman_connected_{key}"] = ranking_spearman([n for n in ref if n in connected], mine)
        # the optima reached: a ranking that moves between nearly equal objectives is a fragile one
        out[f"objective_gap_{key}"] = fit.objective - fit0.objective
        old.append(out[f"spearman_channel_order_{key}"])
    defined = [r for r in rhos if np.isfinite(r)]
    out["spearman_min"] = float(np.min(defined)) if defined else float("nan")
    out["spearman_channel_order_min"] = float(np.min(old))
    # the onset times behind the rankings (ms; the unranked channels listed apart), for the figure
    out["onsets"] = {
        key: {"onset_ms": _onsets_ms(fit), "unranked": list(fit.unranked()), "groups": fit.focal_groups()}
        for key, (fit, _) in runs.items()
    }
    print(
        f"  {label}: Spearman (ties as ties) vs seed 0 {', '.join(f'{r:.3f}' for r in rhos)} "
        f"(channel order: {', '.join(f'{r:.3f}' for r in old)}); converged {out['all_converged']}",
        flush=True,
    )
    return out


def plot_onsets(row: dict, path: str) -> None:
    """The onset times of one window's seed-0 and seed-1 fits (``row``: a reproducibility row with its
    ``onsets``): the channels with an identified edge at their least-squares onset times (black), the channels
    without one at 0 (grey rings), where the gauge of minimum norm put them and where the channel-order
    ranking counted them; a red ring marks a channel connected in one of the two fits only. Both panels list
    the channels in seed 0's order (its ranked groups, then its unranked channels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    on = row["onsets"]
    order = [n for g in on["seed0"]["groups"] for n in g]
    y = {n: k for k, n in enumerate(order)}
    unr = {key: set(on[key]["unranked"]) for key in ("seed0", "seed1")}
    moved = unr["seed0"] ^ unr["seed1"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.27 * len(order) + 2.2), sharey=True)
    for ax, key in zip(axes, ("seed0", "seed1")):
        times = on[key]["onset_ms"]
        conn = [n for n in order if n not in unr[key]]
        ax.axvline(0, color="0.75", lw=0.8, ls=":", zorder=0)
        if conn:
            ts = [times[n] for n in conn]
            ax.axvspan(min(ts), max(ts), color="tab:blue", alpha=0.08, zorder=0)
        ax.scatter([times[n] for n in conn], [y[n] for n in conn], s=30, color="black", zorder=3)
        ax.scatter(
            np.zeros(len(unr[key])),
            [y[n] for n in unr[key]],
            s=30,
            facecolor="none",
            edgecolor="0.5",
            zorder=2,
        )
        ax.scatter(
            [times[n] if n in conn else 0.0 for n in moved],
            [y[n] for n in moved],
            s=110,
            facecolor="none",
            edgecolor="crimson",
            lw=1.4,
            zorder=4,
        )
        groups = [g for g in on[key]["groups"] if not set(g) <= unr[key]]
        ax.set_title(
            f"{key.replace('seed', 'seed ')}: {len(conn)} channels with an identified edge (black, "
            f"{len(groups)} places),\n{len(unr[key])} without (grey rings at the gauge's 0: no onset time)",
            fontsize=9,
        )
        ax.set_xlabel("onset time over the identified edges, least squares of minimum norm (ms)", fontsize=9)
        ax.grid(axis="x", color="0.93")
        ax.set_axisbelow(True)
    axes[0].set_yticks(range(len(order)), order, fontsize=8)
    axes[0].invert_yaxis()
    rho = row.get("spearman_seed1")
    rho_s = f"{rho:.3f}" if rho is not None and np.isfinite(rho) else "undefined"
    fig.suptitle(
        f"{row['window']}: seed 1 against seed 0 (red ring: a channel connected in one fit only)\n"
        f"Spearman with the edgeless channels tied at 0 among the others, in channel order (before): "
        f"{row['spearman_channel_order_seed1']:.3f}\nwith ties as ties, the edgeless channels one unranked "
        f"last group (now): {rho_s}; over seed 0's connected channels: {row['spearman_connected_seed1']:.3f}",
        fontsize=9.5,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def chbmit(root: Path, quick: bool, crop_s: float = 40.0) -> list[dict]:
    from biodyn.causal.metrics import groups_spearman, ranking_spearman, topk_overlap
    from biodyn.causal.recording import fit_recording
    from biodyn.io import read_edf

    names = _chb_channels(root)
    rows = []
    crop = root / "chbmit" / "edf_crops" / "chb01_03_Seizure.edf"
    rec = read_edf(crop)
    x, fs = rec.data.astype(np.float64), rec.fs
    crop_s = 10.0 if quick else crop_s
    seg = x[:, int(1 * fs) : int((1 + crop_s) * fs)]
    rows.append(_reproducibility(seg, fs, list(rec.channels), f"chb01_03_Seizure.edf 1-{1 + crop_s:g} s"))
    files = sorted((root / "chbmit" / "npy_excerpts").glob("*/ictal/*.npy"))
    for f in files[:1] if quick else files:
        rows.append(_reproducibility(np.load(f), 256.0, names, f.name))
    # adjacent windows of the seizure
    for width in (10.0,) if quick else [w for w in (20.0, 10.0) if 2 * w <= crop_s]:
        edges = np.arange(1.0, (21.0 if quick else 1.0 + crop_s) + 1e-9, width)
        rankings = []
        for a, b in pairwise(edges):
            fit = fit_recording(
                x[:, int(a * fs) : int(b * fs)], fs, list(rec.channels), TAU_MAX_S, stability=0
            )
            rankings.append(((a, b), fit))
        for (wa, fa), (wb, fb) in pairwise(rankings):
            ra, rb = fa.focal_ranking(), fb.focal_ranking()
            rows.append(
                {
                    "part": "chbmit_adjacent",
                    "window_s": width,
                    "a": f"{wa[0]:g}-{wa[1]:g} s",
                    "b": f"{wb[0]:g}-{wb[1]:g} s",
                    "spearman": groups_spearman(fa.focal_groups(), fb.focal_groups()),
                    "spearman_channel_order": ranking_spearman(
                        fa.identified_graph().focal_ranking(), fb.identified_graph().focal_ranking()
                    ),
                    "top3_overlap": topk_overlap(ra, rb, 3),
                    "top3_a": ra[:3],
                    "top3_b": rb[:3],
                }
            )
            print(
                f"  adjacent {width:g} s windows {rows[-1]['a']} / {rows[-1]['b']}: Spearman "
                f"{rows[-1]['spearman']:.2f}, top-3 overlap {rows[-1]['top3_overlap']}",
                flush=True,
            )
    return rows


def speed(root: Path, n_stability: int = 8) -> list[dict]:
    from biodyn.causal.recording import fit_recording

    f = root / "chbmit" / "npy_excerpts" / "chb01" / "ictal" / "chb01_03_ictal.npy"
    x = np.load(f)
    names = _chb_channels(root)
    rows = []
    for n_st in (0, n_stability):
        t0 = time.perf_counter()
        fit = fit_recording(x, 256.0, names, TAU_MAX_S, stability=n_st)
        rows.append(
            {
                "part": "speed",
                "case": f"23 ch x 10 s at 256 Hz, {n_st} sub-window refits",
                "wall_s": time.perf_counter() - t0,
                "fit_s": fit.fit_s,
                "n_iter": fit.n_iter,
                "converged": fit.converged,
            }
        )
    return rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--root", help="data root (default: $BIODYN_DATA_ROOT or ../shared/data)")
    p.add_argument(
        "--threads", type=int, default=2, help="torch threads (default 2; the fit itself uses one)"
    )
    p.add_argument(
        "--multilead-sem",
        action="store_true",
        help="also order V1-V6 with the lagged SEM (preset "
        "ecg_sem) beside the ecg preset's common-source model (slow)",
    )
    p.add_argument("--ptbxl-only", action="store_true", help="PTB-XL only (no CHB-MIT, no speed rows)")
    p.add_argument(
        "--crop-s",
        type=float,
        default=40.0,
        help="seconds of the CHB-MIT seizure crop fitted from 1 s "
        "(default 40; its adjacent windows are the 20 s / 10 s windows that fit in it)",
    )
    p.add_argument(
        "--ptbxl-from",
        metavar="JSON",
        help="take the PTB-XL rows and summary from an earlier run's "
        "JSON instead of fitting them again (recorded in the JSON: its commit and date)",
    )
    p.add_argument(
        "--onset-plot",
        metavar="PNG",
        help="the CHB-MIT crop's onset times for seeds 0 and 1, the channels "
        "without an identified edge apart",
    )
    p.add_argument(
        "--onset-plot-from",
        metavar="JSON",
        help="draw --onset-plot from an earlier run's JSON (its "
        "chbmit_crop_onsets) and stop, without fitting anything",
    )
    p.add_argument(
        "--plot",
        metavar="PNG",
        help="median V1 / V6 beats of the PTB-XL records the references "
        "order differently or the fit disagrees with",
    )
    args = p.parse_args()
    if args.onset_plot_from:
        import json

        res = json.loads(Path(args.onset_plot_from).read_text())
        on = res["chbmit_crop_onsets"]
        row = next(r for r in res["rows"] if r.get("window") == on["window"])
        plot_onsets({**row, "onsets": on}, args.onset_plot or "lags_real_onsets.png")
        return
    import torch

    from biodyn.data_root import data_root

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    root = Path(args.root) if args.root else data_root()
    if root is None or not (root / "ptbxl" / "records500").is_dir() or not (root / "chbmit").is_dir():
        print(
            "bench_lags_real: needs the sample recordings (ptbxl/records500, chbmit) under the data root; skipped"
        )
        report("lags_real", [], {}, args.json, skipped=True)
        return
    extra = {}
    if args.ptbxl_from:  # the PTB-XL part of an earlier run (only the ECG presets' code matters to it)
        import json

        old = json.loads(Path(args.ptbxl_from).read_text())
        ecg_rows, ecg, beats = (
            [r for r in old["rows"] if r.get("part") == "ptbxl"],
            old["ptbxl_summary"],
            None,
        )
        # where the rows were measured: an earlier run's own source when it took them from one in turn
        extra["ptbxl_from"] = old.get("ptbxl_from") or {
            "commit": old.get("commit"),
            "measured_at": old.get("measured_at"),
            "load_average": old.get("load_average"),
        }
    else:
        print("PTB-XL V1 -> V6 activation delay:")
        ecg_rows, ecg, beats = ptbxl(
            root, 8 if args.quick else None, twelve=not args.quick, multilead_sem=args.multilead_sem
        )
    if args.plot and beats is not None:
        plot_beats(ecg, beats, ecg_rows, args.plot)
    goals = {
        "ptbxl_direction_agreement": goal(ecg["pair"]["direction_agreement"], 0.9, "share of records", True),
        "ptbxl_median_abs_tau_error_ms": goal(ecg["pair"]["median_abs_error_ms"], 5.0, "ms", False),
    }
    for key, label in (("chest", "v1_v6"), ("12lead", "12lead")):
        if f"order_{key}" in ecg:
            goals[f"ptbxl_{label}_order_median_spearman"] = goal(
                ecg[f"order_{key}"]["median_spearman"], 0.8, "Spearman", True
            )
            goals[f"ptbxl_{label}_v1v2_before_v5v6_share"] = goal(
                ecg[f"order_{key}"]["v1v2_before_v5v6_share"], 0.9, "share of records", True
            )
    eeg_rows, speed_rows = [], []
    if not args.ptbxl_only:
        print("CHB-MIT focal ranking reproducibility and adjacent-window stability:")
        eeg_rows = chbmit(root, args.quick, args.crop_s)
        extra["chbmit_crop_s"] = 10.0 if args.quick else args.crop_s
        # the onset times behind the crop's rankings (the first reproducibility row) travel beside the rows
        onsets = [r.pop("onsets") for r in eeg_rows if "onsets" in r]
        extra["chbmit_crop_onsets"] = {"window": eeg_rows[0]["window"], **onsets[0]}
        if args.onset_plot:
            plot_onsets({**eeg_rows[0], "onsets": onsets[0]}, args.onset_plot)
        speed_rows = speed(root, 4 if args.quick else 8)
        repro = [r for r in eeg_rows if r.get("part") == "chbmit_reproducibility"]
        # a comparison with a fit that orders nothing is undefined: neither agreement nor disagreement
        extra["chbmit_spearman_undefined"] = [
            {"window": r["window"], "against": k.removeprefix("spearman_undefined_"), "reason": v}
            for r in repro
            for k, v in r.items()
            if k.startswith("spearman_undefined_")
        ]
        defined = [r["spearman_min"] for r in repro if np.isfinite(r["spearman_min"])]
        goals["chbmit_ranking_spearman_min"] = goal(
            min(defined) if defined else float("nan"), 0.9, "Spearman", True
        )
        extra["chbmit_ranking_spearman_channel_order_min"] = min(
            r["spearman_channel_order_min"] for r in repro
        )
        goals["speed_23ch_10s_256hz_fit_s"] = goal(speed_rows[0]["wall_s"], 10.0, "s", False)
    report(
        "lags_real",
        ecg_rows + eeg_rows + speed_rows,
        goals,
        args.json,
        ptbxl_summary=ecg,
        quick=bool(args.quick),
        threads=args.threads,
        total_s=time.perf_counter() - t_start,
        **extra,
    )
    print({k: v for k, v in ecg.items()})


if __name__ == "__main__":
    main()

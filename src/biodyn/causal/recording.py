"""Lag graphs of real recordings: checks at the door, band-pass, dependent channels out, fit, stability.

:func:`fit_recording` is what ``biodyn lags`` runs; :func:`dependent_channels` finds channels that are
(numerically) linear combinations of others — derived ECG limb leads (III = II - I, aVR, aVL, aVF), a
bipolar derivation listed twice or reversed, a closed chain of bipolar derivations, an average reference —
which make an instantaneous model singular and carry no information of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from biodyn.causal.fit import FitConfig, LagFit, Progress, fit_lags
from biodyn.errors import ConfigError, RecordingError


def min_samples(tau_max_samples: float) -> int:
    """The shortest recording (samples) a lag fit accepts for a given largest delay."""
    return int(10 * (tau_max_samples + 2))


def dependent_channels(x: np.ndarray, channels: Sequence[str], rtol: float = 0.01) -> list[dict]:
    """Channels of ``x`` ``(C, T)`` that are linear combinations of earlier ones, in channel order.

    Each channel is projected on the span of the channels kept before it (Gram-Schmidt on the
    mean-removed rows); when the residual's norm is below ``rtol`` times the channel's norm (R^2 above
    ``1 - rtol^2``) it is dependent. Returns ``{"channel", "index", "combination", "residual",
    "reason"}`` per dependent channel, where ``combination`` maps kept channels to coefficients
    (``III = 1.00 II - 1.00 I``). The first-listed channels are the ones kept.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(1, keepdims=True)
    basis: list[np.ndarray] = []  # orthonormal rows
    kept: list[int] = []
    out = []
    for k in range(x.shape[0]):
        v = x[k]
        norm = float(np.linalg.norm(v))
        if norm == 0:
            out.append(
                {
                    "channel": channels[k],
                    "index": k,
                    "combination": {},
                    "residual": 0.0,
                    "reason": "constant (flat) channel",
                }
            )
            continue
        r = v.copy()
        for q in basis:  # twice, for numerical orthogonality
            r -= (q @ r) * q
        for q in basis:
            r -= (q @ r) * q
        rel = float(np.linalg.norm(r)) / norm
        if kept and rel < rtol:
            coef, *_ = np.linalg.lstsq(x[kept].T, v, rcond=None)
            comb = {channels[kept[i]]: float(coef[i]) for i in range(len(kept)) if abs(coef[i]) >= 0.01}
            expr = " ".join(f"{'+' if c >= 0 else '-'} {abs(c):.2f} {n}" for n, c in comb.items())
            expr = expr[2:] if expr.startswith("+ ") else "-" + expr[2:]
            out.append(
                {
                    "channel": channels[k],
                    "index": k,
                    "combination": comb,
                    "residual": rel,
                    "reason": f"linearly dependent: {channels[k]} = {expr} "
                    f"(residual {100 * rel:.2g} % of its norm)",
                }
            )
            continue
        basis.append(r / np.linalg.norm(r))
        kept.append(k)
    return out


def check_lag_input(
    data: np.ndarray, fs: float, channels: Sequence[str], tau_max_s: float, source: str | None = None
) -> np.ndarray:
    """Check a recording before a lag fit; returns it as float64 ``(C, T)``. Every problem is a
    :class:`ConfigError` (parameters) or :class:`RecordingError` (the data) naming what is allowed."""
    from biodyn.errors import RecordingError

    if not (isinstance(fs, (int, float)) and np.isfinite(fs) and fs > 0):
        raise ConfigError(f"invalid fs={fs!r}; allowed: a positive number of Hz")
    if not (isinstance(tau_max_s, (int, float)) and np.isfinite(tau_max_s) and tau_max_s > 0):
        raise ConfigError(f"invalid tau_max_s={tau_max_s!r}; allowed: a positive number of seconds")
    x = np.asarray(data)
    if x.dtype.kind not in "fiu":
        raise RecordingError(source, f"data of dtype {x.dtype} is not numeric")
    x = x.astype(np.float64, copy=False)
    if x.ndim != 2:
        raise RecordingError(source, f"data must be 2-D (channels, samples); got shape {x.shape}")
    names = list(channels)
    if len(names) != x.shape[0]:
        hint = ""
        if x.shape[1] == len(names):
            hint = f"; it looks like (samples, channels): transpose it (x.T) to ({x.shape[1]}, {x.shape[0]})"
        raise RecordingError(
            source, f"array {x.shape} does not match {len(names)} channel names as (C, T){hint}"
        )
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"duplicate channel name(s) {', '.join(dup)}; every channel needs its own name")
    if x.shape[0] < 2:
        raise RecordingError(
            source, f"a lag graph needs at least 2 channels; got {x.shape[0]} ({', '.join(names)})"
        )
    need = min_samples(tau_max_s * fs)
    if x.shape[1] < need:
        raise RecordingError(
            source,
            f"too short for a lag fit: {x.shape[1]} samples ({x.shape[1] / fs:.3g} s at "
            f"{fs:g} Hz); tau_max_s={tau_max_s:g} needs at least {need} samples "
            f"({need / fs:.3g} s)",
        )
    bad = np.flatnonzero(~np.isfinite(x).all(1))
    if bad.size:
        raise RecordingError(source, f"NaN or Inf samples in channel(s) {', '.join(names[i] for i in bad)}")
    return x


@dataclass(frozen=True)
class RecordingPreset:
    """How a modality's recordings are prepared and fitted (see docs/lags.md, "Presets").

    Attributes:
        band_hz: band-pass edges (Hz; None: that side open).
        fit_fs: the highest fitting rate (Hz): a recording at or below it is fitted at its own rate (no
            resampling), a faster one is resampled to it.
        tau_max_s: the largest delay searched (s).
        fit: :class:`~biodyn.causal.fit.FitConfig` fields that differ from its defaults (``model="sem"``).
        model: ``"sem"``, the lagged SEM (:func:`biodyn.causal.fit.fit_lags`), or ``"common_source"``, every
            channel a delayed, scaled copy of one waveform (:func:`biodyn.causal.common_source.fit_common_source`).
        anti_alias: the resampling's anti-alias FIR, ``(half_len_factor, kaiser_beta)`` of
            :func:`biodyn.signal.filters.resample`; None: scipy's default.
    """

    band_hz: tuple[float | None, float | None]
    fit_fs: float
    tau_max_s: float
    fit: dict = field(default_factory=dict)
    model: str = "sem"
    anti_alias: tuple[int, float] | None = None


PRESETS: dict[str, RecordingPreset] = {
    # scalp EEG: a Granger-style model (each channel's own past in it), lagged weights of either sign. A
    # high-pass only (drift out): a low-pass inside the fitting band colours every innovation alike, the own
    # past whitens each target but not its sources, and the delays come out short (-0.3 samples with 0.5-40 Hz
    # at 100 Hz, benchmarks/bench_identifiability.py "preset" rows). Resampling is such a low-pass too (its
    # anti-alias filter at the new Nyquist): a recording read at 256 Hz and resampled to 100 Hz gained weak
    # spurious edges (F1 0.72-0.91) where the fit at 256 Hz had none. So a recording at or below 256 Hz (the
    # clinical rates 200/250/256 Hz, CHB-MIT) is fitted at its own rate, delays in seconds all the same; only a
    # faster one is resampled, to 256 Hz. Five starts of the delays, not three: with three, a fit with another
    # seed ended some CHB-MIT excerpts in a deeper optimum with another focal ranking (bench_lags_real)
    # A faster recording is resampled with a long, steep anti-alias FIR (flat to 0.95 of the new Nyquist, 42 dB
    # down at 1.05): with scipy's default (-0.7 dB at 0.9 of it, 12 dB down at 1.05) the delays of 512 Hz
    # recordings came out about 0.05 samples short (bench_identifiability --preset-path, 512 Hz cells)
    "eeg": RecordingPreset(
        band_hz=(0.5, None), fit_fs=256.0, tau_max_s=0.05, fit={"n_starts": 5}, anti_alias=(40, 8.0)
    ),
    # ECG: the leads are projections of one cardiac dipole, so they co-vary mostly at zero lag and a lagged SEM
    # finds few of the delays between them (the activation order of V1-V6 came out unrelated to the R-wave
    # order, benchmarks/bench_lags_real.py). The common-source model instead: every lead a delayed, scaled
    # (same-polarity) copy of one shared QRS waveform, the delays the activation order. The QRS band, 250 Hz
    # (4 ms samples), delays within +-40 ms of the median lead: below half the QRS's dominant period (~80 ms at
    # 10-15 Hz), beyond which a narrow-band QRS repeats itself and the delay is no longer identified.
    "ecg": RecordingPreset(band_hz=(5.0, 40.0), fit_fs=250.0, tau_max_s=0.04, model="common_source"),
    # the lagged SEM the ecg preset fitted before (a time-delay SEM without own past, same-polarity edges,
    # delays started at each pair's cross-correlation peak): kept for comparison (bench_lags_real)
    "ecg_sem": RecordingPreset(
        band_hz=(5.0, 40.0),
        fit_fs=250.0,
        tau_max_s=0.04,
        fit={"self_lags": 0, "weight_sign": "positive", "init_delays": "xcorr"},
    ),
}


def resolve_preset(preset: str | RecordingPreset, channels: Sequence[str]) -> tuple[str, RecordingPreset]:
    """``(name, preset)`` for ``preset`` = ``"auto"`` (:func:`biodyn.montage.guess_modality`: ``"ecg"`` when most
    channels are ECG leads, else ``"eeg"``), a name in :data:`PRESETS`, or a :class:`RecordingPreset` (named ``"custom"``)."""
    if isinstance(preset, RecordingPreset):
        return "custom", preset
    if preset == "auto":
        from biodyn.montage import guess_modality

        preset = guess_modality(list(channels))
    if preset not in PRESETS:
        raise ConfigError(f"invalid preset={preset!r}; allowed: auto, {', '.join(PRESETS)}")
    return preset, PRESETS[preset]


def fit_recording(
    data: np.ndarray,
    fs: float,
    channels: Sequence[str],
    tau_max_s: float | None = None,
    steps: int = 500,
    *,
    preset: str | RecordingPreset = "auto",
    band_hz: tuple[float | None, float | None] | None = None,
    stability: int = 8,
    seed: int = 0,
    dependent_rtol: float = 0.01,
    fit_fs: float | None = None,
    cfg: FitConfig | None = None,
    progress: Progress | None = None,
    source: str | None = None,
) -> LagFit:
    """Fit the lag graph of a recording ``data`` ``(C, T)`` at ``fs`` Hz; returns a :class:`LagFit`.

    ``preset`` (:data:`PRESETS`; ``"auto"``: ``"ecg"`` when every channel is a standard ECG lead, else
    ``"eeg"``) sets the band, the fitting rate, the delay range and the fit's configuration; ``tau_max_s``,
    ``band_hz`` and ``fit_fs`` override it when given, and ``cfg`` replaces its fit configuration (its
    ``tau_max_samples`` and ``steps`` are set from ``tau_max_s`` and ``steps``). The name of the preset used
    is in ``LagFit.preset``.

    Band-pass (``band_hz``, the upper edge kept below 0.45 ``fs``), resample to ``fit_fs`` (at least 2.2 times
    the upper band edge; a rate at or above ``fs`` keeps ``fs``: an oversampled band-limited signal only makes
    the fit slower and worse conditioned), z-score, leave out flat and linearly
    dependent channels (:func:`dependent_channels`; each listed in ``LagFit.dropped`` with the reason),
    fit (:func:`biodyn.causal.fit.fit_lags`), then ``stability`` sub-window refits
    (:func:`biodyn.causal.stability.lag_stability`; 0 skips them).
    """
    import warnings

    from biodyn.signal import PreprocessConfig, bandpass_sos, preprocess, settling_samples, sosfiltfilt
    from biodyn.signal.filters import resample, resample_ratio

    names = list(channels)
    preset_name, pre_set = resolve_preset(preset, names)
    tau_max_s = pre_set.tau_max_s if tau_max_s is None else tau_max_s
    band_hz = pre_set.band_hz if band_hz is None else band_hz
    fit_fs = pre_set.fit_fs if fit_fs is None else fit_fs
    if not (isinstance(fit_fs, (int, float)) and fit_fs > 0):
        raise ConfigError(
            f"invalid fit_fs={fit_fs!r}; allowed: a positive rate in Hz (math.inf keeps the recording's)"
        )
    x = check_lag_input(data, fs, names, tau_max_s, source)
    dropped = []
    flat = np.flatnonzero(x.std(1) == 0)
    for k in flat:
        dropped.append({"channel": names[k], "reason": "constant (flat) channel"})
    live = [k for k in range(len(names)) if k not in set(flat)]
    lo, hi = band_hz
    if (
        lo is not None and lo >= 0.45 * fs
    ):  # say it is the recording's rate, not a setting the user never chose
        raise RecordingError(
            source,
            f"sampled at {fs:g} Hz, too slow for the {preset_name} preset's band "
            f"{lo:g}-{hi if hi is not None else 'none'} Hz (its high-pass edge needs a rate "
            f"above {lo / 0.45:.3g} Hz)",
        )
    hi = None if hi is None else min(hi, 0.45 * fs)
    rate = fs if fit_fs >= fs else max(float(fit_fs), 2.2 * (hi or 0.0))
    x = x[live]
    if lo is not None or hi is not None:
        # zero-phase band-pass, the ends mirrored over the filter's settling time (three periods of the
        # lowest band edge, in seconds): scipy's default extension is a few samples, reflected through the end
        # sample, and the 0.5 Hz high-pass then left start-up transients that every channel shares; at 512 Hz
        # (19.5 s) they made a decimated lagged SEM gain 4-6 spurious edges (F1 0.75-0.82) where the same data
        # without the high-pass, or with the ends mirrored so, gave F1 1.0 (bench_identifiability --preset-path)
        x = sosfiltfilt(
            bandpass_sos(fs, lo, hi),
            x,
            padtype="even",
            padlen=settling_samples(fs, lo, hi),
        )
    own_filter = rate != fs and pre_set.anti_alias is not None  # resampled here, with the preset's FIR
    pre = PreprocessConfig(fs=None if rate == fs or own_filter else rate, zscore=False)
    x, fs = preprocess(x, fs, pre)
    if own_filter:
        with warnings.catch_warnings():  # the achieved rate is the one used (as preprocess does)
            warnings.simplefilter("ignore")
            x = resample(x, fs, rate, anti_alias=pre_set.anti_alias)
        fs = resample_ratio(fs, rate)[2]
    x = x.astype(np.float64)
    live_names = [names[k] for k in live]
    # in the data's units, so that the combinations read as derivations (III = 1.00 II - 1.00 I)
    dep = dependent_channels(x, live_names, dependent_rtol)
    dropped += [{"channel": d["channel"], "reason": d["reason"]} for d in dep]
    gone = {d["index"] for d in dep}
    keep = [k for k in range(len(live_names)) if k not in gone]
    if len(keep) < 2:
        raise ConfigError(
            f"fewer than 2 channels left after leaving out {', '.join(d['channel'] for d in dropped)}: "
            + "; ".join(f"{d['channel']}: {d['reason']}" for d in dropped)
        )
    cfg = cfg or FitConfig(**pre_set.fit)
    # lags of at least one sample at the fitting rate: anything shorter is zero-lag coupling
    cfg = FitConfig(
        **{
            **cfg.__dict__,
            "tau_max_samples": tau_max_s * fs,
            "steps": int(steps),
            "tau_min_samples": max(cfg.tau_min_samples, 1.0),
        }
    )
    xk, kept_names = x[keep], [live_names[k] for k in keep]
    if pre_set.model == "common_source":
        from biodyn.causal.common_source import fit_common_source

        fit = fit_common_source(xk, fs, kept_names, cfg.tau_max_samples)
    else:
        fit = fit_lags(xk, fs, kept_names, cfg, seed=seed, progress=progress)
    fit.dropped = dropped
    fit.preset = preset_name
    if stability:
        from biodyn.causal.stability import lag_stability

        fit.stability = lag_stability(xk, fs, kept_names, cfg, fit, n_windows=stability, progress=progress)
    return fit

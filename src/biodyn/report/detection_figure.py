"""The seizure-detection figure: one layout for a 41 s crop and for a 24 h recording.

Top: the seizure probability over the whole recording, the switch-on threshold actually used (dashed) and the
detected (red) and reference (green bar) events. Below: a zoom of at most :data:`ZOOM_S` seconds on each
detected event (the most confident :data:`MAX_ZOOMS`), then on reference events no detection covers; with no
event at all, on the stretch of highest probability. Each zoom draws the EEG one channel per row, every
channel scaled by its own robust amplitude (median absolute deviation over the recording, rounded to a 1-2-5
step, the value in µV written at the right of its row), clipped to its row band, rows alternately shaded; a
vertical scale bar and a 1 s time grid. The figure has a fixed width and at most :data:`MAX_ZOOMS` zooms, so its
pixel size does not depend on the recording's duration; the overview is drawn from a per-pixel min/max envelope.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from biodyn.types import Event

ZOOM_S = 30.0  # longest stretch of EEG in one zoom panel (s)
MAX_ZOOMS = 3  # zoom panels at most
WIDTH_IN = 12.0
DPI = 100
OVERVIEW_POINTS = 3000  # envelope bins of the probability overview
DETECTED = "tab:red"
REFERENCE = "tab:green"


@dataclass
class Zoom:
    start_s: float
    stop_s: float
    title: str


def nice_step(x: float) -> float:
    """The smallest value of the 1-2-5 series (..., 10, 20, 50, 100, ...) that is >= ``x`` (> 0)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    e = 10.0 ** np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * e >= x * (1 - 1e-9):
            return float(m * e)
    return float(10 * e)


def robust_amplitude(x: np.ndarray, max_samples: int = 200_000) -> np.ndarray:
    """``(C,)`` per-channel robust standard deviation (1.4826 x median absolute deviation) of ``x`` ``(C, T)``,
    from at most ``max_samples`` evenly spaced samples (a 24 h recording costs as much as a short one)."""
    step = max(1, x.shape[1] // max_samples)
    s = np.asarray(x[:, ::step], dtype=np.float64)
    med = np.median(s, axis=1, keepdims=True)
    return 1.4826 * np.median(np.abs(s - med), axis=1)


def row_scales(x: np.ndarray) -> np.ndarray:
    """``(C,)`` the µV one row of the zoom stands for: 6 robust SDs rounded up to a 1-2-5 step."""
    return np.array([nice_step(6.0 * a) for a in robust_amplitude(x)])


def envelope(
    y: np.ndarray, fs: float, n_bins: int = OVERVIEW_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t, low, high)``: the min and max of ``y`` in each of at most ``n_bins`` equal bins (times in s at
    the bins' starts); short signals come back sample by sample."""
    n = len(y)
    if n <= 2 * n_bins:
        t = np.arange(n) / fs
        return t, y, y
    edges = np.linspace(0, n, n_bins + 1).astype(np.int64)
    low = np.minimum.reduceat(y, edges[:-1])
    high = np.maximum.reduceat(y, edges[:-1])
    return edges[:-1] / fs, low, high


def _overlaps(a: Event, b: Event) -> bool:
    return a.onset_s < b.offset_s and b.onset_s < a.offset_s


def choose_zooms(
    events: list[Event],
    reference: list[Event],
    probs: np.ndarray,
    fs: float,
    duration_s: float,
    confidences: list[float] | None = None,
) -> list[Zoom]:
    """The zoom panels: detected events by confidence, then reference events no shown detection overlaps,
    :data:`MAX_ZOOMS` at most; with neither, the stretch of highest probability. A zoom starts 2 s before its
    first event (context) and lasts at most :data:`ZOOM_S`; events that start within one zoom share it."""
    conf = confidences if confidences is not None else [1.0] * len(events)
    order = sorted(range(len(events)), key=lambda k: -conf[k])
    picked: list[tuple[Event, str]] = [(events[k], "detection") for k in order]
    picked += [
        (r, "reference seizure (not detected)") for r in reference if not any(_overlaps(r, e) for e in events)
    ]
    span = min(ZOOM_S, duration_s)
    zooms: list[Zoom] = []
    members: list[list[tuple[Event, str]]] = []
    for e, what in picked:  # most important first; an event inside an earlier zoom joins it
        for z, m in zip(zooms, members, strict=True):
            if z.start_s <= e.onset_s < z.stop_s:
                m.append((e, what))
                break
        else:
            if len(zooms) < MAX_ZOOMS:
                start = min(max(0.0, e.onset_s - 2.0), max(0.0, duration_s - span))
                zooms.append(Zoom(start, start + span, ""))
                members.append([(e, what)])
    for z, m in zip(zooms, members, strict=True):
        parts = []
        for what in dict.fromkeys(w for _, w in m):
            spans = [
                f"{e.onset_s:.1f}-{e.offset_s:.1f} s"
                for e, w in sorted(m, key=lambda p: p[0].onset_s)
                if w == what
            ]
            parts.append(f"{what}{'s' if len(spans) > 1 and what == 'detection' else ''} {', '.join(spans)}")
        cut = any(e.offset_s > z.stop_s for e, _ in m)
        z.title = "; ".join(parts) + (f" (shown to {z.stop_s:.0f} s)" if cut else "")
    zooms.sort(key=lambda z: z.start_s)
    if not zooms:
        k = int(np.argmax(probs)) if len(probs) else 0
        centre = k / fs
        start = min(max(0.0, centre - span / 2), max(0.0, duration_s - span))
        p = float(probs[k]) if len(probs) else float("nan")
        zooms.append(
            Zoom(
                start,
                start + span,
                f"no event: the {span:.0f} s around the highest probability ({p:.2f} at {centre:.1f} s)",
            )
        )
    return zooms


def _seconds_label(duration_s: float) -> str:
    return "time (s)" if duration_s < 3 * 3600 else "time (s; hours at the top)"


def detection_figure(
    data: np.ndarray,
    fs: float,
    channels: list[str],
    probs: np.ndarray,
    probs_fs: float,
    threshold: float,
    events: list[Event],
    *,
    reference: list[Event] | None = None,
    confidences: list[float] | None = None,
    title: str = "",
    units: str = "µV",
    max_channels: int = 23,
):
    """Build the figure (module docstring) and return it (a matplotlib ``Figure``; the caller saves it).

    Args:
        data: ``(C, T)`` the recording's channels in ``units`` at ``fs`` Hz (only the zoomed stretches are drawn).
        probs: ``(T',)`` seizure probability per sample at ``probs_fs`` Hz.
        threshold: the switch-on probability the events were found with.
        events / reference: detected and reference seizures (onsets and durations in s).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import AutoMinorLocator, MultipleLocator

    reference = list(reference or [])
    data, channels = data[:max_channels], list(channels[:max_channels])
    duration = max(data.shape[1] / fs, len(probs) / probs_fs)
    zooms = choose_zooms(events, reference, probs, probs_fs, duration, confidences)
    n_ch = len(channels)
    zoom_h = 0.75 + 0.24 * n_ch
    heights = [2.0] + [zoom_h] * len(zooms)
    fig = plt.figure(figsize=(WIDTH_IN, sum(heights) + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]

    # overview: the probability over the whole recording
    ax = axes[0]
    t, lo, hi = envelope(np.asarray(probs, dtype=np.float64), probs_fs)
    if len(t) and lo is hi:
        ax.plot(t, hi, color="black", lw=0.8, label="p(seizure)")
    elif len(t):
        ax.fill_between(t, lo, hi, color="black", lw=0.6, step="post", label="p(seizure)")
    for k, e in enumerate(events):
        ax.axvspan(
            e.onset_s, e.offset_s, color=DETECTED, alpha=0.25, lw=0, label="detected" if k == 0 else None
        )
        ax.axvline(e.onset_s, color=DETECTED, lw=1.0)  # visible however short the event is on the axis
    for k, e in enumerate(reference):
        ax.axvspan(
            e.onset_s,
            e.offset_s,
            ymin=0.93,
            ymax=1.0,
            color=REFERENCE,
            lw=0,
            label="reference seizure" if k == 0 else None,
        )
    ax.axhline(threshold, color="tab:blue", ls="--", lw=1.0, label=f"threshold {threshold:.3g}")
    for z in zooms:
        ax.axvspan(z.start_s, z.stop_s, fill=False, ec="grey", lw=0.8, ls=":")
    ax.set_xlim(0, duration)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("p(seizure)", fontsize=10)
    ax.set_xlabel(_seconds_label(duration), fontsize=10)
    ax.grid(True, axis="x", color="0.85", lw=0.6)
    ax.tick_params(labelsize=9)
    if duration >= 3 * 3600:
        top = ax.secondary_xaxis("top", functions=(lambda s: s / 3600.0, lambda h: h * 3600.0))
        top.set_xlabel("hours", fontsize=9)
        top.tick_params(labelsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0, frameon=False)
    ax.set_title(title or f"{len(events)} detection(s) in {duration:.0f} s", fontsize=11, loc="left")

    scales = row_scales(data) if n_ch else np.zeros(0)
    for ax, z in zip(axes[1:], zooms, strict=True):
        a, b = round(z.start_s * fs), min(data.shape[1], round(z.stop_s * fs))
        tz = np.arange(a, b) / fs
        for k in range(n_ch):
            y0 = -k
            if k % 2:
                ax.axhspan(y0 - 0.5, y0 + 0.5, color="0.94", lw=0, zorder=0)
            seg = data[k, a:b].astype(np.float64)
            seg = (seg - np.median(seg)) / scales[k] if len(seg) else seg
            ax.plot(
                tz,
                y0 + np.clip(seg, -0.95, 0.95),
                lw=0.5,
                color="black" if k % 2 == 0 else "#23407a",
                zorder=2,
            )
        for e in events:
            if e.offset_s > z.start_s and e.onset_s < z.stop_s:
                ax.axvspan(
                    max(e.onset_s, z.start_s),
                    min(e.offset_s, z.stop_s),
                    color=DETECTED,
                    alpha=0.12,
                    lw=0,
                    zorder=1,
                )
        for e in reference:
            if e.offset_s > z.start_s and e.onset_s < z.stop_s:
                ax.axvspan(
                    max(e.onset_s, z.start_s),
                    min(e.offset_s, z.stop_s),
                    ymin=0.985,
                    ymax=1.0,
                    color=REFERENCE,
                    lw=0,
                )
        ax.set_xlim(z.start_s, z.stop_s)
        ax.set_ylim(-n_ch + 0.5, 0.5)
        ax.set_yticks(-np.arange(n_ch), channels, fontsize=8)
        right = ax.secondary_yaxis("right")
        right.set_yticks(-np.arange(n_ch), [f"{s:g}" for s in scales], fontsize=7)
        right.set_ylabel(f"{units} per row", fontsize=8)
        ax.xaxis.set_major_locator(MultipleLocator(5.0 if z.stop_s - z.start_s > 10 else 1.0))
        ax.xaxis.set_minor_locator(AutoMinorLocator(5 if z.stop_s - z.start_s > 10 else 2))
        ax.grid(True, which="major", axis="x", color="0.75", lw=0.7)
        ax.grid(True, which="minor", axis="x", color="0.88", lw=0.5)
        ax.tick_params(axis="x", labelsize=9)
        ax.set_xlabel("time (s)", fontsize=10)
        ax.set_title(z.title, fontsize=10, loc="left")
        if n_ch:  # the scale bar: one row of the first channel, at the panel's right end
            x_bar = z.stop_s - 0.012 * (z.stop_s - z.start_s)
            ax.plot([x_bar, x_bar], [-0.5, 0.5], color="tab:blue", lw=2.5, solid_capstyle="butt", zorder=4)
            ax.text(
                x_bar - 0.006 * (z.stop_s - z.start_s),
                0.0,
                f"{scales[0]:g} {units}",
                ha="right",
                va="center",
                fontsize=8,
                color="tab:blue",
                zorder=4,
                bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1},
            )
    return fig


def save_figure(fig, path: str | os.PathLike) -> None:
    """Write ``fig`` as PNG at its own size (no tight box: the pixel size is the figure's), atomically."""
    import matplotlib.pyplot as plt

    from biodyn.atomic import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)

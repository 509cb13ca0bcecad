"""Drawing a lag graph: EEG channels on the scalp, ECG leads on a limb-lead / chest-lead layout."""

from __future__ import annotations

import os
import re
import warnings

import numpy as np

from biodyn.types import LagGraph

# frontal-plane angles of the limb leads (hexaxial reference, degrees, 0 = patient's left, +90 = down)
_LIMB_DEG = {"I": 0.0, "II": 60.0, "III": 120.0, "AVR": -150.0, "AVL": -30.0, "AVF": 90.0}
_CHEST = ("V1", "V2", "V3", "V4", "V5", "V6")


def _base(name: str) -> str:
    return re.sub(r"#\d+$", "", name).strip()


def is_ecg(channels) -> bool:
    """True when every channel is an ECG lead: the twelve standard leads (I, II, III, aVR, aVL, aVF, V1-V6) or
    the Frank leads (X, Y, Z; vx, vy, vz), :func:`biodyn.montage.ecg_lead`."""
    from biodyn.montage import ecg_lead

    return bool(channels) and all(ecg_lead(n) is not None for n in channels)


def ecg_positions(channels) -> np.ndarray:
    """``(C, 2)``: limb leads on a circle at their frontal-plane angles (left), chest leads V1-V6 on an arc
    around the chest (right, V1 at the right sternal border to V6 at the left mid-axillary line); the Frank
    leads X (left) and Y (foot) on the frontal circle, Z (front to back) in the middle of the chest circle."""
    from biodyn.montage import ecg_lead

    out = []
    for n in channels:
        u = (ecg_lead(n) or _base(n)).upper()
        if u in ("X", "Y"):
            a = np.deg2rad(0.0 if u == "X" else 90.0)
            out.append((-1.25 + 0.55 * np.cos(a), -0.55 * np.sin(a)))
        elif u == "Z":
            out.append((1.25, -0.35))
        elif u in _LIMB_DEG:
            a = np.deg2rad(_LIMB_DEG[u])
            out.append((-1.25 + 0.8 * np.cos(a), -0.8 * np.sin(a)))
        else:
            k = _CHEST.index(u)
            a = np.deg2rad(115 - 23 * k)
            out.append((1.25 + 0.85 * np.cos(a), -0.35 + 0.85 * np.sin(a)))
    return np.asarray(out)


def layout(channels) -> tuple[np.ndarray, str]:
    """Positions ``(C, 2)`` and the layout's kind (``"ecg"``, ``"scalp"``). EEG channels without a 10-05
    position are placed on a circle outside the head, with a warning naming them."""
    if is_ecg(channels):
        return ecg_positions(channels), "ecg"
    from biodyn.montage import canonical_name, positions

    names = [canonical_name(_base(n)) for n in channels]
    pos = np.zeros((len(names), 2))
    unknown = []
    for k, n in enumerate(names):
        try:
            pos[k] = positions([n])[0]
        except Exception:
            unknown.append(k)
    # a bipolar pair across the head (FT9-FT10) has its midpoint deep inside: keep every point on the drawing
    r = np.linalg.norm(pos, axis=1, keepdims=True)
    pos = np.where(r > 1.12, pos / np.maximum(r, 1e-12) * 1.12, pos)
    if unknown:
        warnings.warn(
            f"no scalp position for channel(s) {', '.join(channels[k] for k in unknown)}: drawn on a ring "
            "outside the head",
            stacklevel=3,
        )
        ang = np.linspace(0, 2 * np.pi, len(unknown), endpoint=False) + np.pi / 2
        pos[unknown] = np.stack([np.cos(ang), np.sin(ang)], 1) * 1.3
    return pos, "scalp"


def _separate(fig, labels) -> None:
    """A channel label that overlaps an earlier one moves below, right or left of its dot, the first place
    where it overlaps none (bipolar midpoints can be close)."""
    fig.canvas.draw()  # the equal aspect and the colour bar settle the axes' box at draw time
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in labels:
        x, y = t.get_position()
        y -= 0.05  # the dot
        bb = t.get_window_extent(renderer)
        for dx, dy, ha, va in (
            (0, -0.05, "center", "top"),
            (0.06, 0, "left", "center"),
            (-0.06, 0, "right", "center"),
            (0.06, 0.06, "left", "bottom"),
            (-0.06, 0.06, "right", "bottom"),
            (0.06, -0.06, "left", "top"),
            (-0.06, -0.06, "right", "top"),
            (0, 0.14, "center", "bottom"),
            (0, -0.14, "center", "top"),
        ):
            if not any(bb.overlaps(b) for b in boxes):
                break
            t.set_position((x + dx, y + dy))
            t.set_ha(ha)
            t.set_va(va)
            bb = t.get_window_extent(renderer)
        boxes.append(bb)


def _delay_panel(ax, edges, cmap, norm) -> None:
    """Each edge's delay (dot) and its 5-95 % interval over the sub-window refits (bar), in ms, one row an edge
    (earliest first); edges that are not identified in grey."""
    rows = sorted(edges, key=lambda e: e["tau_s"])
    y = np.arange(len(rows))[::-1]
    for k, e in zip(y, rows):
        grey = e.get("at_ceiling", False) or not e.get("identified", True)
        c = "grey" if grey else cmap(norm(e["tau_s"] * 1e3))
        ax.plot([e["tau_s_q05"] * 1e3, e["tau_s_q95"] * 1e3], [k, k], color=c, lw=2, solid_capstyle="butt")
        ax.plot([e["tau_s"] * 1e3], [k], "o", color=c, ms=4, mec="black", mew=0.4)
    ax.set_yticks(y, [f"{e['source']} \u2192 {e['target']}" for e in rows], fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("delay (ms): dot, and 5-95 % over sub-windows", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_title("lagged edges", fontsize=9)


def plot_lag_graph(
    graph, path: str | os.PathLike, max_edges: int = 30, title: str | None = None, max_instantaneous: int = 15
) -> None:
    """PNG of a :class:`LagGraph` or a :class:`~biodyn.causal.fit.LagFit`. Atomic write.

    Lagged edges (the strongest ``max_edges``) are arrows from source to target coloured by delay (ms),
    their width growing with ``|weight|``; with a LagFit, an edge's opacity is its sub-window confidence, edges
    that are not identified (at the delay ceiling, or a spread over half the delay range) are dashed grey, the
    strongest zero-lag couplings are thin grey lines without arrows, the channels without an identified edge
    (not ranked) have grey labels, and the title names the focal lead with its share of first places, or says
    why there is none. When the sub-window refits gave delay spreads, a
    panel beside the head lists every drawn edge with its delay and 5-95 % interval (ms), so that no number is
    written over the arrows. ``title`` is the title's start; the focal lead (or its absence) is always appended.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colormaps, colors

    from biodyn.atomic import atomic_path
    from biodyn.causal.fit import LagFit

    fit = graph if isinstance(graph, LagFit) else None
    g: LagGraph = fit.graph if fit is not None else graph
    pos, kind = layout(g.channels)
    edges = (fit.edges() if fit is not None else g.edges())[:max_edges]
    spread = [e for e in edges if e.get("tau_s_q05") is not None and e.get("tau_s_q95") is not None]
    width = 9 if kind == "ecg" else 6
    if spread:  # the head (or the ECG layout) on the left, the delays with their intervals on the right
        fig, (ax, ax_d) = plt.subplots(
            1,
            2,
            figsize=(width + 4.2, max(6.0, 1.2 + 0.22 * len(spread))),
            gridspec_kw={"width_ratios": [width, 3.0], "wspace": 0.45},
        )
    else:
        fig, ax = plt.subplots(figsize=(width, 6))
        ax_d = None
    if kind == "ecg":
        ax.add_patch(plt.Circle((-1.25, 0), 0.8, fill=False, lw=1.0, color="grey", ls=":"))
        ax.add_patch(plt.Circle((1.25, -0.35), 0.85, fill=False, lw=1.0, color="grey", ls=":"))
        ax.text(-1.25, 1.0, "limb leads (frontal plane)", ha="center", fontsize=8, color="grey")
        ax.text(1.25, 0.75, "chest leads (horizontal plane)", ha="center", fontsize=8, color="grey")
    else:  # the head encloses every electrode (FT9/FT10 pairs sit below the ear line, past radius 1)
        r = np.linalg.norm(pos, axis=1)
        # the unknown channels' ring stays outside
        head = max(1.05, float(r[r <= 1.12].max(initial=0)) + 0.06)
        ax.add_patch(plt.Circle((0, 0), head, fill=False, lw=1.5, color="grey"))
        ax.plot([-0.1, 0, 0.1], [head - 0.02, head + 0.1, head - 0.02], color="grey", lw=1.5)  # nose
    index = {n: k for k, n in enumerate(g.channels)}
    if fit is not None:
        for e in fit.instantaneous_edges()[:max_instantaneous]:
            a, b = pos[index[e["a"]]], pos[index[e["b"]]]
            ax.plot(
                [a[0], b[0]],
                [a[1], b[1]],
                color="grey",
                lw=0.5 + 2 * min(abs(e["partial_corr"]), 1.0),
                alpha=0.35,
                zorder=1,
            )
    taus_ms = [e["tau_s"] * 1e3 for e in edges]
    lo, hi = min(taus_ms, default=0.0), max(taus_ms, default=0.0)
    if hi - lo < 1.0:  # one delay (or none): a bar of at least 1 ms around it, never a 0-1 ms default
        lo, hi = max(0.0, (lo + hi) / 2 - 0.5), max(0.0, (lo + hi) / 2 - 0.5) + 1.0
    norm = colors.Normalize(vmin=lo, vmax=hi)
    cmap = colormaps["viridis"]
    for e, t_ms in zip(edges, taus_ms):
        a, b = pos[index[e["source"]]], pos[index[e["target"]]]
        unident = e.get("at_ceiling", False) or not e.get("identified", True)
        ax.annotate(
            "",
            xy=b,
            xytext=a,
            arrowprops={
                "arrowstyle": "-|>",
                "color": "grey" if unident else cmap(norm(t_ms)),
                "lw": 0.8 + 2 * min(abs(e["weight"]), 1.0),
                "shrinkA": 6,
                "shrinkB": 6,
                "alpha": max(0.15, e.get("confidence", 1.0)),
                "linestyle": "--" if unident else "-",
                "connectionstyle": "arc3,rad=0.15",
            },
        )
    ax.scatter(pos[:, 0], pos[:, 1], s=30, color="black", zorder=3)
    lead = fit.focal_lead() if fit is not None else g.focal_lead()
    note = (
        fit.focal_lead_note()
        if fit is not None
        else (
            "no focal lead: no identified edge" if not g.edges() else "no focal lead: tie for the first place"
        )
    )
    # a LagFit's channels without an identified edge are not ranked: grey labels (with no identified edge at
    # all, the title says so and every label stays black)
    unranked = set(fit.unranked()) if fit is not None else set()
    if len(unranked) == len(g.channels):
        unranked = set()
    labels = []
    # a repeated channel (T8-P8, T8-P8#2) sits on its twin: one label
    drawn: dict[tuple[float, float], int] = {}
    for k, n in enumerate(g.channels):
        at = (round(float(pos[k, 0]), 3), round(float(pos[k, 1]), 3))
        if at in drawn and _base(g.channels[drawn[at]]) == _base(n):
            continue
        drawn[at] = k
        labels.append(
            ax.text(
                pos[k, 0],
                pos[k, 1] + 0.05,
                n,
                ha="center",
                va="bottom",
                fontsize=8,
                color="crimson" if n == lead else "0.6" if n in unranked else "black",
            )
        )
    if edges:
        sm = cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.7, label="delay of the lagged edges (ms)")
    if ax_d is not None:
        _delay_panel(ax_d, spread, cmap, norm)
    elif not edges:  # (edges without sub-window spreads have no delay panel, and are drawn)
        ax.text(0.5, 0.02, "no lagged edge", transform=ax.transAxes, ha="center", fontsize=8, color="grey")
    if kind == "ecg":
        ax.set_xlim(-2.2, 2.3)
        ax.set_ylim(-1.35, 1.15)
    else:
        lim = max(1.35, float(np.linalg.norm(pos, axis=1).max(initial=0)) + 0.2)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title is None:
        title = f"lag graph: {len(g.edges())} edges"
    title += f", focal lead {lead}" if lead is not None else f"; {note}"
    share = (fit.stability or {}).get("focal_first_share") if fit is not None else None
    if lead is not None and share is not None:
        title += f" (first in {100 * share:.0f} % of sub-windows)"
    if unranked:
        title += f"; {len(unranked)} channel(s) unranked (grey: no identified edge)"
    n_unident = len(fit.not_identified()) if fit is not None else 0
    if n_unident:
        title += f"\n{n_unident} edge(s) not identified (dashed grey: at the delay ceiling or delay spread too wide)"
    fig.suptitle(title, fontsize=9)  # over the whole figure: never behind the colour bar or the delay panel
    _separate(fig, labels)  # after the limits and the colour bar: the labels' final extents
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)

"""Checks of a drawn matplotlib figure that the tests run on every figure kind biodyn writes: no text outside
the figure (clipped in the PNG), no two equal labels drawn on top of each other, the labels it shows.

Only the texts the renderer actually draws count (a tick label outside an axis' limits exists as an object but
is not drawn): the figure is drawn once with the renderer's ``draw_text`` recording each text and its extent.
"""

from __future__ import annotations


def drawn_texts(fig) -> list[tuple[str, object]]:
    """``[(text, extent in display pixels)]`` of every non-empty text drawn when ``fig`` is rendered."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    seen: list = []
    original = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and str(s).strip():
            seen.append(mtext)
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        fig.draw(renderer)
    finally:
        renderer.draw_text = original
    out, ids = [], set()
    for t in seen:
        if id(t) not in ids:
            ids.add(id(t))
            out.append((t.get_text(), t.get_window_extent(renderer)))
    return out


def texts_outside(fig) -> list[str]:
    """The drawn texts of ``fig`` whose extent leaves the figure (clipped in the PNG); empty when none."""
    box = fig.bbox
    return [
        s
        for s, bb in drawn_texts(fig)
        if bb.x0 < box.x0 - 1 or bb.y0 < box.y0 - 1 or bb.x1 > box.x1 + 1 or bb.y1 > box.y1 + 1
    ]


def overlapping_texts(fig, same_only: bool = True) -> list[tuple[str, str]]:
    """Pairs of drawn texts of ``fig`` whose extents overlap (with ``same_only``: only equal strings)."""
    items = drawn_texts(fig)
    pairs = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            (ta, a), (tb, b) = items[i], items[j]
            if (not same_only or ta == tb) and a.width > 0 and b.width > 0 and a.overlaps(b):
                pairs.append((ta, tb))
    return pairs


def text_strings(fig) -> set[str]:
    """Every string drawn on ``fig``."""
    return {s for s, _ in drawn_texts(fig)}

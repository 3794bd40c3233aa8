"""Sequence logos of contribution scores and delta-track figures.

Coordinates are 0-based half-open like BED: the letter of position ``p`` covers the
x range ``[p, p + 1)``, so an element ``[start, end)`` shaded with ``axvspan(start, end)``
lines up exactly with its letters.
"""

from __future__ import annotations

import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path
from matplotlib.textpath import TextPath

from .figures import MINUS, new_figure, save_figure
from .sequences import ALPHABET

BASE_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
SOURCE_COLOUR = "0.55"  # grey
TARGET_COLOUR = "#FFF3A0"  # light yellow

__all__ = ["draw_logo", "plot_delta_tracks"]


def _glyphs() -> dict[str, np.ndarray]:
    """Outline of each base letter as path vertices normalised to the unit box [0,1]²."""
    prop = FontProperties(family="DejaVu Sans", weight="bold")
    out = {}
    for base in ALPHABET:
        tp = TextPath((0, 0), base, size=1, prop=prop)
        v = np.asarray(tp.vertices, dtype=float)
        ext = tp.get_extents()
        v = (v - [ext.x0, ext.y0]) / [ext.width, ext.height]
        out[base] = (v, np.asarray(tp.codes))
    return out


_GLYPHS: dict | None = None


def _glyph(base: str):
    global _GLYPHS
    if _GLYPHS is None:
        _GLYPHS = _glyphs()
    return _GLYPHS[base]


def _check_scores(scores, what: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != 4:
        raise ValueError(
            f"{what}: expected contribution scores of shape (L, 4) with columns A, C, G, T, "
            f"got shape {scores.shape}"
        )
    if not np.isfinite(scores).all():
        raise ValueError(
            f"{what}: scores contain NaN or infinite values "
            f"(first at position {int(np.argwhere(~np.isfinite(scores))[0, 0])}); "
            "check the attribution step"
        )
    return scores


def _stack_extent(scores: np.ndarray) -> tuple[float, float]:
    """Lowest and highest y a logo of ``scores`` reaches."""
    low = np.where(scores < 0, scores, 0).sum(axis=1)
    high = np.where(scores > 0, scores, 0).sum(axis=1)
    return float(low.min(initial=0.0)), float(high.max(initial=0.0))


def _padded(low: float, high: float) -> tuple[float, float]:
    span = high - low
    if span <= 0:
        return -1.0, 1.0
    return low - 0.05 * span, high + 0.05 * span


# --------------------------------------------------------------------------- logos


def draw_logo(ax, scores, start: int = 0, *, width: float = 1.0):
    """Draw a sequence logo of contribution scores on ``ax``.

    scores: ``(L, 4)`` float, columns A, C, G, T. At position ``i`` (drawn in the box
    ``[start + i, start + i + width)``) the positive scores are stacked upwards from 0
    and the negative ones downwards from 0, smallest magnitude nearest to 0; each
    letter's height is its score. Letters are filled glyph outlines (one
    :class:`~matplotlib.patches.PathPatch` per non-zero score), coloured A green,
    C blue, G orange, T red. Zero scores draw nothing.

    Sets the x limits to ``[start, start + L)`` and y limits to the stack extent
    (padded by 5 %); returns ``ax``.
    """
    scores = _check_scores(scores, "draw_logo")
    L = scores.shape[0]
    for i in range(L):
        row = scores[i]
        nz = np.flatnonzero(row)
        if nz.size == 0:
            continue
        x0 = start + i
        up = down = 0.0
        for c in nz[np.argsort(np.abs(row[nz]), kind="stable")]:
            h = float(row[c])
            if h > 0:
                y0, up = up, up + h
            else:
                y0, down = down + h, down + h
            base = ALPHABET[c]
            verts, codes = _glyph(base)
            path = Path(verts * [width, abs(h)] + [x0, y0], codes)
            patch = PathPatch(path, facecolor=BASE_COLOURS[base], edgecolor="none", lw=0)
            # add_artist, not add_patch: add_patch recomputes the data limits from the
            # Bézier outline of every glyph, which is most of the time for L = 1000.
            ax.add_artist(patch)
    low, high = _stack_extent(scores)
    ax.update_datalim([(start, low), (start + L, high)])
    ax.set_xlim(start, start + L)
    ax.set_ylim(*_padded(low, high))
    return ax


def _shade(ax, source, target) -> None:
    for interval, colour, alpha in ((source, SOURCE_COLOUR, 0.3), (target, TARGET_COLOUR, 0.8)):
        if interval is not None:
            ax.axvspan(interval[0], interval[1], color=colour, alpha=alpha, lw=0, zorder=0)


def _check_interval(interval, name: str):
    if interval is None:
        return None
    try:
        a, b = (int(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(
            f"plot_delta_tracks: {name} must be a (start, end) pair, got {interval!r}"
        ) from None
    if b <= a:
        raise ValueError(
            f"plot_delta_tracks: {name} interval [{a}, {b}) is empty; "
            "coordinates are 0-based half-open, end > start"
        )
    return a, b


def plot_delta_tracks(
    original,
    mutant,
    delta,
    path,
    *,
    title: str = "",
    source=None,
    target=None,
    start: int = 0,
):
    """Three stacked logos sharing the x axis: original, mutant and their difference.

    original, mutant, delta: ``(L, 4)`` contribution scores (A, C, G, T) of the window,
    ``delta = original - mutant``. source, target: optional ``(start, end)`` half-open
    intervals in the same coordinates as ``start`` (the position of the first row);
    the source is shaded grey and the target light yellow on every panel. The original
    and mutant panels share their y limits so heights can be compared directly.
    Returns ``path``.
    """
    arrays = {"original": original, "mutant": mutant, "delta": delta}
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(
            "plot_delta_tracks: original, mutant and delta must have the same (L, 4) shape, "
            f"got {', '.join(f'{k} {s}' for k, s in shapes.items())}"
        )
    original, mutant, delta = (_check_scores(v, f"plot_delta_tracks {k}") for k, v in arrays.items())
    source = _check_interval(source, "source")
    target = _check_interval(target, "target")
    L = original.shape[0]

    fig = new_figure(min(16.0, max(8.0, L / 12)), 7.0)
    axes = fig.subplots(3, 1, sharex=True)
    panels = [
        (original, "original", "importance"),
        (mutant, "mutant (source perturbed)", "importance"),
        (delta, f"delta = original {MINUS} mutant", "\u0394 importance"),
    ]
    lo1, hi1 = _stack_extent(original)
    lo2, hi2 = _stack_extent(mutant)
    shared = _padded(min(lo1, lo2), max(hi1, hi2))
    for k, (ax, (scores, label, ylabel)) in enumerate(zip(axes, panels)):
        _shade(ax, source, target)
        draw_logo(ax, scores, start=start)
        if k < 2:
            ax.set_ylim(*shared)
        ax.axhline(0, color="0.3", lw=0.6, zorder=1)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlim(start, start + L)
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    axes[-1].set_xlabel("position in window (bp)")
    handles = []
    for iv, colour, name, alpha in (
        (source, SOURCE_COLOUR, "source", 0.3),
        (target, TARGET_COLOUR, "target", 0.8),
    ):
        if iv is None:
            continue
        label = f"{name} [{iv[0]}, {iv[1]})"
        if iv[1] <= start or iv[0] >= start + L:
            label += "\n(outside window)"
        handles.append(Patch(color=colour, label=label, alpha=alpha))
    handles += [Patch(color=BASE_COLOURS[b], label=b) for b in ALPHABET]
    axes[0].legend(handles=handles, loc="lower left", bbox_to_anchor=(1.0, 0.0),
                   frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)

"""Sequence logos of contribution scores (drawn by logomaker) and delta-track figures.

Coordinates are 0-based half-open like BED. The letter of position ``p`` is centred on
``x = p`` and covers ``[p - 0.5, p + 0.5)`` (logomaker's convention, so a tick at ``p``
labels its letter); an element ``[start, end)`` is shaded over
``[start - 0.5, end - 0.5)``, exactly its letters.
"""

from __future__ import annotations

import logomaker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .figures import MINUS, new_figure, save_figure
from .sequences import ALPHABET

BASE_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
SOURCE_COLOUR = "0.55"  # grey
TARGET_COLOUR = "#FFF3A0"  # light yellow
#: a shaded element is drawn at least this fraction of the x range wide, so a 1-bp source
#: in a 1000-bp window is still a visible band (its exact span is in the legend)
MIN_SHADE_FRACTION = 0.006

__all__ = ["delta_tracks_figure", "draw_logo", "plot_delta_tracks"]


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
    """Draw a sequence logo of contribution scores on ``ax`` with logomaker.

    scores: ``(L, 4)`` float, columns A, C, G, T. The letters of position ``i`` are
    centred on ``x = start + i``, ``width`` wide; positive scores are stacked upwards
    from 0 and negative ones downwards (drawn upside down), smallest magnitude nearest
    to 0; each letter's height is its score. Letters are coloured A green, C blue,
    G orange, T red; zero scores draw nothing.

    Sets the x limits to ``[start - 0.5, start + L - 0.5]`` and y limits to the stack
    extent (padded by 5 %); returns ``ax``.
    """
    scores = _check_scores(scores, "draw_logo")
    L = scores.shape[0]
    if L and np.any(scores):
        df = pd.DataFrame(scores, columns=list(ALPHABET), index=np.arange(start, start + L))
        logomaker.Logo(df, ax=ax, color_scheme=BASE_COLOURS, font_name="DejaVu Sans", width=width, vpad=0.0,
                       baseline_width=0.0, show_spines=None)
    low, high = _stack_extent(scores)
    ax.set_xlim(start - 0.5, start + L - 0.5)
    ax.set_ylim(*_padded(low, high))
    return ax


def _shade(ax, source, target, L: int) -> None:
    """Shade the target (light yellow) and the source (grey, outlined, drawn over the
    target) over their letters, each at least ``MIN_SHADE_FRACTION`` of the window wide."""
    least = MIN_SHADE_FRACTION * L
    for interval, colour, alpha, edge in ((target, TARGET_COLOUR, 0.8, "none"), (source, SOURCE_COLOUR, 0.35, "0.3")):
        if interval is None:
            continue
        lo, hi = interval[0] - 0.5, interval[1] - 0.5
        if hi - lo < least:  # widen about the centre so a 1-bp element stays visible
            mid = (lo + hi) / 2
            lo, hi = mid - least / 2, mid + least / 2
        ax.axvspan(lo, hi, facecolor=colour, alpha=alpha, edgecolor=edge, lw=0.6, zorder=0)


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


def delta_tracks_figure(
    original,
    mutant,
    delta,
    *,
    title: str = "",
    source=None,
    target=None,
    start: int = 0,
) -> Figure:
    """Three stacked logos sharing the x axis: original, mutant and their difference.

    original, mutant, delta: ``(L, 4)`` contribution scores (A, C, G, T) of the window,
    ``delta = original - mutant``. source, target: optional ``(start, end)`` half-open
    intervals in the same coordinates as ``start`` (the position of the first row);
    the source is shaded grey and outlined, the target light yellow, on every panel, each
    at least ``MIN_SHADE_FRACTION`` of the x range wide so a 1-bp source stays visible.
    The original and mutant panels share their y limits so heights can be compared
    directly. Returns the figure (axes: original, mutant, delta).
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
        _shade(ax, source, target, L)
        draw_logo(ax, scores, start=start)
        if k < 2:
            ax.set_ylim(*shared)
        ax.axhline(0, color="0.3", lw=0.6, zorder=1)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlim(start - 0.5, start + L - 0.5)
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    axes[-1].set_xlabel("position in window (bp, 0-based)")
    handles = []
    for iv, colour, name, alpha in (
        (source, SOURCE_COLOUR, "source", 0.35),
        (target, TARGET_COLOUR, "target", 0.8),
    ):
        if iv is None:
            continue
        label = f"{name} [{iv[0]}, {iv[1]})"
        if iv[1] <= start or iv[0] >= start + L:
            label += "\n(outside window)"
        handles.append(Patch(facecolor=colour, edgecolor="0.3" if name == "source" else "none", label=label,
                             alpha=alpha))
    handles += [Patch(color=BASE_COLOURS[b], label=b) for b in ALPHABET]
    axes[0].legend(handles=handles, loc="lower left", bbox_to_anchor=(1.0, 0.0),
                   frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_delta_tracks(original, mutant, delta, path, *, title: str = "", source=None, target=None, start: int = 0,
                      also=()):
    """:func:`delta_tracks_figure` written to ``path`` (and the formats in ``also``,
    :func:`dfim.figures.save_figure`). Returns ``path``."""
    fig = delta_tracks_figure(original, mutant, delta, title=title, source=source, target=target, start=start)
    return save_figure(fig, path, also=also)

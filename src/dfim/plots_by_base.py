"""Figures of element-by-base profiles: how every base of a window responds to one source.

The element-by-base profile of a source (METHOD.md, "element by base") is the track
``Σ_c |Δ[i, c]|`` over the whole window, the source masked: the change of every base's
importance when the source is perturbed. :func:`plot_element_by_base` draws it under the
window's own importance, with the source and the target of the call shaded.

Coordinates are 0-based half-open like BED: position ``p`` is the step over ``[p, p + 1)``.
The figure is built and saved as :mod:`dfim.figures` does (Agg canvas, atomic write).
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Patch

from .figures import new_figure, save_figure
from .logos import SOURCE_COLOUR, TARGET_COLOUR

__all__ = ["plot_element_by_base"]


def plot_element_by_base(response, importance, path, *, title: str = "", source=None, target=None,
                         start: int = 0, units: str = "position in window (bp)"):
    """Two stacked tracks (one step per base) sharing the x axis: the window's importance and the profile.

    response : ``(L,)`` element-by-base profile ``Σ_c |Δ|`` (NaN allowed, drawn as gaps).
    importance : ``(L,)`` the window's importance per base (actual contributions summed
        over A, C, G, T).
    source, target : optional ``(start, end)`` half-open intervals in the coordinates of
        ``start`` (the position of the first base); the source (masked in the profile, its
        own change being no interaction) is shaded grey, the target light yellow.
    units : x-axis label (e.g. ``"chr1 (bp)"`` with ``start`` the window's genomic start).
    Returns ``path``.
    """
    response = np.asarray(response, dtype=float)
    importance = np.asarray(importance, dtype=float)
    if response.ndim != 1 or response.shape != importance.shape:
        raise ValueError(f"plot_element_by_base: response and importance must be (L,) tracks of the same length, got "
                         f"shapes {response.shape} and {importance.shape}")
    L = len(response)
    edges = start + np.arange(L + 1)  # base p's step spans [p, p + 1)
    fig = new_figure(min(16.0, max(8.0, L / 12)), 5.0)
    axes = fig.subplots(2, 1, sharex=True)
    panels = [(importance, "window importance", "importance", "#255C99"),
              (response, "element-by-base response to the source", "\u03a3$_c$ |\u0394 importance|", "#D62839")]
    for ax, (values, label, ylabel, colour) in zip(axes, panels):
        for iv, shade, alpha in ((source, SOURCE_COLOUR, 0.3), (target, TARGET_COLOUR, 0.8)):
            if iv is not None:
                ax.axvspan(iv[0], iv[1], color=shade, alpha=alpha, lw=0, zorder=0)
        # one filled step outline, not one bar per base: the same picture, drawn in a fraction of the
        # time (a 1-kb window's 2,000 bar patches took most of the element-by-base job)
        ax.stairs(np.nan_to_num(values), edges, fill=True, baseline=0,
                  color=colour, lw=0, zorder=2)
        ax.axhline(0, color="0.3", lw=0.6, zorder=1)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlim(start, start + L)
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    axes[-1].set_xlabel(units)
    handles = [Patch(color=c, alpha=a, label=n) for iv, c, n, a in
               ((source, SOURCE_COLOUR, "source (masked)", 0.3), (target, TARGET_COLOUR, "target", 0.8))
               if iv is not None]
    if handles:
        axes[0].legend(handles=handles, loc="upper right", fontsize=8, frameon=False)
    fig.suptitle(title or "element-by-base profile")
    fig.tight_layout()
    return save_figure(fig, path)

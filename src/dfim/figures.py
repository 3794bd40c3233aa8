"""The figure plumbing every plot shares: an Agg figure, atomic saving, notes.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``, so nothing opens a window and no figure is kept alive in a global registry.
Files are written atomically (:func:`dfim.io.atomic_path`), so a crashed job never leaves
a half-written plot. The format follows the suffix: ``.png``, ``.pdf`` or ``.svg``.
"""

from __future__ import annotations

import os
from os import PathLike

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .io import atomic_path

MINUS = "\u2212"
_SAVE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
_DPI = 150


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


#: the formats every workflow figure is written in: PNG to look at (and for the report),
#: PDF and SVG to edit or put in a paper
WORKFLOW_FORMATS = ("png", "pdf", "svg")


def save_figure(fig: Figure, path: str | PathLike, *, also=()) -> str | PathLike:
    """Save ``fig`` atomically to ``path`` (temporary file in the same folder + rename).

    The format follows the suffix of ``path``. also: further formats (``"pdf"``,
    ``"svg"``, ``"png"``) written beside it with the same stem, e.g. ``map.png`` and
    ``also=("pdf", "svg")`` give ``map.png``, ``map.pdf`` and ``map.svg``. The figure is
    cleared afterwards. Returns ``path``.
    """
    target = os.fspath(path)
    stem, ext = os.path.splitext(target)
    targets = [target] + [f"{stem}.{fmt.lstrip('.')}" for fmt in also if f".{fmt.lstrip('.')}" != ext.lower()]
    for t in targets:
        suffix = os.path.splitext(t)[1].lower()
        if suffix not in _SAVE_FORMATS:
            raise ValueError(
                f"cannot write plot {t!r}: unknown file suffix {suffix!r}; "
                f"use one of {', '.join(sorted(_SAVE_FORMATS))}"
            )
    try:
        for t in targets:
            with atomic_path(t) as tmp, open(tmp, "wb") as handle:
                fig.savefig(handle, format=_SAVE_FORMATS[os.path.splitext(t)[1].lower()], dpi=_DPI)
    finally:
        fig.clear()
    return path


def note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")

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


def save_figure(fig: Figure, path: str | PathLike) -> str | PathLike:
    """Save ``fig`` atomically to ``path`` (temporary file in the same folder + rename)."""
    target = os.fspath(path)
    ext = os.path.splitext(target)[1].lower()
    if ext not in _SAVE_FORMATS:
        raise ValueError(
            f"cannot write plot {target!r}: unknown file suffix {ext!r}; "
            f"use one of {', '.join(sorted(_SAVE_FORMATS))}"
        )
    try:
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            fig.savefig(handle, format=_SAVE_FORMATS[ext], dpi=_DPI)
    finally:
        fig.clear()
    return path


def note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")

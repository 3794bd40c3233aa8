"""Checks shared by the figure tests: a written image is real, a bare Agg axes to draw on."""

import matplotlib.image as mpimg
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def assert_image(path, out):
    """``out`` is what the plot function returned; the PNG exists, is not blank, and no
    temporary file is left next to it."""
    assert out == path
    assert path.exists() and path.stat().st_size > 0
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.shape[0] > 100 and img.shape[1] > 100
    rgb = np.round(img[..., :3] * 255).astype(np.uint32).reshape(-1, 3)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    assert np.unique(packed).size > 10, "image is (almost) a single colour"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "temporary file left"


def new_axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig.add_subplot(1, 1, 1)


def tick_texts(ax, axis: str) -> list[str]:
    """The tick labels of ``ax`` on ``axis`` ("x" or "y"), as drawn (top to bottom for y)."""
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in ticks]


def assert_formats(path, formats=("png", "pdf", "svg")):
    """``path`` and its siblings in the other ``formats`` exist and start like their format,
    and no temporary file is left in the folder."""
    magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}
    written = [path.with_suffix(f".{f}") for f in formats]
    for p in written:
        assert p.read_bytes()[:len(magic[p.suffix[1:]])] == magic[p.suffix[1:]], p
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(p.name for p in written), "temporary file left"

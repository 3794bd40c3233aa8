"""dfim.plots_by_base: the element-by-base figure is a real image; bad tracks are refused."""

import numpy as np
import pytest

from dfim.plots_by_base import plot_element_by_base
from figure_checks import assert_image


def test_element_by_base_figure(tmp_path):
    rng = np.random.default_rng(0)
    response = np.abs(rng.normal(size=100))
    response[40:42] = np.nan  # a masked source may be NaN: drawn as a gap
    path = tmp_path / "eb.png"
    out = plot_element_by_base(response, rng.normal(size=100), path, title="b40 (C>T) \u2192 b50", source=(40, 42),
                               target=(50, 51))
    assert_image(path, out)


def test_element_by_base_tracks_must_match():
    with pytest.raises(ValueError, match=r"same length, got shapes \(10,\) and \(9,\)"):
        plot_element_by_base(np.zeros(10), np.zeros(9), "x.png")

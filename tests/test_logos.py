"""Sequence logos and delta-track figures: letters, stacking, shapes and files."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dfim import logos  # noqa: E402
from figure_checks import assert_image, new_axes  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tracks(rng):
    L = 40
    X = np.eye(4)[rng.integers(0, 4, L)]
    original = rng.normal(0, 0.5, (L, 4)) * X
    mutant = original.copy()
    mutant[10:16] = 0.0
    return original, mutant, original - mutant


# --------------------------------------------------------------------------- draw_logo


def test_draw_logo_single_positive_letter():
    scores = np.zeros((10, 4))
    scores[3, 2] = 0.7
    ax = new_axes()
    logos.draw_logo(ax, scores)
    assert len(ax.patches) == 1
    ext = ax.patches[0].get_path().get_extents()
    assert ext.y0 >= -1e-9 and ext.y1 <= 0.7 + 1e-9
    assert ext.y1 == pytest.approx(0.7)
    assert 3 - 1e-9 <= ext.x0 and ext.x1 <= 4 + 1e-9  # position 3 covers [3, 4)
    assert ax.patches[0].get_facecolor()[:3] == pytest.approx(
        matplotlib.colors.to_rgb(logos.BASE_COLOURS["G"])
    )


def test_draw_logo_single_negative_letter_lies_below_zero():
    scores = np.zeros((10, 4))
    scores[5, 0] = -0.4
    ax = new_axes()
    logos.draw_logo(ax, scores, start=100)
    assert len(ax.patches) == 1
    ext = ax.patches[0].get_path().get_extents()
    assert ext.y1 <= 1e-9 and ext.y0 >= -0.4 - 1e-9
    assert ext.y0 == pytest.approx(-0.4)
    assert 105 - 1e-9 <= ext.x0 and ext.x1 <= 106 + 1e-9
    assert ax.get_xlim() == (100, 110)


def test_draw_logo_stacks_positive_up_and_negative_down():
    ax = new_axes()
    logos.draw_logo(ax, np.array([[0.2, 0.3, -0.1, -0.5]]))
    assert len(ax.patches) == 4
    ext = [p.get_path().get_extents() for p in ax.patches]
    assert max(e.y1 for e in ext) == pytest.approx(0.5)
    assert min(e.y0 for e in ext) == pytest.approx(-0.6)


def test_draw_logo_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\(L, 4\)"):
        logos.draw_logo(new_axes(), np.zeros((10, 3)))


# --------------------------------------------------------------------------- delta tracks


def test_plot_delta_tracks(tmp_path, tracks):
    path = tmp_path / "delta.png"
    out = logos.plot_delta_tracks(
        *tracks, path, title="seq 0: source → target", source=(110, 116), target=(125, 130), start=100
    )
    assert_image(path, out)


def test_plot_delta_tracks_pdf(tmp_path, tracks):
    path = tmp_path / "delta.pdf"
    logos.plot_delta_tracks(*tracks, path)
    assert path.read_bytes()[:4] == b"%PDF"
    assert [p.name for p in tmp_path.iterdir()] == ["delta.pdf"]


def test_plot_delta_tracks_shape_mismatch(tmp_path, tracks):
    original, mutant, delta = tracks
    with pytest.raises(ValueError, match="same"):
        logos.plot_delta_tracks(original, mutant[:-1], delta, tmp_path / "x.png")
    with pytest.raises(ValueError, match="same"):
        logos.plot_delta_tracks(original, mutant, delta[:, :3], tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_is_rejected(tmp_path, tracks):
    with pytest.raises(ValueError, match="suffix"):
        logos.plot_delta_tracks(*tracks, tmp_path / "delta.jpg2")
    assert list(tmp_path.iterdir()) == []

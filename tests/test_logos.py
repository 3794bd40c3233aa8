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
    assert ext.x0 == pytest.approx(2.5) and ext.x1 == pytest.approx(3.5)  # position 3 is centred on x = 3
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
    assert ext.x0 == pytest.approx(104.5) and ext.x1 == pytest.approx(105.5)
    assert ax.get_xlim() == (99.5, 109.5)


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


# --------------------------------------------------------------------------- delta-track figures (matplotlib objects)


def span_extent(ax, colour):
    """x extent of the axvspan of ``colour`` on ``ax``."""
    want = matplotlib.colors.to_rgb(colour)
    for p in ax.patches:
        if tuple(p.get_facecolor()[:3]) == pytest.approx(want) and p.get_width() > 0:
            return p.get_x(), p.get_x() + p.get_width()
    raise AssertionError(f"no span of colour {colour} on {ax.get_title()!r}")


def test_a_1bp_source_is_shaded_visibly_on_every_panel(rng):
    L = 400  # a 1-bp span alone would be 1/400 of the axis
    X = np.eye(4)[rng.integers(0, 4, L)]
    original = rng.normal(0, 0.5, (L, 4)) * X
    mutant = original.copy()
    mutant[200] = 0.0
    fig = logos.delta_tracks_figure(original, mutant, original - mutant, source=(200, 201), target=(220, 230))
    panels = fig.axes[:3]
    for ax in panels:
        lo, hi = span_extent(ax, logos.SOURCE_COLOUR)
        assert lo < 200 < hi  # the source's letter (centred on x = 200) is inside
        assert hi - lo >= logos.MIN_SHADE_FRACTION * L - 1e-9  # wide enough to see at this zoom
        assert span_extent(ax, logos.TARGET_COLOUR) == (pytest.approx(219.5), pytest.approx(229.5))
    assert "source [200, 201)" in [t.get_text() for t in panels[0].get_legend().get_texts()]


def test_delta_tracks_share_the_original_and_mutant_scale(tracks):
    fig = logos.delta_tracks_figure(*tracks, source=(10, 16))
    top, mid, bottom = fig.axes[:3]
    assert top.get_ylim() == mid.get_ylim()
    assert top.get_xlim() == bottom.get_xlim() == (-0.5, 39.5)
    # one glyph per non-zero score: the perturbed positions have none in the mutant panel
    assert len(top.patches) - len(mid.patches) == np.count_nonzero(tracks[0][10:16])


def test_plot_delta_tracks_writes_pdf_and_svg_beside_the_png(tmp_path, tracks):
    from figure_checks import assert_formats

    path = tmp_path / "delta.png"
    assert logos.plot_delta_tracks(*tracks, path, also=("pdf", "svg")) == path
    assert_formats(path)

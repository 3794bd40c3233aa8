"""Tests for dfim.plots: every figure is written atomically as a real, non-blank image."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dfim import plots  # noqa: E402
import figure_checks  # noqa: E402
from figure_checks import assert_image  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# --------------------------------------------------------------------------- maps


@pytest.mark.parametrize("n", [1, 5])
def test_plot_dfim_nan_diagonal(tmp_path, rng, n):
    fis = rng.gamma(2.0, 0.5, (n, n))
    np.fill_diagonal(fis, np.nan)
    names = [f"motif_{i}" for i in range(n)]
    path = tmp_path / "map.png"
    out = plots.plot_dfim(fis, path, source_names=names, target_names=names, title="map")
    assert_image(path, out)


def test_plot_dfim_large_rectangular(tmp_path, rng):
    fis = rng.gamma(2.0, 0.5, (60, 45))
    path = tmp_path / "map.png"
    plots.plot_dfim(
        fis, path, source_names=[f"s{i}" for i in range(60)], target_names=[f"t{i}" for i in range(45)]
    )
    assert_image(path, path)


def test_plot_dfim_name_mismatch(tmp_path):
    fis = np.full((3, 3), 0.5)
    with pytest.raises(ValueError, match=r"2 source names.*one name per row"):
        plots.plot_dfim(fis, tmp_path / "m.png", source_names=["a", "b"], target_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="4 target names"):
        plots.plot_dfim(fis, tmp_path / "m.png", source_names=list("abc"), target_names=list("abcd"))


# --------------------------------------------------------------------------- statistics


def test_plot_qq(tmp_path, rng):
    p = rng.uniform(size=500)
    p[:5] = np.nan
    p[5] = 0.0
    path = tmp_path / "qq.png"
    out = plots.plot_qq(p, path, p_null=rng.uniform(size=800), title="QQ")
    assert_image(path, out)


def test_plot_qq_rejects_non_pvalues(tmp_path):
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        plots.plot_qq(np.array([0.5, 3.0]), tmp_path / "qq.png")


def test_plot_motif_pairs(tmp_path, rng):
    k = 45
    pairs = pd.DataFrame(
        {
            "source_name": [f"GATA{i}" for i in range(k)],
            "target_name": [f"TAL{i}" for i in range(k)],
            "n_tested": rng.integers(1, 100, k),
            "median_score": rng.gamma(2, 1, k),
            "combined_p": 10 ** -rng.uniform(0, 10, k),
            "frac_q05": rng.uniform(size=k),
        }
    )
    path = tmp_path / "pairs.png"
    out = plots.plot_motif_pairs(pairs, path, top=30, title="pairs")
    assert_image(path, out)


def test_plot_motif_pairs_missing_column(tmp_path):
    with pytest.raises(ValueError, match="combined_p"):
        plots.plot_motif_pairs(pd.DataFrame({"source_name": ["a"]}), tmp_path / "p.png")


def test_plot_roc(tmp_path):
    fpr = np.linspace(0, 1, 30)
    curves = {"DeepLIFT": (fpr, np.sqrt(fpr), 0.67), "ISM": (fpr, fpr, 0.5)}
    path = tmp_path / "roc.png"
    out = plots.plot_roc(curves, path, title="benchmark")
    assert_image(path, out)


def test_plot_pvalue_histograms(tmp_path, rng):
    pvals = {"empirical": rng.uniform(size=300), "fit": rng.beta(0.5, 1, 300), "tiny": [0.2, np.nan]}
    path = tmp_path / "hist.png"
    out = plots.plot_pvalue_histograms(pvals, path, title="calibration")
    assert_image(path, out)


# --------------------------------------------------------------------------- map figures (matplotlib objects)


def window_rows(rng, tasks=(0,), positions=(55, 5, 30, 80)):
    """Interactions rows of one window: every ordered pair of elements (no diagonal),
    elements listed out of position order; q < 0.05 for the pairs (5, 30) and (80, 55)."""
    names = {p: f"M{i}" for i, p in enumerate(positions)}
    rows = []
    for t in tasks:
        for a in positions:
            for b in positions:
                if a != b:
                    q = 0.01 if (a, b) in ((5, 30), (80, 55)) else 0.5
                    rows.append({"task": t, "source_name": names[a], "source_win_start": a, "target_name": names[b],
                                 "target_win_start": b, "score": float(rng.gamma(2, 0.1)) * (1 + 9 * t), "qval": q})
    return pd.DataFrame(rows)


def test_map_axes_are_in_position_order_with_the_diagonal_aligned(rng):
    maps, calls, src, tgt, _ = plots.window_maps(window_rows(rng))
    fig = plots.dfim_figure(maps, source_names=src, target_names=tgt, marks=calls)
    ax = fig.axes[0]
    rows, cols = figure_checks.tick_texts(ax, "y"), figure_checks.tick_texts(ax, "x")
    assert rows == ["M1@5", "M2@30", "M0@55", "M3@80"]
    assert cols == rows  # row i and column i are the same element
    shown = ax.images[0].get_array()
    assert shown.mask[np.diag_indices(4)].all() and not shown.mask[~np.eye(4, dtype=bool)].any()


def test_map_cell_values_follow_the_labels(rng):
    # the drawn cell (i, j) holds the score of source label i → target label j
    rows = window_rows(rng)
    maps, _, src, tgt, _ = plots.window_maps(rows)
    shown = plots.dfim_figure(maps, source_names=src, target_names=tgt).axes[0].images[0].get_array()
    for r in rows.itertuples():
        i, j = src.index(f"{r.source_name}@{r.source_win_start}"), tgt.index(f"{r.target_name}@{r.target_win_start}")
        assert shown[i, j] == pytest.approx(r.score, rel=1e-6)


def test_map_colour_scale_is_shared_and_anchored_at_zero(rng):
    maps, calls, src, tgt, tasks = plots.window_maps(window_rows(rng, tasks=(0, 1)))
    assert tasks == [0, 1] and maps.shape == (2, 4, 4)
    fig = plots.dfim_figure(maps, source_names=src, target_names=tgt, marks=calls,
                            panel_titles=["task 0", "task 1"])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert images[0].get_clim() == images[1].get_clim() == (0.0, pytest.approx(np.nanmax(maps)))
    # task 1's scores are ~10x task 0's: one scale, so task 0 is drawn in the low colours
    assert np.nanmax(maps[0]) < 0.5 * np.nanmax(maps[1])


def test_map_colour_scale_with_negative_scores_is_symmetric(rng):
    fis = rng.normal(0, 1, (2, 5, 5))
    fis[0, 0, 1] = -4.0
    fig = plots.dfim_figure(fis, source_names=list("abcde"), target_names=list("abcde"))
    for ax in fig.axes[:2]:
        assert ax.images[0].get_clim() == (pytest.approx(-4.0), pytest.approx(4.0))
        assert ax.images[0].get_cmap().name.startswith("RdBu_r")


def test_map_marks_the_calls(rng):
    maps, calls, src, tgt, _ = plots.window_maps(window_rows(rng))
    ax = plots.dfim_figure(maps, source_names=src, target_names=tgt, marks=calls).axes[0]
    (stars,) = ax.collections
    # each star sits in its cell (drawn at its upper right), one per q < 0.05 pair
    cells = {(round(x - 0.32), round(y + 0.3)) for x, y in stars.get_offsets()}
    want = {(tgt.index("M2@30"), src.index("M1@5")), (tgt.index("M0@55"), src.index("M3@80"))}
    assert cells == want


def test_map_without_calls_has_no_stars(rng):
    rows = window_rows(rng).assign(qval=0.5)
    maps, calls, src, tgt, _ = plots.window_maps(rows)
    assert not calls.any()
    assert not plots.dfim_figure(maps, source_names=src, target_names=tgt, marks=calls).axes[0].collections


def test_plot_dfim_writes_pdf_and_svg_beside_the_png(tmp_path, rng):
    fis = rng.gamma(2.0, 0.5, (3, 3))
    path = tmp_path / "map.png"
    assert plots.plot_dfim(fis, path, source_names=list("abc"), target_names=list("abc"), also=("pdf", "svg")) == path
    figure_checks.assert_formats(path)


# --------------------------------------------------------------------------- which events are drawn


def test_distinct_events_skip_the_reverse_of_a_pair_already_shown():
    def row(w, s, ss, t, ts, q, task=0):
        return {"window_id": w, "task": task, "source_name": s, "source_win_start": ss, "source_win_end": ss + 6,
                "target_name": t, "target_win_start": ts, "target_win_end": ts + 6, "pval": q / 10, "qval": q}

    table = pd.DataFrame([
        row("w1", "GATA", 10, "TAL", 40, 0.001),
        row("w1", "TAL", 40, "GATA", 10, 0.002),  # the reverse of the first: same event
        row("w2", "GATA", 10, "TAL", 40, 0.003),  # same names, another window: new event
        row("w1", "GATA", 10, "TAL", 40, 0.004, task=1),  # same pair, another task: same event
        row("w1", "GATA", 10, "TAL", 70, 0.005),  # another TAL instance: new event
        row("w1", "GATA", 10, "GATA", 90, 0.006),
    ])
    got = plots.distinct_events(table, 4)
    assert list(got["qval"]) == [0.001, 0.003, 0.005, 0.006]
    pairs = [(r.window_id, frozenset({(r.source_name, r.source_win_start), (r.target_name, r.target_win_start)}))
             for r in got.itertuples()]
    assert len(set(pairs)) == len(pairs)
    assert list(plots.distinct_events(table, 2)["qval"]) == [0.001, 0.003]


def test_distinct_events_skip_untested_rows():
    table = pd.DataFrame({"window_id": ["w", "w"], "task": [0, 0], "source_name": ["V", "A"],
                          "source_win_start": [3, 10], "source_win_end": [4, 16], "target_name": ["A", "B"],
                          "target_win_start": [2, 40], "target_win_end": [10, 46], "pval": [np.nan, 0.01],
                          "qval": [np.nan, 0.02]})
    assert list(plots.distinct_events(table, 4)["source_name"]) == ["A"]
    assert plots.top_windows(table, 4) == ["w"]

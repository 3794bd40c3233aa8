"""Tests for dfim.plots: every figure is written atomically as a real, non-blank image."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dfim import plots  # noqa: E402
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

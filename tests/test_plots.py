"""Tests for dfim.plots: every figure is written atomically as a real, non-blank image."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dfim import plots  # noqa: E402


def _assert_image(path, out):
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


def _axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig.add_subplot(1, 1, 1)


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


# --------------------------------------------------------------------------- maps


@pytest.mark.parametrize("n", [1, 5])
def test_plot_dfim_nan_diagonal(tmp_path, rng, n):
    fis = rng.gamma(2.0, 0.5, (n, n))
    np.fill_diagonal(fis, np.nan)
    names = [f"motif_{i}" for i in range(n)]
    path = tmp_path / "map.png"
    out = plots.plot_dfim(fis, path, source_names=names, target_names=names, title="map")
    _assert_image(path, out)


def test_plot_dfim_large_rectangular(tmp_path, rng):
    fis = rng.gamma(2.0, 0.5, (60, 45))
    path = tmp_path / "map.png"
    plots.plot_dfim(
        fis, path, source_names=[f"s{i}" for i in range(60)], target_names=[f"t{i}" for i in range(45)]
    )
    _assert_image(path, path)


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
    _assert_image(path, out)


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
    _assert_image(path, out)


def test_plot_motif_pairs_missing_column(tmp_path):
    with pytest.raises(ValueError, match="combined_p"):
        plots.plot_motif_pairs(pd.DataFrame({"source_name": ["a"]}), tmp_path / "p.png")


def test_plot_roc(tmp_path):
    fpr = np.linspace(0, 1, 30)
    curves = {"DeepLIFT": (fpr, np.sqrt(fpr), 0.67), "ISM": (fpr, fpr, 0.5)}
    path = tmp_path / "roc.png"
    out = plots.plot_roc(curves, path, title="benchmark")
    _assert_image(path, out)


def test_plot_pvalue_histograms(tmp_path, rng):
    pvals = {"empirical": rng.uniform(size=300), "fit": rng.beta(0.5, 1, 300), "tiny": [0.2, np.nan]}
    path = tmp_path / "hist.png"
    out = plots.plot_pvalue_histograms(pvals, path, title="calibration")
    _assert_image(path, out)

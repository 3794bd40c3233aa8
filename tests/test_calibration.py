"""QQ data, KS distance to uniform and AUROC on hand-built inputs."""

import numpy as np
import pytest
import scipy.stats

from dfim.calibration import auroc, ks_uniform, qq_data
from dfim.stats import assign_pval


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# ----------------------------------------------------------------------------------
# qq_data
# ----------------------------------------------------------------------------------
def test_qq_data_hand_example():
    expected, observed = qq_data(np.array([0.5, 0.01, 1.0, np.nan, 0.1]))
    assert expected.shape == observed.shape == (4,)
    np.testing.assert_allclose(expected, -np.log10([0.875, 0.625, 0.375, 0.125]))
    np.testing.assert_allclose(observed, -np.log10([1.0, 0.5, 0.1, 0.01]))


def test_qq_data_monotone_random():
    rng = np.random.default_rng(1)
    p = rng.random(1000)
    p[::7] = np.nan
    expected, observed = qq_data(p)
    assert expected.shape == observed.shape == (np.sum(~np.isnan(p)),)
    assert np.all(np.diff(expected) > 0)
    assert np.all(np.diff(observed) >= 0)
    assert np.all(np.isfinite(observed))


# ----------------------------------------------------------------------------------
# ks_uniform
# ----------------------------------------------------------------------------------
def test_ks_uniform_hand_examples():
    assert ks_uniform(np.array([0.5])) == pytest.approx(0.5)
    # ECDF of {0.25, 0.75} vs x: largest gap 0.25
    assert ks_uniform(np.array([0.25, np.nan, 0.75])) == pytest.approx(0.25)


def test_ks_uniform_matches_scipy_and_calibrated_null():
    rng = np.random.default_rng(3)
    p = rng.random(400)
    assert ks_uniform(p) == pytest.approx(scipy.stats.kstest(p, "uniform").statistic)
    # empirical p of null draws against an independent null are close to uniform
    null = rng.normal(size=5000)
    p_null = assign_pval(rng.normal(size=2000), null, level="global")
    assert ks_uniform(p_null) < 0.05
    # obs shifted upwards are far from uniform
    assert ks_uniform(assign_pval(rng.normal(2, 1, 2000), null, level="global")) > 0.3


def test_auroc_counts_ties_as_one_half():
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auroc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5

"""Tests for dfim.stats: expected values are worked out by hand or from closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from dfim.stats import assign_pval, bh_qvalues

TINY = np.finfo(float).tiny


def _phi_upper(z: float) -> float:
    """1 - Phi(z) from math.erf, independent of scipy."""
    return 0.5 * (1.0 - math.erf(z / math.sqrt(2.0)))


# ----------------------------------------------------------------------------------
# assign_pval, empirical
# ----------------------------------------------------------------------------------
def test_empirical_hand_example():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    obs = np.array([2.5, 2.0, 5.0, 0.0, 4.0, np.nan])
    # #{null >= x}: 2.5 -> 2, 2.0 -> 3 (ties count), 5 -> 0, 0 -> 4, 4 -> 1
    expected = np.array([(1 + 2) / 5, (1 + 3) / 5, 1 / 5, 5 / 5, 2 / 5, np.nan])
    p = assign_pval(obs, null, level="global")
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-15, equal_nan=True)


def test_empirical_ignores_nan_in_null():
    null = np.array([1.0, np.nan, 2.0, 3.0, np.nan, 4.0])
    p = assign_pval(np.array([2.5]), null, level="global")
    assert p[0] == pytest.approx(3 / 5)


def test_empirical_matches_brute_force_count():
    rng = np.random.default_rng(7)
    null = rng.normal(size=200).round(1)  # rounding creates ties
    obs = rng.normal(size=50).round(1)
    p = assign_pval(obs, null, level="global")
    brute = np.array([(1 + np.sum(null >= x)) / (1 + null.size) for x in obs])
    np.testing.assert_array_equal(p, brute)


def _two_by_two():
    # null per (task, seq): (0,0)=[1,2], (0,1)=[3,4], (1,0)=[5,6], (1,1)=[7,8]
    null = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    null_task = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    null_seq = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    obs = np.array([3.5, 3.5, 6.5])
    obs_task = np.array([0, 1, 1])
    obs_seq = np.array([0, 1, 0])
    return dict(obs=obs, null=null, obs_task=obs_task, obs_seq=obs_seq,
                null_task=null_task, null_seq=null_seq)


@pytest.mark.parametrize(
    "level, expected",
    [
        # obs 3.5 @ (0,0): null [1,2] -> 0 >= -> 1/3
        # obs 3.5 @ (1,1): null [7,8] -> 2 >= -> 3/3
        # obs 6.5 @ (1,0): null [5,6] -> 0 >= -> 1/3
        ("per_map", [1 / 3, 3 / 3, 1 / 3]),
        # task 0 null [1,2,3,4]: 3.5 -> 1 >= -> 2/5
        # task 1 null [5,6,7,8]: 3.5 -> 4 >= -> 5/5; 6.5 -> 2 >= -> 3/5
        ("per_task", [2 / 5, 5 / 5, 3 / 5]),
        # all 8: 3.5 -> 5 >= -> 6/9; 6.5 -> 2 >= -> 3/9
        ("global", [6 / 9, 6 / 9, 3 / 9]),
    ],
)
def test_pooling_levels_hand_example(level, expected):
    p = assign_pval(level=level, **_two_by_two())
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-15)


def test_per_map_works_with_string_labels_and_unsorted_input():
    kw = _two_by_two()
    perm = np.random.default_rng(0).permutation(kw["null"].size)
    for key in ("null", "null_task", "null_seq"):
        kw[key] = kw[key][perm]
    kw["obs_task"] = np.array(["a", "b", "b"])
    kw["null_task"] = np.where(kw["null_task"] == 0, "a", "b")
    p = assign_pval(level="per_map", **kw)
    np.testing.assert_allclose(p, [1 / 3, 1.0, 1 / 3], rtol=0, atol=1e-15)


def test_output_keeps_shape_of_obs():
    obs = np.array([[np.nan, 2.5], [0.0, np.nan]])
    p = assign_pval(obs, np.array([1.0, 2.0, 3.0, 4.0]), level="global")
    assert p.shape == (2, 2)
    assert np.isnan(p[0, 0]) and np.isnan(p[1, 1])
    assert p[0, 1] == pytest.approx(3 / 5) and p[1, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("kind", ["empirical", "fit"])
@pytest.mark.parametrize("level", ["per_map", "per_task", "global"])
def test_p_in_unit_interval_random(seed, kind, level):
    rng = np.random.default_rng(seed)
    n, m = 300, 2000
    obs = rng.normal(scale=rng.uniform(0.1, 20), size=n)
    obs[rng.random(n) < 0.1] = np.nan
    obs[:3] = [1e6, -1e6, 0.0]  # extreme values still give p in (0, 1]
    null = rng.normal(size=m)
    null[rng.random(m) < 0.05] = np.nan
    p = assign_pval(
        obs, null, kind=kind, level=level,
        obs_task=rng.integers(0, 2, n), obs_seq=rng.integers(0, 3, n),
        null_task=rng.integers(0, 2, m), null_seq=rng.integers(0, 3, m),
    )
    assert p.shape == obs.shape
    np.testing.assert_array_equal(np.isnan(p), np.isnan(obs))
    fin = p[~np.isnan(p)]
    assert np.all(fin > 0) and np.all(fin <= 1)


# ----------------------------------------------------------------------------------
# assign_pval, fit
# ----------------------------------------------------------------------------------
def test_fit_matches_closed_form():
    null = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    mu = 3.0
    sd = math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + 0 + (4 - 3) ** 2 + (5 - 3) ** 2) / 4)
    xs = [4.2, 3.0, 0.5, 9.0]
    p = assign_pval(np.array(xs), null, kind="fit", level="global")
    expected = [_phi_upper((x - mu) / sd) for x in xs]
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=0)
    # upper tail only: below the mean p > 0.5 (not the min of both tails)
    assert p[2] > 0.5
    assert p[1] == pytest.approx(0.5)


def test_fit_per_task_uses_each_task_null():
    null = np.array([0.0, 2.0, 10.0, 14.0])
    null_task = np.array([0, 0, 1, 1])
    obs = np.array([2.0, 2.0])
    p = assign_pval(obs, null, kind="fit", level="per_task",
                    obs_task=np.array([0, 1]), null_task=null_task)
    # task 0: mu=1, sd=sqrt(2); task 1: mu=12, sd=sqrt(8)
    expected = [_phi_upper((2 - 1) / math.sqrt(2)), _phi_upper((2 - 12) / math.sqrt(8))]
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_fit_extreme_value_is_clipped_to_tiny():
    p = assign_pval(np.array([1e6]), np.array([0.0, 1.0, 2.0]), kind="fit", level="global")
    assert p[0] == TINY and p[0] > 0


# ----------------------------------------------------------------------------------
# assign_pval, errors
# ----------------------------------------------------------------------------------
def test_unknown_kind_lists_allowed():
    with pytest.raises(ValueError, match="empirical.*fit"):
        assign_pval([1.0], [1.0, 2.0], kind="gauss", level="global")


def test_unknown_level_lists_allowed():
    with pytest.raises(ValueError, match="per_map.*per_task.*global"):
        assign_pval([1.0], [1.0, 2.0], level="per_window")


@pytest.mark.parametrize("missing", ["obs_task", "obs_seq", "null_task", "null_seq"])
def test_missing_label_per_map_names_argument(missing):
    kw = _two_by_two()
    kw[missing] = None
    with pytest.raises(ValueError, match=missing):
        assign_pval(level="per_map", **kw)


def test_missing_label_per_task_names_argument():
    kw = _two_by_two()
    kw["null_task"] = None
    with pytest.raises(ValueError, match="null_task"):
        assign_pval(level="per_task", **kw)
    # sequence labels are not needed per task or globally
    kw = _two_by_two()
    kw["obs_seq"] = kw["null_seq"] = None
    assign_pval(level="per_task", **kw)
    assign_pval(kw["obs"], kw["null"], level="global")


def test_label_shape_mismatch():
    kw = _two_by_two()
    kw["obs_seq"] = kw["obs_seq"][:2]
    with pytest.raises(ValueError, match="obs_seq"):
        assign_pval(level="per_map", **kw)


def test_empty_null_group_names_group_and_fix():
    kw = _two_by_two()
    kw["obs_seq"] = np.array([0, 1, 5])  # seq 5 has no null values
    with pytest.raises(ValueError, match=r"task=1, seq=5.*shuffles"):
        assign_pval(level="per_map", **kw)


def test_all_nan_null_group_is_empty():
    with pytest.raises(ValueError, match="no null"):
        assign_pval(np.array([1.0]), np.array([np.nan, np.nan]), level="global")


def test_untested_group_needs_no_null():
    kw = _two_by_two()
    kw["obs"] = np.array([3.5, np.nan, 6.5])
    kw["obs_seq"] = np.array([0, 9, 0])  # seq 9 has no null but is untested
    p = assign_pval(level="per_map", **kw)
    assert np.isnan(p[1])


@pytest.mark.parametrize("null", [[2.0, 2.0, 2.0], [2.0]])
def test_fit_degenerate_null_raises(null):
    n = len(null)
    with pytest.raises(ValueError, match=r"task=3, seq=7.*degenerate.*empirical"):
        assign_pval(np.array([1.0]), np.array(null), kind="fit", level="per_map",
                    obs_task=np.array([3]), obs_seq=np.array([7]),
                    null_task=np.full(n, 3), null_seq=np.full(n, 7))


# ----------------------------------------------------------------------------------
# bh_qvalues
# ----------------------------------------------------------------------------------
def test_bh_hand_example():
    # sorted p 0.01, 0.03, 0.04, 0.2 -> p*4/rank 0.04, 0.06, 0.0533.., 0.2
    # cumulative min from the top -> 0.04, 0.0533.., 0.0533.., 0.2
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, np.nan, 0.2]))
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, np.nan, 0.2],
                               rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(5))
def test_bh_matches_scipy_with_nans(seed):
    rng = np.random.default_rng(seed)
    p = rng.random(500) ** 3
    nan = rng.random(500) < 0.2
    p[nan] = np.nan
    q = bh_qvalues(p)
    np.testing.assert_array_equal(np.isnan(q), nan)
    expected = scipy.stats.false_discovery_control(p[~nan], method="bh")
    np.testing.assert_array_equal(q[~nan], expected)
    assert np.all(q[~nan] >= p[~nan])
    assert np.all(q[~nan] <= 1)


def test_bh_all_nan_and_out_of_range():
    assert np.isnan(bh_qvalues(np.array([np.nan, np.nan]))).all()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bh_qvalues(np.array([0.5, 1.5]))


def test_pair_pvalue_grows_with_evidence_and_stays_in_range():
    from dfim.stats import pair_pvalue

    rng = np.random.default_rng(0)
    null = rng.normal(size=200)
    few = pair_pvalue(rng.normal(1.0, 1, size=5), null)
    many = pair_pvalue(rng.normal(1.0, 1, size=200), null)
    assert 0 < many < few <= 1
    assert pair_pvalue(rng.normal(size=300), null) > 0.01
    assert pair_pvalue([], null) == 1.0 and pair_pvalue([1.0, np.nan], []) == 1.0
    # matches scipy's one-sided Mann-Whitney U test
    x, y = rng.normal(0.3, 1, 40), rng.normal(0, 1, 60)
    assert pair_pvalue(x, y) == pytest.approx(scipy.stats.mannwhitneyu(x, y, alternative="greater").pvalue)


# ----------------------------------------------------------------- random-source excess test
from dfim.stats import excess_pvalues, excess_statistics, pair_excess_pvalue  # noqa: E402


def test_excess_statistics_by_hand():
    u, u_null = excess_statistics([5.0, np.nan], [[1.0, 3.0], [1.0, 2.0]], [2.0, 1.0], min_effect=0.5)
    assert u[0] == pytest.approx((5 - 3) / 2 - 0.5) and np.isnan(u[1])
    np.testing.assert_allclose(u_null[0], [(1 - 5) / 2, (3 - 5) / 2])
    # a segment that beats everything else of its pair
    _, un = excess_statistics([1.0], [[4.0, 2.0]], [1.0])
    np.testing.assert_allclose(un[0], [4 - 2, 2 - 4])


def test_float_noise_and_ties_are_never_significant():
    n = 500
    F = np.r_[np.zeros(n), np.full(n, 1e-7)]  # exact zeros and float-level changes
    R = np.zeros((2 * n, 10))
    u, u_null = excess_statistics(F, R, np.ones(2 * n), min_effect=0.01)
    p = excess_pvalues(u, u_null)
    assert (p == 1.0).all()


def test_excess_pvalues_are_uniform_when_pairs_and_segments_are_exchangeable(rng):
    F = rng.gamma(2.0, size=4000)
    R = rng.gamma(2.0, size=(4000, 10))
    S = rng.uniform(0.5, 2.0, size=4000)
    u, u_null = excess_statistics(F, R, S)
    p = excess_pvalues(u, u_null, groups=np.repeat([0, 1], 2000))
    assert ((p > 0) & (p <= 1)).all()
    assert abs((p < 0.05).mean() - 0.05) < 0.015 and abs((p < 0.2).mean() - 0.2) < 0.03
    # a pair without segments is untestable: p = 1
    u, u_null = excess_statistics([3.0], [[np.nan, np.nan]], [1.0])
    assert excess_pvalues(u, u_null)[0] == 1.0


def test_pair_excess_pvalue_grows_with_a_real_shift(rng):
    u_null = rng.normal(size=(30, 10))
    assert pair_excess_pvalue(rng.normal(size=30), u_null) > 0.01
    assert pair_excess_pvalue(rng.normal(size=30) + 2, u_null) < 1e-6
    assert pair_excess_pvalue([], u_null) == 1.0

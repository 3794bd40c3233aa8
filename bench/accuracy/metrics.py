"""Ranking and calibration metrics, numpy/scipy only.

Ties are handled the way scikit-learn does: all items sharing a score enter the curve
at the same threshold (so AUROC counts a tie as one half).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from dfim.calibration import auroc, ks_uniform  # noqa: F401 - ks_uniform is used as metrics.ks_uniform

Q_CUTOFF = 0.05


def _ranked(y, score):
    """True-positive and false-positive counts at each distinct threshold (descending)."""
    y = np.asarray(y, bool).ravel()
    s = np.asarray(score, float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each tie group
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return tp.astype(float), fp.astype(float), int(y.sum()), int((~y).sum())


def roc_curve(y, score):
    """``(fpr, tpr, auroc)``; fpr and tpr start at 0. AUROC is NaN with one class only."""
    tp, fp, n_pos, n_neg = _ranked(y, score)
    if n_pos == 0 or n_neg == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan")
    fpr = np.r_[0.0, fp / n_neg]
    tpr = np.r_[0.0, tp / n_pos]
    return fpr, tpr, auroc(y, score)


def average_precision(y, score) -> float:
    """Area under the precision–recall curve as average precision (step-wise, no interpolation)."""
    tp, fp, n_pos, _ = _ranked(y, score)
    if n_pos == 0:
        return float("nan")
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def spearman(a, b) -> float:
    """Spearman rank correlation (NaN when either side is constant)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def excess_over_uniform(p, upto: float = 0.1) -> float:
    """Anti-conservative excess at small p: ``max_{a <= upto} (F(a) - a)``, ``F`` the empirical CDF.

    This is the one-sided KS distance restricted to the p-values that can become
    discoveries. It ignores what the two-sided KS distance also counts: an excess of large
    p-values (the atom at p = 1 that ties at FIS = 0 produce, or the atom a Normal fit puts
    at ``1 - Phi(-mu / sd)``), which costs power but not error control.
    """
    p = np.sort(np.asarray(p, float)[~np.isnan(p)])
    if p.size == 0:
        return float("nan")
    i = np.arange(1, p.size + 1) / p.size
    small = p <= upto
    return float(max(0.0, np.max(i[small] - p[small]))) if small.any() else 0.0


def randomized_empirical(obs, null, seed: int = 0) -> np.ndarray:
    """Empirical p-values with ties broken at random (a diagnostic, not the engine's p-value).

    ``p = (#{null > x} + U (1 + #{null == x})) / (1 + N)``, ``U ~ Uniform(0, 1)``: exactly
    uniform when ``x`` and the null values are exchangeable, even with many ties (the
    engine's ``(1 + #{null >= x}) / (1 + N)`` is the conservative ``U = 1`` version).
    """
    null = np.sort(np.asarray(null, float)[~np.isnan(null)])
    obs = np.asarray(obs, float)
    hi = np.searchsorted(null, obs, side="right")
    lo = np.searchsorted(null, obs, side="left")
    u = np.random.default_rng(seed).random(obs.shape)
    p = ((null.size - hi) + u * (hi - lo + 1)) / (null.size + 1)
    return np.where(np.isnan(obs), np.nan, p)


def ks_pvalue(p) -> float:
    """Two-sided Kolmogorov–Smirnov p-value of ``p`` against Uniform(0, 1) (NaN dropped)."""
    p = np.asarray(p, float)
    p = p[~np.isnan(p)]
    return float(stats.kstest(p, "uniform").pvalue) if p.size else float("nan")


def zero_share(x) -> float:
    """Share of values that are exactly 0 (NaN dropped)."""
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    return float(np.mean(x == 0)) if x.size else float("nan")

"""Calibration and ranking summaries of p-values and scores, for plots and benchmarks.

Arrays in, numbers out; no I/O.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

from .stats import check_pvalues

_TINY = np.finfo(float).tiny


def qq_data(p) -> tuple[np.ndarray, np.ndarray]:
    """Expected and observed ``-log10 p`` for a QQ plot against Uniform(0, 1).

    Parameters
    ----------
    p : (n,) float
        p-values in ``[0, 1]``; NaN entries are dropped. A p of 0 is plotted at
        ``-log10(np.finfo(float).tiny)``.

    Returns
    -------
    expected : (k,) float64
        ``-log10((i - 0.5) / k)`` for ``i = k, ..., 1``, i.e. ascending; ``k`` is the
        number of non-NaN p-values.
    observed : (k,) float64
        ``-log10`` of the p-values sorted so that they pair with ``expected``
        (largest p with the smallest expected value); ascending too.
    """
    p = check_pvalues(p, "qq_data").ravel()
    p = np.sort(p[~np.isnan(p)])[::-1]  # descending p = ascending -log10 p
    k = p.size
    expected = -np.log10((np.arange(k, 0, -1) - 0.5) / k)
    observed = -np.log10(np.maximum(p, _TINY))
    return expected, observed


def ks_uniform(p) -> float:
    """Kolmogorov–Smirnov distance of the non-NaN p-values to Uniform(0, 1).

    Parameters
    ----------
    p : (n,) float
        p-values; NaN entries are dropped. Well-calibrated null p-values give a
        distance near 0.

    Returns
    -------
    float
        ``scipy.stats.kstest(p, "uniform").statistic``, in ``[0, 1]``.
    """
    p = check_pvalues(p, "ks_uniform").ravel()
    p = p[~np.isnan(p)]
    if p.size == 0:
        raise ValueError("ks_uniform: no p-values given (all NaN or empty)")
    return float(_sps.kstest(p, "uniform").statistic)


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve from ``(n,)`` binary labels and scores (ties count one half)."""
    y = np.asarray(y).astype(bool).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _sps.rankdata(score)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

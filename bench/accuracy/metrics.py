"""Ranking and calibration metrics, numpy/scipy only.

Ties are handled the way scikit-learn does: all items sharing a score enter the curve
at the same threshold (so AUROC counts a tie as one half).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from dfim.pipeline import add_pvalues
from dfim.stats import KINDS, LEVELS, ks_uniform

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
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


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


def calibration(fis: pd.DataFrame, null: pd.DataFrame, *, subset=None):
    """KS distance to uniform and fractions significant for every p-value kind × level.

    fis, null : per-element FIS rows of the observed and the shuffled sequences (one task).
    subset : optional ``(n_rows,)`` bool mask of ``fis`` rows for an extra column
        (e.g. the C–D pairs), reported as ``frac_q_subset``; q-values are still computed
        over all pairs (BH over every tested pair of the task, as the workflow does).

    Returns ``(table, pvalues)``: a DataFrame with one row per (kind, level) and columns
    ``kind, level, ks, frac_p, frac_q, frac_q_subset, error``; and a dict
    ``(kind, level) -> (n,) p-values``.
    """
    rows, pvals = [], {}
    tested = ~fis["score"].isna().to_numpy()
    for kind in KINDS:
        for level in LEVELS:
            try:
                f = add_pvalues(fis, null, kind=kind, level=level)
            except ValueError as exc:  # e.g. a degenerate per-map null for the Normal fit
                rows.append(dict(kind=kind, level=level, ks=np.nan, frac_p=np.nan, frac_q=np.nan,
                                 frac_q_subset=np.nan, error=str(exc).split(";")[0]))
                continue
            p = f["pval"].to_numpy(float)[tested]
            q = f["qval"].to_numpy(float)[tested]
            pvals[(kind, level)] = p
            sub = np.nan
            if subset is not None:
                m = np.asarray(subset, bool)[tested]
                sub = float(np.mean(q[m] < Q_CUTOFF)) if m.any() else np.nan
            rows.append(dict(kind=kind, level=level, ks=ks_uniform(p), frac_p=float(np.mean(p < 0.05)),
                             frac_q=float(np.mean(q < Q_CUTOFF)), frac_q_subset=sub, error=""))
    return pd.DataFrame(rows), pvals

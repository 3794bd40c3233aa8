"""Model truth of every scored pair: double-mutant ISM epistasis relative to the larger single-mutant effect.

For the pair (s → t) of a window x, with the product's gc perturbation (the element replaced
by the soft GC background, a deterministic mutant, so one evaluation per mutant is exact and
no averaging is needed):

    e = f(x) − f(x_s) − f(x_t) + f(x_st)              (column ``ism_epistasis`` of the FIS rows)
    m = max(|f(x) − f(x_s)|, |f(x) − f(x_t)|)         (``pred_change`` of the rows with s, t as source)

``f`` is the pre-activation logit (the linear output of the regressions).
Pairs with m ≥ :data:`M_FLOOR` are classed *non-interacting* when |e| < 1 % of m and
*interacting* when |e| > 30 % of m; the others (small effects or 1–30 % epistasis) are in
neither class.

A pair's *strength* is |e| relative to the largest single-mutant effect among its window's elements
(``e_top``); interacting pairs with ``e_top ≥`` :data:`STRONG` are reported apart, because a 30 %
epistasis between two elements the model barely uses is a small change of the prediction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NONINT_REL = 0.01
INT_REL = 0.30
M_FLOOR = 0.05  # logit units: below this neither element matters and the ratio is float noise
STRONG = 0.20   # |e| as a fraction of the window's largest single-mutant effect


def gap(a0, a1, b0, b1):
    """Bases strictly between [a0, a1) and [b0, b1)."""
    return np.maximum(a0, b0) - np.minimum(a1, b1)


def annotate(fis: pd.DataFrame, *, grammar_pair=("A", "B"), distractors=(), spacing: bool = False,
             max_gap: int = 20, control: bool = False) -> pd.DataFrame:
    """The observed FIS rows (one task) with model truth and design truth.

    Adds ``gap``, ``e``, ``m``, ``rel_e``, ``e_top``, ``truth_nonint``, ``truth_int``, ``truth_strong``, ``design_int``
    (the grammar's interacting pairs: A–B; for ``spacing`` A–B at most ``max_gap`` bp apart;
    none for a ``control``), ``design_nonint`` (every other pair), ``dis_tgt`` (target is a
    label-independent motif) and ``dis_pair`` (both are).
    """
    f = fis.copy()
    eff = {}
    for s, a, pc in f[["seq", "mut_start", "pred_change"]].itertuples(index=False):
        eff[(int(s), int(a))] = float(pc)
    e_s = f["pred_change"].to_numpy(float)
    e_t = np.array([eff.get((int(s), int(a)), np.nan) for s, a in f[["seq", "resp_start"]].itertuples(index=False)])
    if np.isnan(e_t).any():
        raise RuntimeError(f"{int(np.isnan(e_t).sum())} targets are not also sources: no single-mutant effect")
    f["gap"] = gap(f["mut_start"].to_numpy(int), f["mut_end"].to_numpy(int), f["resp_start"].to_numpy(int),
                   f["resp_end"].to_numpy(int))
    f["e"] = f["ism_epistasis"].to_numpy(float)
    f["m"] = np.maximum(np.abs(e_s), np.abs(e_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        f["rel_e"] = np.abs(f["e"]) / f["m"]
    big = f["m"].to_numpy() >= M_FLOOR
    f["truth_nonint"] = big & (f["rel_e"].to_numpy() < NONINT_REL)
    f["truth_int"] = big & (f["rel_e"].to_numpy() > INT_REL)
    top = f.groupby(["task", "seq"])["pred_change"].transform(lambda x: np.abs(x).max()).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["e_top"] = np.abs(f["e"].to_numpy(float)) / top
    f["truth_strong"] = f["truth_int"].to_numpy() & (f["e_top"].to_numpy() >= STRONG)
    src, tgt = f["mut_name"].astype(str).to_numpy(), f["resp_name"].astype(str).to_numpy()
    ab = ((src == grammar_pair[0]) & (tgt == grammar_pair[1])) | ((src == grammar_pair[1]) & (tgt == grammar_pair[0]))
    if control:
        design = np.zeros(len(f), bool)
    elif spacing:
        design = ab & (f["gap"].to_numpy() <= max_gap)
    else:
        design = ab
    f["is_ab"] = ab
    f["design_int"] = design
    f["design_nonint"] = ~design
    dis = set(distractors)
    f["dis_tgt"] = np.isin(tgt, list(dis))
    f["dis_pair"] = f["dis_tgt"].to_numpy() & np.isin(src, list(dis))
    return f

"""Interaction calls: FIS rows and their null → p-values, q-values, pair-level tests.

A row with ``qval < 0.05`` is a call and means a non-negligible interaction: the test
has a minimal effect built in (``min_effect``, a fraction of the window's top per-base
importance), so a float-level change of a target's importance can never be called, and
the default null (``random_source``, :mod:`dfim.null`) keeps the target's real
importance. Rows that are not interactions (the diagonal; a variant inside its target
motif, ``relation == "disruption"``) are never tested. Array maths is in :mod:`dfim.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .stats import assign_pval, bh_qvalues, excess_pvalues, excess_statistics, pair_excess_pvalue, pair_pvalue

PAIR_KEY = ["task", "mut_start", "mut_end", "resp_start", "resp_end"]


@dataclass
class TestOptions:
    """How calls are made (config section ``pvalue``); defaults are the schema's."""

    min_effect: float = 0.01       # pvalue.min_effect: fraction of the window's top per-base importance
    pair_min_effect: float = 0.02  # pvalue.pair_min_effect: the same for the pair-level test
    scale_floor: float = 0.1       # pvalue.scale_floor: a window's scale is at least this × the median window's
    kind: str = "empirical"        # pvalue.kind (shuffled nulls): empirical | fit
    level: str = "per_task"        # pvalue.level (shuffled nulls): per_map | per_task | global

    @classmethod
    def from_config(cls, cfg: dict) -> "TestOptions":
        p = cfg["pvalue"]
        return cls(min_effect=p["min_effect"], pair_min_effect=p["pair_min_effect"], scale_floor=p["scale_floor"],
                   kind=p["kind"], level=p["level"])


def tested(fis: pd.DataFrame) -> np.ndarray:
    """Rows that are tested: a finite FIS of an interaction (not a disruption)."""
    ok = np.isfinite(fis["score"].to_numpy(float))
    if "relation" in fis:
        ok &= fis["relation"].to_numpy() == "interaction"
    return ok


def window_scale(fis: pd.DataFrame, floor: float, seq_col: str = "seq") -> np.ndarray:
    """Each row's scale: its window's top per-base importance, floored at ``floor`` × the
    median over the task's windows, so a window with almost no importance does not turn
    float noise into large ratios."""
    S = fis["window_scale"].to_numpy(float).copy()
    for _, idx in fis.groupby("task").indices.items():
        windows = fis.iloc[idx].drop_duplicates(seq_col)["window_scale"].to_numpy(float)
        med = np.median(windows) if len(windows) else 0.0
        S[idx] = np.maximum(S[idx], max(floor * med, np.finfo(np.float32).tiny))
    return S


def segment_matrix(fis: pd.DataFrame, null: pd.DataFrame, seq_col: str = "seq") -> np.ndarray:
    """``(rows, K)`` FIS of each row's null segments (random-source null table), NaN-padded."""
    K = int(null["k"].max()) + 1 if len(null) else 1
    R = np.full((len(fis), K), np.nan)
    if not len(null):
        return R
    keys = [seq_col] + PAIR_KEY
    row = pd.DataFrame({c: fis[c].to_numpy() for c in keys}).astype({seq_col: str})
    row["row"] = np.arange(len(fis))
    nul = pd.DataFrame({c: null[c].to_numpy() for c in keys + ["k", "score"]}).astype({seq_col: str})
    for c in PAIR_KEY:
        row[c], nul[c] = row[c].astype(np.int64), nul[c].astype(np.int64)
    m = nul.merge(row, on=keys, how="inner")
    R[m["row"].to_numpy(int), m["k"].to_numpy(int)] = m["score"].to_numpy(float)
    return R


def add_pvalues(fis: pd.DataFrame, null: pd.DataFrame, *, null_kind: str = "random_source",
                test: TestOptions | None = None, seq_col: str = "seq") -> pd.DataFrame:
    """FIS rows with ``pval`` and ``qval`` (BH over each task's tested rows).

    fis : FIS rows (``task``, ``seq_col``, intervals, ``score``, ``window_scale``, ``relation``).
    null : the null table of :func:`dfim.pipeline.score_windows` for ``null_kind``.
    """
    test = test or TestOptions()
    fis = fis.copy()
    fis["pval"] = np.nan
    fis["qval"] = np.nan
    ok = tested(fis)
    if not ok.any():
        return fis
    t = fis[ok]
    S = window_scale(t, test.scale_floor, seq_col)
    if null_kind == "random_source":
        u, u_null = excess_statistics(t["score"].to_numpy(float), segment_matrix(t, null, seq_col), S,
                                      min_effect=test.min_effect)
        p = excess_pvalues(u, u_null, groups=t["task"].to_numpy())
    else:
        nul = null[tested(null)]
        p = assign_pval(t["score"].to_numpy(float), nul["score"].to_numpy(float), kind=test.kind, level=test.level,
                        obs_task=t["task"].to_numpy(), null_task=nul["task"].to_numpy(),
                        obs_seq=t[seq_col].astype(str).to_numpy(), null_seq=nul[seq_col].astype(str).to_numpy(),
                        min_effect=test.min_effect * S)
    fis.loc[ok, "pval"] = p
    for _, idx in fis[ok].groupby("task").groups.items():
        fis.loc[idx, "qval"] = bh_qvalues(fis.loc[idx, "pval"].to_numpy(float))
    return fis


def pair_pvalues(fis: pd.DataFrame, null: pd.DataFrame, *, null_kind: str = "random_source",
                 test: TestOptions | None = None, seq_col: str = "seq") -> pd.DataFrame:
    """The pair-level test: one row per ordered element-name pair and task.

    ``random_source``: a one-sided rank-sum (Mann–Whitney) test of the pair's instances'
    excesses over their own segments (:func:`dfim.stats.excess_statistics` with
    ``pair_min_effect``) against the segments' excesses; shuffled nulls: a one-sided
    rank-sum test of the instances' ``FIS - pair_min_effect × scale`` against the FIS of
    the same specs in the shuffled windows. ``qval``: BH over the task's pairs.

    Returns columns ``mut_name, resp_name, task, n_tested, pval, qval``.
    """
    test = test or TestOptions()
    t = fis[tested(fis)]
    rows = []
    if len(t):
        S = window_scale(t, test.scale_floor, seq_col)
        F = t["score"].to_numpy(float)
        if null_kind == "random_source":
            u, u_null = excess_statistics(F, segment_matrix(t, null, seq_col), S, min_effect=test.pair_min_effect)
        else:
            shifted = F - test.pair_min_effect * S
            nul = null[tested(null)]
            null_groups = {k: g["score"].to_numpy(float) for k, g in nul.groupby(["mut_name", "resp_name", "task"])}
        for (s, r, task), idx in t.groupby(["mut_name", "resp_name", "task"], sort=True).indices.items():
            if null_kind == "random_source":
                p = pair_excess_pvalue(u[idx], u_null[idx])
            else:
                p = pair_pvalue(shifted[idx], null_groups.get((s, r, task), np.array([])))
            rows.append((s, r, task, len(idx), p))
    out = pd.DataFrame(rows, columns=["mut_name", "resp_name", "task", "n_tested", "pval"])
    out["qval"] = np.nan
    for _, idx in out.groupby("task").groups.items():
        out.loc[idx, "qval"] = bh_qvalues(out.loc[idx, "pval"].to_numpy(float))
    return out


def null_pvalues(fis: pd.DataFrame, null: pd.DataFrame, *, null_kind: str = "random_source",
                 test: TestOptions | None = None, seq_col: str = "seq") -> np.ndarray:
    """Out-of-sample p-values of null values, for a QQ plot's null curve.

    ``random_source``: each pair's first segment is tested as if it were the pair, against
    the pooled excesses of the others (``K - 1`` segments each); shuffled nulls: the first
    shuffle's FIS against the other shuffles. Uniform when the test is calibrated.
    """
    test = test or TestOptions()
    t = fis[tested(fis)]
    if not len(t):
        return np.array([])
    S = window_scale(t, test.scale_floor, seq_col)
    if null_kind == "random_source":
        R = segment_matrix(t, null, seq_col)
        if R.shape[1] < 3:
            return np.array([])
        u, u_null = excess_statistics(R[:, 0], R[:, 1:], S, min_effect=test.min_effect)
        return excess_pvalues(u, u_null, groups=t["task"].to_numpy())
    nul = null[tested(null)]
    held = nul["shuffle"].to_numpy() == 0
    if held.all():
        return np.array([])
    return assign_pval(nul.loc[held, "score"].to_numpy(float), nul.loc[~held, "score"].to_numpy(float),
                       kind=test.kind, level="per_task", obs_task=nul.loc[held, "task"].to_numpy(),
                       null_task=nul.loc[~held, "task"].to_numpy())

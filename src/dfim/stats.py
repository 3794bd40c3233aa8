"""Statistics on feature interaction scores: p-values against a null, q-values.

A feature interaction score (FIS) observed on a real sequence is compared with FIS
values of a null (:mod:`dfim.null`: the pair's own element-free segments, or shuffled
copies of the windows; METHOD.md, "Null model and significance"). This module turns
those numbers into p-values and q-values; :mod:`dfim.calls` applies it to FIS tables and
:mod:`dfim.calibration` summarises p-values for plots and benchmarks.

Conventions:

* an observed FIS of NaN means "not tested" (e.g. the diagonal of a map) and always
  gives a p-value and q-value of NaN;
* NaN values in the null are ignored;
* every p-value returned lies in ``(0, 1]``;
* labels (task, sequence/window) are arrays of any hashable scalar type (ints, strings)
  aligned with the FIS values they describe.

Everything here is numpy/scipy only: arrays in, arrays out, no I/O.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

KINDS = ("empirical", "fit")
LEVELS = ("per_map", "per_task", "global")

_TINY = np.finfo(float).tiny

# Which label arguments each pooling level needs, in the order they are checked.
_LEVEL_LABELS = {
    "per_map": ("obs_task", "obs_seq", "null_task", "null_seq"),
    "per_task": ("obs_task", "null_task"),
    "global": (),
}


# ----------------------------------------------------------------------------------
# p-values against the null
# ----------------------------------------------------------------------------------
def assign_pval(
    obs,
    null,
    *,
    kind: str = "empirical",
    level: str = "per_map",
    obs_task=None,
    obs_seq=None,
    null_task=None,
    null_seq=None,
    min_effect=None,
) -> np.ndarray:
    """One-sided (upper-tail) p-value of every observed FIS against a pooled null.

    With ``min_effect`` the hypothesis has a minimal effect built in (as TREAT does for
    fold changes): an observation is tested for exceeding its null by more than
    ``min_effect``, i.e. ``obs - min_effect`` is compared with the null. A FIS that is
    not at least ``min_effect`` above the null can then never be significant, however
    small the null's spread (float-level changes included).

    Parameters
    ----------
    obs : (n,) float
        Observed FIS values. NaN marks an untested entry (its p-value is NaN). Any
        shape is accepted; the output has the same shape and the ``obs_*`` labels
        must have it too.
    null : (m,) float
        FIS values computed on shuffled (null) sequences. NaN values are ignored. Any
        shape is accepted; the ``null_*`` labels must have the same shape.
    kind : {"empirical", "fit"}
        ``"empirical"``: ``p = (1 + #{null >= x}) / (1 + N_null)``.
        ``"fit"``: fit a Normal to the pooled null (mean, sample sd with ``ddof=1``)
        and take the upper tail ``p = 1 - Phi((x - mu) / sd)``, clipped to
        ``[np.finfo(float).tiny, 1]``.
    level : {"per_map", "per_task", "global"}
        How the null is pooled for an observation: ``"per_map"`` uses the null of the
        same (task, sequence); ``"per_task"`` all null values of the same task;
        ``"global"`` every null value.
    obs_task, null_task : (n,) and (m,) labels, optional
        Task of each observed / null value. Needed by ``"per_map"`` and
        ``"per_task"``.
    obs_seq, null_seq : (n,) and (m,) labels, optional
        Sequence (window) of each observed / null value. Needed by ``"per_map"``.
        Labels a level does not use are ignored.
    min_effect : (n,) float or float, optional
        The minimal effect each observation must exceed its null by (>= 0); default 0.

    Returns
    -------
    p : (n,) float64
        p-values in ``(0, 1]``; NaN where ``obs`` is NaN.

    Raises
    ------
    ValueError
        Unknown ``kind`` or ``level``; a label the level needs is missing or has the
        wrong shape; a group of observations has no null values (empty null), or,
        for ``kind="fit"``, fewer than two null values or a null with zero spread.
    """
    if kind not in KINDS:
        raise ValueError(f"assign_pval: unknown kind={kind!r}; allowed values are {KINDS}")
    if level not in LEVELS:
        raise ValueError(f"assign_pval: unknown level={level!r}; allowed values are {LEVELS}")

    labels = {"obs_task": obs_task, "obs_seq": obs_seq, "null_task": null_task, "null_seq": null_seq}
    missing = [name for name in _LEVEL_LABELS[level] if labels[name] is None]
    if missing:
        raise ValueError(
            f"assign_pval: level={level!r} pools the null by "
            f"{'task and sequence' if level == 'per_map' else 'task'}, so "
            f"{', '.join(missing)} must be given (one label per value); pass "
            "them, or choose a coarser level "
            f"({'per_task or global' if level == 'per_map' else 'global'})"
        )

    obs = np.asarray(obs, dtype=np.float64)
    null = np.asarray(null, dtype=np.float64)
    for name in _LEVEL_LABELS[level]:
        target = obs if name.startswith("obs") else null
        arr = np.asarray(labels[name])
        if arr.shape != target.shape:
            raise ValueError(
                f"assign_pval: {name} has shape {arr.shape} but "
                f"{'obs' if name.startswith('obs') else 'null'} has shape {target.shape}; "
                "give exactly one label per value"
            )
        labels[name] = arr.ravel()

    obs_flat = obs.ravel()
    if min_effect is not None:
        shift = np.broadcast_to(np.asarray(min_effect, dtype=np.float64), obs.shape).ravel()
        if (shift < 0).any():
            raise ValueError("assign_pval: min_effect must be >= 0")
        obs_flat = obs_flat - shift
    null_flat = null.ravel()
    obs_group, null_group, describe = _group_codes(level, labels, obs_flat.size, null_flat.size)

    # Drop NaN null values once; keep their groups aligned.
    keep = ~np.isnan(null_flat)
    null_flat, null_group = null_flat[keep], null_group[keep]

    # Sort the null by (group, value): each group's null is then one sorted slice.
    order = np.lexsort((null_flat, null_group))
    null_sorted, null_group_sorted = null_flat[order], null_group[order]

    p = np.full(obs_flat.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(obs_flat))
    if tested.size == 0:
        return p.reshape(obs.shape)

    tested = tested[np.argsort(obs_group[tested], kind="stable")]
    groups, starts = np.unique(obs_group[tested], return_index=True)
    for g, idx in zip(groups, np.split(tested, starts[1:])):
        lo, hi = np.searchsorted(null_group_sorted, [g, g + 1], side="left")
        pooled = null_sorted[lo:hi]  # ascending
        x = obs_flat[idx]
        if pooled.size == 0:
            raise ValueError(
                f"assign_pval: no null FIS values for {describe(g)} (level={level!r}) "
                "after dropping NaN; draw more shuffles per sequence"
                + (
                    ", check that the null labels match the observed labels, or pool "
                    f"at a coarser level (one of {LEVELS[LEVELS.index(level) + 1:]})"
                    if level != "global"
                    else ""
                )
            )
        if kind == "empirical":
            n_ge = pooled.size - np.searchsorted(pooled, x, side="left")
            p[idx] = (1.0 + n_ge) / (1.0 + pooled.size)
        else:
            sd = np.std(pooled, ddof=1) if pooled.size >= 2 else np.nan
            if not (np.isfinite(sd) and sd > 0):
                raise ValueError(
                    f"assign_pval: the null for {describe(g)} (level={level!r}) is "
                    f"degenerate ({pooled.size} non-NaN value(s)"
                    + (f", standard deviation {sd}" if pooled.size >= 2 else "")
                    + "), so a Normal cannot be fitted; raise the number of shuffles per sequence, "
                    + ("pool at a coarser level, " if level != "global" else "")
                    + 'or use kind="empirical"'
                )
            mu = pooled.mean()
            p[idx] = np.clip(_sps.norm.sf((x - mu) / sd), _TINY, 1.0)
    return p.reshape(obs.shape)


def _group_codes(level, labels, n_obs, n_null):
    """Integer group code per observed and per null value, plus a describer.

    Returns ``(obs_codes (n,), null_codes (m,), describe)`` where ``describe(code)``
    gives a readable name of the group, e.g. ``"task=1, seq=7"``.
    """
    if level == "global":
        return (
            np.zeros(n_obs, dtype=np.int64),
            np.zeros(n_null, dtype=np.int64),
            lambda g: "all tasks and sequences",
        )

    def encode(obs_lab, null_lab):
        uniq, inv = np.unique(np.concatenate([obs_lab, null_lab]), return_inverse=True)
        inv = inv.ravel().astype(np.int64)
        return uniq, inv[:n_obs], inv[n_obs:]

    t_uniq, t_obs, t_null = encode(labels["obs_task"], labels["null_task"])
    if level == "per_task":
        return t_obs, t_null, lambda g: f"task={_label(t_uniq[g])}"

    s_uniq, s_obs, s_null = encode(labels["obs_seq"], labels["null_seq"])
    n_s = len(s_uniq)
    return (
        t_obs * n_s + s_obs,
        t_null * n_s + s_null,
        lambda g: f"task={_label(t_uniq[g // n_s])}, seq={_label(s_uniq[g % n_s])}",
    )


def _label(x) -> str:
    """A label as users wrote it: ``3`` or ``chr1:100-200``, not ``np.int64(3)``."""
    return str(x.item() if isinstance(x, np.generic) else x)


# ----------------------------------------------------------------------------------
# Multiple testing and the pair-level rank-sum test
# ----------------------------------------------------------------------------------
def check_pvalues(p, where: str) -> np.ndarray:
    """``p`` as float64 (same shape); raise if a non-NaN entry lies outside ``[0, 1]``.

    NaN is allowed: it marks an untested entry (e.g. a map diagonal).
    """
    p = np.asarray(p, dtype=np.float64)
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise ValueError(
            f"{where}: {int(bad.sum())} p-value(s) outside [0, 1] (e.g. {p[bad].ravel()[:5]}); "
            "pass p-values, not scores or -log10 p (NaN marks untested entries)"
        )
    return p


def bh_qvalues(p) -> np.ndarray:
    """Benjamini–Hochberg q-values over the tested (non-NaN) entries of ``p``.

    Parameters
    ----------
    p : (n,) float
        p-values in ``[0, 1]``; NaN marks an untested entry (e.g. a map diagonal).
        Any shape is accepted; all non-NaN entries form one family.

    Returns
    -------
    q : (n,) float64
        Same shape as ``p``; equal to
        ``scipy.stats.false_discovery_control(p[finite], method="bh")`` on the
        non-NaN entries and NaN elsewhere. ``q >= p`` everywhere it is defined.
    """
    p = check_pvalues(p, "bh_qvalues")
    q = np.full(p.shape, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        q[finite] = _sps.false_discovery_control(p[finite], method="bh")
    return q


def pair_pvalue(obs, null) -> float:
    """One-sided rank-sum p-value that ``obs`` scores exceed ``null`` scores.

    Used to summarise an element pair (e.g. GATA1 → TAL1) genome-wide: its observed
    FIS against the FIS of the same specs in the shuffled windows. Unlike a
    combination of per-instance empirical p-values, whose resolution is floored at
    ``1 / (1 + N_null)``, the evidence grows with the number of instances.

    obs, null : 1-D float arrays (NaN dropped). Returns a p in (0, 1]; 1.0 when either
    side is empty.
    """
    obs = np.asarray(obs, float)
    null = np.asarray(null, float)
    obs, null = obs[np.isfinite(obs)], null[np.isfinite(null)]
    if len(obs) == 0 or len(null) == 0:
        return 1.0
    p = _sps.mannwhitneyu(obs, null, alternative="greater").pvalue
    return float(min(1.0, max(p, np.finfo(float).tiny)))


# ----------------------------------------------------------------------------------
# The random-source test: each pair's excess over its own null segments
# ----------------------------------------------------------------------------------
def excess_statistics(obs, null, scale, *, min_effect: float = 0.0):
    """Each pair's excess over its own null segments, and the same for every segment.

    For pair ``i`` with FIS ``F_i``, its ``K`` segments' FIS ``R_ik`` and scale ``S_i``
    (the window's top per-base importance), the ``K + 1`` values are exchangeable when
    the source is no feature; each value's excess over the largest of the others is

        u_i  = (F_i - max_k R_ik) / S_i - min_effect
        u_ik = (R_ik - max(F_i, R_ij : j != k)) / S_i

    Parameters
    ----------
    obs : (n,) float, NaN for untested pairs (e.g. a map's diagonal).
    null : (n, K) float, NaN where a pair has fewer than K segments.
    scale : (n,) float > 0.
    min_effect : the minimal effect, as a fraction of the scale (>= 0).

    Returns
    -------
    u : (n,) float64, NaN where ``obs`` is NaN and ``-inf`` for a pair without segments
        (its p-value is then 1); u_null : (n, K) float64, NaN where there is no segment.
    """
    F = np.asarray(obs, dtype=np.float64)
    R = np.asarray(null, dtype=np.float64).reshape(len(F), -1)
    S = np.asarray(scale, dtype=np.float64)
    if min_effect < 0:
        raise ValueError("excess_statistics: min_effect must be >= 0")
    if not (S > 0).all():
        raise ValueError("excess_statistics: every scale must be > 0")
    A = np.where(np.isfinite(np.c_[F, R]), np.c_[F, R], -np.inf)  # column 0: the pair itself
    rows = np.arange(len(A))
    top = A.argmax(1)
    first = A[rows, top]
    rest = A.copy()
    rest[rows, top] = -np.inf
    second = rest.max(1)
    # for each value, the largest of the *other* values of its pair
    others = np.where(np.arange(A.shape[1])[None, :] == top[:, None], second[:, None], first[:, None])
    with np.errstate(invalid="ignore"):
        u = np.where(np.isfinite(F), (F - others[:, 0]) / S - min_effect, np.nan)
        u_null = np.where(np.isfinite(R), (R - others[:, 1:]) / S[:, None], np.nan)
    u[np.isfinite(F) & ~np.isfinite(R).any(1)] = -np.inf
    return u, u_null


def excess_pvalues(u, u_null, groups=None) -> np.ndarray:
    """``p_i = (1 + #{u_null >= u_i}) / (1 + N)`` against the pooled null of ``u_i``'s group.

    u : (n,) from :func:`excess_statistics` (NaN: untested, p NaN); u_null : (n, K);
    groups : (n,) labels (e.g. the task) whose null values are pooled; default one group.
    Ties count against the observation, so a pair that does not beat its own segments
    gets a large p. Returns (n,) p-values in ``(0, 1]``.
    """
    u = np.asarray(u, dtype=np.float64)
    u_null = np.asarray(u_null, dtype=np.float64).reshape(len(u), -1)
    groups = np.zeros(len(u), int) if groups is None else np.asarray(groups)
    p = np.full(len(u), np.nan)
    for g in np.unique(groups):
        rows = groups == g
        pooled = np.sort(u_null[rows][np.isfinite(u_null[rows])])
        tested = rows & ~np.isnan(u)
        n_ge = pooled.size - np.searchsorted(pooled, u[tested], side="left")
        p[tested] = (1.0 + n_ge) / (1.0 + pooled.size)
    return p


def pair_excess_pvalue(u, u_null) -> float:
    """One-sided rank-sum (Mann–Whitney) p that an element pair's excesses ``u`` (its
    instances) exceed those of the same instances' segments ``u_null``; 1.0 when either is empty."""
    u = np.asarray(u, float)
    u_null = np.asarray(u_null, float).ravel()
    u, u_null = u[np.isfinite(u)], u_null[np.isfinite(u_null)]
    if len(u) == 0 or len(u_null) == 0:
        return 1.0
    p = _sps.mannwhitneyu(u, u_null, alternative="greater").pvalue
    return float(min(1.0, max(p, np.finfo(float).tiny)))

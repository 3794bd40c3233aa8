"""Feature interaction scores (FIS) and maps from delta profiles.

Three kinds (METHOD.md, "Feature interaction score (FIS) and maps"):

* ``per_element``: ``FIS(s→t) = reduce_pos_{i∈t} reduce_chan_c |Δ_{s→t}[i, c]|``
  (defaults: absolute value, sum over channels, max over positions); one value per
  (source, target); an element against itself is undefined and stored as NaN;
* ``per_base``: for every mutated position, original base and new base, the full
  delta over the target, ``(n_pos, 4, 4, target_len, 4)`` (NaN where undefined), and
  the L × L summary: max over the 3 substitutions of ``Σ_c |Δ|``;
* ``element_by_base``: the whole per-position response ``Σ_c |Δ|`` over the target.

A source with several mutants (strategy ``per_base``: 3 per position) has one
``per_element`` FIS per target: the largest over its mutants of the per-mutant FIS,
and the row's ``mutant`` names the mutant that gave it (for a 1-bp source and a 1-bp
target, with the default reductions, that is exactly the L × L summary entry). A
position holding N has no substitution (as in :func:`per_base_maps`): its FIS is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sequences import ALPHABET
from .specs import MutationSpecs

KINDS = ("per_element", "per_base", "element_by_base")
POSITION_REDUCTIONS = {"max": np.max, "sum": np.sum, "mean": np.mean}
CHANNEL_REDUCTIONS = {"sum": np.sum, "max": np.max}

FIS_COLUMNS = ("task", "spec", "key", "seq", "mut_name", "mut_start", "mut_end",
               "target", "resp_name", "resp_start", "resp_end", "score", "mutant")


def position_track(delta: np.ndarray, *, absolute: bool = True, channels: str = "sum") -> np.ndarray:
    """Per-position delta ``reduce_c |Δ[..., i, c]|``: ``(..., L, 4) -> (..., L)``."""
    if channels not in CHANNEL_REDUCTIONS:
        raise ValueError(f"unknown channel reduction {channels!r}; choose one of {sorted(CHANNEL_REDUCTIONS)}")
    d = np.abs(delta) if absolute else delta
    return CHANNEL_REDUCTIONS[channels](d, axis=-1)


def is_diagonal(mut_start: int, mut_end: int, resp_start: int, resp_end: int) -> bool:
    """An element tested against itself (same interval) has no defined FIS."""
    return mut_start == resp_start and mut_end == resp_end


def compute_dfim(delta: np.ndarray, key: pd.DataFrame, specs: MutationSpecs, *, kind: str = "per_element",
                 absolute: bool = True, channels: str = "sum", positions: str = "max", tasks=None):
    """Interaction maps from source-masked delta profiles.

    Parameters
    ----------
    delta : ``(T, m, L, 4)`` from :func:`dfim.deltas.compute_delta_profiles`
        (``(m, L, 4)`` is taken as one task).
    key : the mutant key; specs : the mutation specs the mutants came from.
    kind : ``per_element`` | ``per_base`` | ``element_by_base``.
    absolute, channels, positions : the reductions (``per_element``).
    tasks : model output index of each entry of ``delta``'s first axis.

    Returns
    -------
    ``per_element``: DataFrame with columns ``FIS_COLUMNS``, one row per (task,
    source, target), ``score`` NaN on the diagonal; ``mutant`` is the row of the key
    whose FIS is ``score`` (a source's only mutant, or for ``per_base`` mutants the
    substitution with the largest FIS, ties to the first in key order).
    ``per_base``: dict ``(spec, target) -> {"delta": (T, n_pos, 4, 4, len, 4),
    "summary": (T, n_pos, len), "positions": (n_pos,)}``.
    ``element_by_base``: dict ``(spec, target) -> (T, len)`` tracks.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown map kind {kind!r}; choose one of {list(KINDS)}")
    if positions not in POSITION_REDUCTIONS:
        raise ValueError(f"unknown position reduction {positions!r}; choose one of {sorted(POSITION_REDUCTIONS)}")
    if delta.ndim == 3:
        delta = delta[None]
    T = delta.shape[0]
    tasks = list(range(T)) if tasks is None else list(tasks)
    if kind == "per_base":
        return per_base_maps(delta, key, specs)
    groups = _scored_mutants(key)
    if kind == "element_by_base":
        track = position_track(delta, absolute=absolute, channels=channels)  # (T, m, L)
        return {
            (j, t): track[:, groups[j][0], a:b]
            for j, spec in enumerate(specs) if j in groups
            for t, (a, b) in enumerate(zip(spec.resp_start, spec.resp_end))
        }
    reduce = POSITION_REDUCTIONS[positions]
    firsts = [first_mut for first_mut, _ in groups.values()]
    seq_of = dict(zip(firsts, key["seq"].loc[firsts].tolist()))
    rows, first, lone, many = [], [], [], []  # lone, many: (row, mutant(s), a, b) of the rows to score
    for j, spec in enumerate(specs):
        if j not in groups:
            continue
        first_mut, muts = groups[j]
        seq = int(seq_of[first_mut])
        for t, (a, b, name) in enumerate(zip(spec.resp_start, spec.resp_end, spec.resp_names)):
            if not (is_diagonal(spec.mut_start, spec.mut_end, a, b) or not len(muts)):
                (lone if len(muts) == 1 and positions == "max" else many).append((len(rows), muts, a, b))
            rows.append((j, spec.key, seq, spec.mut_name, spec.mut_start, spec.mut_end, t, name, a, b))
            first.append(first_mut)
    S = np.full((T, len(rows)), np.nan, np.float32)
    M = np.repeat(np.asarray(first, np.int64)[None], T, axis=0)
    if lone:
        # the max over each target of a source's only mutant, for every row at once (a null shard has
        # ~70,000 such rows); the track is computed on the targets' positions only, the same numbers
        r, mut, a, b = (np.array(v) for v in zip(*lone))
        mut = mut[:, 0]
        offsets = np.concatenate([[0], np.cumsum(b - a)[:-1]])
        pos = np.arange(int((b - a).sum())) - np.repeat(offsets - a, b - a)
        track = position_track(delta[:, np.repeat(mut, b - a), pos], absolute=absolute, channels=channels)
        S[:, r] = np.maximum.reduceat(track, offsets, axis=1)
        M[:, r] = mut
    for r, muts, a, b in many:
        per_mutant = reduce(position_track(delta[:, muts, a:b], absolute=absolute, channels=channels), axis=-1)
        best = np.argmax(per_mutant, axis=1)  # (T,): per_base sources keep their largest substitution
        S[:, r] = per_mutant[np.arange(T), best]
        M[:, r] = muts[best]
    S, M = S.T, M.T
    base = pd.DataFrame(rows, columns=FIS_COLUMNS[1:-2])
    frames = []
    for ti, task in enumerate(tasks):
        f = base.copy()
        f.insert(0, "task", task)
        f["score"] = S[:, ti]
        f["mutant"] = M[:, ti]
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FIS_COLUMNS)


def _scored_mutants(key: pd.DataFrame) -> dict:
    """``{spec: (first mutant, mutants scored)}`` of the key's rows grouped by source (in
    key order within a source): every mutant, but for ``per_base`` mutants those of
    positions holding N (no substitution) are left out.

    On arrays rather than one pandas group per source: a random-source null shard has
    ~15,000 sources of one mutant each, where the groups took 2.2 s and this 0.03 s.
    """
    spec_of = key["spec"].to_numpy(np.int64)
    order = np.argsort(spec_of, kind="stable")
    mutant = key["mutant"].to_numpy(np.int64)[order]
    sources, starts, counts = np.unique(spec_of[order], return_index=True, return_counts=True)
    keep = np.ones(len(order), bool)
    if "orig_base" in key and "pos" in key and len(order):
        per_base = np.logical_or.reduceat(key["pos"].to_numpy()[order] >= 0, starts)
        keep = ~np.repeat(per_base, counts) | key["orig_base"].isin(list(ALPHABET)).to_numpy()[order]
    return {int(j): (int(mutant[a]), mutant[a:b][keep[a:b]]) for j, a, b in zip(sources, starts, starts + counts)}


def per_base_maps(delta: np.ndarray, key: pd.DataFrame, specs: MutationSpecs) -> dict:
    """Per-base maps for every (source, target) of mutants made with ``per_base``."""
    if delta.ndim == 3:
        delta = delta[None]
    if (key["pos"] < 0).any():
        raise ValueError("per_base maps need mutants made with strategy 'per_base'")
    T = delta.shape[0]
    base_idx = {b: i for i, b in enumerate(ALPHABET)}
    out = {}
    for j, group in key.groupby("spec", sort=True):
        spec = specs[j]
        positions = np.arange(spec.mut_start, spec.mut_end)
        for t, (a, b) in enumerate(zip(spec.resp_start, spec.resp_end)):
            full = np.full((T, len(positions), 4, 4, b - a, 4), np.nan, np.float32)
            for mut, p, o, m in group[["mutant", "pos", "orig_base", "new_base"]].itertuples(index=False):
                if o not in base_idx:
                    continue  # an N cannot be said to be substituted
                full[:, p - spec.mut_start, base_idx[o], base_idx[m]] = delta[:, mut, a:b]
            summary = np.nanmax(np.abs(full).sum(-1).reshape(T, len(positions), 16, b - a), axis=2) \
                if np.isfinite(full).any() else np.full((T, len(positions), b - a), np.nan, np.float32)
            out[(j, t)] = {"delta": full, "summary": summary, "positions": positions}
    return out


def per_base_window_maps(delta: np.ndarray, key: pd.DataFrame, n_windows: int, start: int, width: int, *,
                         absolute: bool = True, channels: str = "sum") -> dict:
    """The 2018 per-base maps of one shard's windows over their sub-window ``[start, start + width)``.

    Mode ``per_base`` (:func:`dfim.elements.per_base_specs`) makes every base ``p`` of the
    sub-window a 1-bp source, mutated to each of its 3 other bases (strategy
    ``per_base``), and every other base ``i`` of it a 1-bp target.

    Parameters
    ----------
    delta : ``(T, m, L, 4)`` source-masked delta profiles (:func:`dfim.deltas.compute_delta_profiles`).
    key : the mutant key (columns ``mutant``, ``seq``, ``pos``, ``orig_base``, ``new_base``);
        rows with ``pos`` outside the sub-window (e.g. null segments) are ignored.
    n_windows : ``N``, the windows ``key["seq"]`` indexes.
    absolute, channels : the reductions of :func:`position_track` (the workflow's
        ``map.absolute`` and ``map.channels``, so the summary is the table's ``score``).

    Returns
    -------
    dict with
    ``delta`` : ``(T, N, W, 4, 4, W, 4)`` float32, ``[t, n, p, o, m, i, c]`` =
        ``Δ[i, c]`` of the sub-window's ``i``-th base (channel ``c``) when its ``p``-th base
        is changed from base ``o`` to base ``m`` (ACGT order): METHOD.md's
        ``(n_sources, 4, 4, resp_len, 4)`` per window and task. NaN where undefined:
        ``o`` not the observed base, ``m == o``, a position holding N, and ``i == p``
        (the source's own change is no interaction).
    ``summary`` : ``(T, N, W, W)`` float32, the L × L summary METHOD.md defines,
        ``summary[t, n, p, i] = max_{m ≠ o} Σ_c |Δ[i, c]|`` (with the defaults): for each
        source base ``p`` and target base ``i``, the largest response over the 3
        substitutions of ``p``. NaN on the diagonal and for a ``p`` holding N.
    ``positions`` : ``(W,)`` in-window positions of the sub-window.
    """
    if delta.ndim == 3:
        delta = delta[None]
    T = delta.shape[0]
    W = int(width)
    full = np.full((T, n_windows, W, 4, 4, W, 4), np.nan, np.float32)
    base_idx = {b: i for i, b in enumerate(ALPHABET)}
    pos = key["pos"].to_numpy(np.int64) if len(key) else np.zeros(0, np.int64)
    keep = (pos >= start) & (pos < start + W)
    if len(key):
        keep &= key["orig_base"].isin(list(ALPHABET)).to_numpy()
    k = key[keep]
    if len(k):
        seq = k["seq"].to_numpy(np.int64)
        p = k["pos"].to_numpy(np.int64) - start
        o = k["orig_base"].map(base_idx).to_numpy(np.int64)
        m = k["new_base"].map(base_idx).to_numpy(np.int64)
        full[:, seq, p, o, m] = delta[:, k["mutant"].to_numpy(np.int64), start:start + W]
    diag = np.arange(W)
    full[:, :, diag, :, :, diag] = np.nan
    track = position_track(full, absolute=absolute, channels=channels)  # (T, N, W, 4, 4, W)
    best = np.where(np.isnan(track), -np.inf, track).max(axis=(3, 4))
    summary = np.where(np.isneginf(best), np.nan, best).astype(np.float32)
    return {"delta": full, "summary": summary, "positions": np.arange(start, start + W, dtype=np.int64)}


def labelled_matrix(sources, targets, scores, *, source_order=None, target_order=None):
    """Pivot (source label, target label, score) triples into a sources × targets matrix.

    Returns ``(matrix (n_src, n_tgt) with NaN where untested, source_labels,
    target_labels)``, labels in order of first appearance unless ``source_order`` /
    ``target_order`` (lists holding every label) give it.
    """
    src = list(source_order) if source_order is not None else list(dict.fromkeys(sources))
    tgt = list(target_order) if target_order is not None else list(dict.fromkeys(targets))
    si = {n: i for i, n in enumerate(src)}
    ti = {n: i for i, n in enumerate(tgt)}
    M = np.full((len(src), len(tgt)), np.nan, np.float32)
    for s, t, v in zip(sources, targets, scores):
        M[si[s], ti[t]] = v
    return M, src, tgt


def element_labels(names, starts) -> list[str]:
    """Labels ``name@start`` (in-window start) naming elements in maps and plots."""
    return [f"{n}@{s}" for n, s in zip(names, starts)]


def by_position(names, starts) -> list[str]:
    """The distinct labels of :func:`element_labels`, ordered by start (then name), so a
    window's map has its sources and targets in the same order and its diagonal aligned."""
    return [f"{n}@{s}" for s, n in sorted(set(zip((int(s) for s in starts), names)))]


def map_matrix(fis: pd.DataFrame, seq, task=None):
    """One sequence's per-element FIS rows as a sources × targets matrix (see
    :func:`labelled_matrix`), elements labelled ``name@start``."""
    f = fis[fis["seq"] == seq]
    if task is not None:
        f = f[f["task"] == task]
    return labelled_matrix(element_labels(f["mut_name"], f["mut_start"]),
                           element_labels(f["resp_name"], f["resp_start"]), f["score"].to_numpy())

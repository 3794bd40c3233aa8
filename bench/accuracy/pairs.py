"""Ground-truth element pairs: the planted motif instances as sources and targets.

Every planted instance of a sequence is a source, and every *other* instance of the same
sequence is one of its targets (all ordered pairs). Coordinates are 0-based, half-open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dfim.specs import MutationSpecs, Source

PAIR_COLUMNS = ["seq", "orig_seq", "src", "tgt", "src_start", "src_end", "tgt_start", "tgt_end",
                "pair", "gap", "is_ab"]


def instance_specs(instances: pd.DataFrame, rows) -> tuple[MutationSpecs, pd.DataFrame, np.ndarray]:
    """Mutation specs and pair table for the sequences ``rows`` of a simulated set.

    Parameters
    ----------
    instances : the ``SimulatedSet.instances`` table with a ``label`` column (A, B, ...).
    rows : ``(k,)`` indices of the sequences to use (e.g. held-out positives).
        Sequences with fewer than two instances have no pair and are dropped.

    Returns
    -------
    specs : one :class:`dfim.specs.Source` per instance; ``seq`` indexes ``used``.
    pairs : one row per ordered pair (source, target), columns :data:`PAIR_COLUMNS`;
        ``pair`` is the unordered label pair (``"A-B"``), ``gap`` the bases between the
        two sites, ``is_ab`` whether it is an A–B pair (either direction).
    used : ``(m,)`` indices (into the simulated set) of the sequences kept, in order.
    """
    by_seq = {s: g for s, g in instances.groupby("seq", sort=True)}
    specs, pairs, used = [], [], []
    for r in rows:
        g = by_seq.get(int(r))
        if g is None or len(g) < 2:
            continue
        i = len(used)
        used.append(int(r))
        els = list(g[["label", "start", "end"]].itertuples(index=False, name=None))
        for k, (lab, s, e) in enumerate(els):
            others = [el for j, el in enumerate(els) if j != k]
            specs.append(Source(
                key=f"seq{r}:{lab}:{s}", seq=i, mut_start=int(s), mut_end=int(e), mut_name=lab,
                resp_start=tuple(int(o[1]) for o in others), resp_end=tuple(int(o[2]) for o in others),
                resp_names=tuple(o[0] for o in others)))
            for lt, st, et in others:
                gap = max(s, st) - min(e, et)
                pairs.append((i, int(r), lab, lt, int(s), int(e), int(st), int(et),
                              "-".join(sorted((lab, lt))), int(gap), {lab, lt} == {"A", "B"}))
    return MutationSpecs(specs), pd.DataFrame(pairs, columns=PAIR_COLUMNS), np.array(used, dtype=np.int64)


def align_scores(pairs: pd.DataFrame, fis: pd.DataFrame, column: str = "score") -> np.ndarray:
    """``(n_pairs,)`` FIS of each row of ``pairs`` from per-element FIS rows (one task)."""
    key = ["seq", "mut_start", "resp_start"]
    f = fis[key + [column]].rename(columns={"mut_start": "src_start", "resp_start": "tgt_start"})
    merged = pairs[["seq", "src_start", "tgt_start"]].merge(f, on=["seq", "src_start", "tgt_start"],
                                                          how="left", validate="one_to_one")
    out = merged[column].to_numpy(float)
    if np.isnan(out).any():
        raise RuntimeError(f"{int(np.isnan(out).sum())} element pairs have no FIS row")
    return out


def random_element_specs(n_seqs: int, length: int, n_elements: int, width: int, seed: int) -> MutationSpecs:
    """Specs for random, non-overlapping elements of width ``width`` in ``n_seqs`` sequences.

    Used by the pure-noise control: ``n_elements`` elements per sequence, all ordered pairs.
    """
    specs = []
    for i in range(n_seqs):
        rng = np.random.default_rng([seed, i])
        slots = np.sort(rng.choice(length // width, size=n_elements, replace=False))
        starts = [int(s * width) for s in slots]
        for k, s in enumerate(starts):
            others = [t for j, t in enumerate(starts) if j != k]
            specs.append(Source(key=f"noise{i}:{s}", seq=i, mut_start=s, mut_end=s + width, mut_name=f"e{s}",
                                resp_start=tuple(others), resp_end=tuple(t + width for t in others),
                                resp_names=tuple(f"e{t}" for t in others)))
    return MutationSpecs(specs)

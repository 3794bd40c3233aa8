"""The model-level epistasis baseline from double mutants (ISM, no attributions).

For elements ``a`` and ``b`` of a sequence ``X``:

    epistasis(a, b) = f(X) - f(X_a) - f(X_b) + f(X_ab)

with ``f`` the model's pre-activation logit and ``X_a`` the sequence with element ``a``
replaced by the soft GC background (the same ``gc`` perturbation DFIM uses). It is
symmetric in ``a`` and ``b`` and exactly 0 for a model that is additive in the logit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dfim.mutants import generate_mutants_and_key
from dfim.sequences import gc_background


def double_mutant_epistasis(model, X: np.ndarray, specs, pairs: pd.DataFrame, *, gc: float = 0.46,
                            task: int = 0, batch_size: int = 256) -> np.ndarray:
    """``(n_pairs,)`` epistasis of every row of ``pairs`` (see :func:`pairs.instance_specs`).

    model : :class:`dfim.models.SequenceModel`; X : ``(n, L, 4)`` the sequences ``specs``
    index; pairs : ordered pairs with ``seq``, ``src_start``, ``tgt_start`` (each unordered
    pair is evaluated once and shared by both directions).
    """
    singles, key = generate_mutants_and_key(X, specs, strategy="gc", gc=gc)
    single_of = {(int(s), int(a)): m for s, a, m in key[["seq", "mut_start", "mutant"]].itertuples(index=False)}
    ends = {(int(s), int(a)): int(b) for s, a, b in key[["seq", "mut_start", "mut_end"]].itertuples(index=False)}
    background = gc_background(gc)
    unordered = sorted({(int(s), min(a, b), max(a, b))
                        for s, a, b in pairs[["seq", "src_start", "tgt_start"]].itertuples(index=False)})
    doubles = np.empty((len(unordered), X.shape[1], 4), np.float32)
    for j, (s, a, b) in enumerate(unordered):
        x = singles[single_of[(s, a)]].copy()
        x[b : ends[(s, b)]] = background
        doubles[j] = x
    f_x = model.logits(X, batch_size)[:, task]
    f_1 = model.logits(singles, batch_size)[:, task]
    f_2 = model.logits(doubles, batch_size)[:, task] if len(doubles) else np.zeros(0, np.float32)
    epi = {}
    for j, (s, a, b) in enumerate(unordered):
        epi[(s, a, b)] = float(f_x[s] - f_1[single_of[(s, a)]] - f_1[single_of[(s, b)]] + f_2[j])
    return np.array([epi[(int(s), min(a, b), max(a, b))]
                     for s, a, b in pairs[["seq", "src_start", "tgt_start"]].itertuples(index=False)])

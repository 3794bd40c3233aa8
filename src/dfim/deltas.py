"""Delta profiles: how the importance of every position changes when a source is perturbed.

``Δ_{s→t} = A(X)[a:b] - A(X_s)[a:b]`` for target ``t = [a, b)``, with positions of
``t`` inside the source set to 0 (the source's own change is not an interaction).
The full-length delta ``A(X) - A(X_s)`` with the *source interval itself* zeroed is
kept per mutant; any target's delta profile is a slice of it. That masks exactly the
true overlap of source and target, whatever their positions (the 2018 code sliced
``[mut_start - resp_start : mut_end - resp_end]``, right only for a target spanning
the whole sequence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def compute_delta_profiles(orig_scores: np.ndarray, mut_scores: np.ndarray, key: pd.DataFrame) -> np.ndarray:
    """Source-masked full-length delta profiles, one per mutant.

    Parameters
    ----------
    orig_scores : ``(..., n, L, 4)`` scores of the original sequences (e.g. actual
        contributions; a leading task axis is allowed).
    mut_scores : ``(..., m, L, 4)`` scores of the mutants, same leading axes.
    key : mutant key from :func:`dfim.mutants.generate_mutants_and_key` (columns
        ``seq``, ``mut_start``, ``mut_end``, in mutant order).

    Returns
    -------
    ``(..., m, L, 4)`` float32: ``orig[seq] - mut`` with ``[mut_start, mut_end)`` set to 0.
    """
    seq = key["seq"].to_numpy()
    if mut_scores.shape[-3] != len(seq):
        raise ValueError(f"{mut_scores.shape[-3]} mutant score rows but the key has {len(seq)} mutants")
    # in place, one array: a shard's null holds ~75 mutants per window, and each copy of their
    # profiles is ~1.3 MB per window on 1-kb windows
    delta = np.take(orig_scores, seq, axis=-3).astype(np.result_type(orig_scores, mut_scores), copy=False)
    np.subtract(delta, mut_scores, out=delta)
    delta = delta.astype(np.float32, copy=False)
    L = delta.shape[-2]
    pos = np.arange(L)
    inside = (pos[None, :] >= key["mut_start"].to_numpy()[:, None]) & (pos[None, :] < key["mut_end"].to_numpy()[:, None])
    delta[..., inside, :] = 0.0
    return delta


def target_delta(delta: np.ndarray, mutant: int, start: int, end: int) -> np.ndarray:
    """``Δ_{s→t}`` of one mutant for target ``[start, end)``: ``(..., end-start, 4)``."""
    return delta[..., mutant, start:end, :]

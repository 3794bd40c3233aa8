"""The null: the same mutation specs applied to shuffled copies of each sequence.

Each sequence gets ``k`` seeded shuffles (dinucleotide-preserving by default); the
spec rows of sequence ``i`` are repeated for each shuffle ``j`` at the same
coordinates, pointing at null sequence ``i * k + j``. Every FIS is then recomputed on
the null sequences exactly as on the originals.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .sequences import shuffled_copies
from .specs import MutationSpecs


def null_sequences(X: np.ndarray, k: int, *, seed: int = 0, kind: str = "dinuc", ids=None) -> np.ndarray:
    """``(n * k, L, 4)`` shuffled copies of ``X (n, L, 4)``, shuffle ``j`` of ``i`` at ``i*k + j``."""
    if k < 1:
        raise ValueError(f"the null needs at least 1 shuffle per sequence, got {k}")
    S = shuffled_copies(X, k, seed=seed, kind=kind, ids=ids)
    return S.reshape((-1,) + X.shape[1:])


def null_specs(specs: MutationSpecs, k: int, seq_index=None) -> MutationSpecs:
    """Specs for :func:`null_sequences`: each row repeated ``k`` times, keys suffixed ``/null{j}``.

    ``seq_index`` gives each row's integer sequence index (default ``int(spec.seq)``).
    """
    idx = specs.seq_indices() if seq_index is None else list(seq_index)
    rows = [
        replace(r, key=f"{r.key}/null{j}", seq=i * k + j)
        for r, i in zip(specs, idx)
        for j in range(k)
    ]
    return MutationSpecs(rows)


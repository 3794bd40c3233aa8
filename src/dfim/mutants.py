"""Perturbing source elements: the mutant array and its key.

Strategies (METHOD.md, "Perturbing a source element"): ``gc`` (soft background of GC
fraction ``gc``, the published default), ``zero``, ``shuffle`` (the element's own
bases shuffled), ``random`` (i.i.d. bases at GC fraction ``gc``), ``alt`` (the spec's
alternate allele) and ``per_base`` (3 mutants per position: each other base).
Random strategies draw from a generator seeded by ``(seed, crc32(spec key))`` so a
source gets the same mutant whichever shard it is computed in.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from .sequences import ALPHABET, gc_background, one_hot, to_codes
from .specs import MutationSpecs, SpecError

STRATEGIES = ("gc", "zero", "shuffle", "random", "alt", "per_base")

KEY_COLUMNS = ("mutant", "spec", "key", "seq", "mut_name", "mut_start", "mut_end", "pos", "orig_base", "new_base")


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(key.encode())])


def transition_alleles(x: np.ndarray) -> str:
    """The transition of each base of one-hot ``x (w, 4)`` (A<->G, C<->T; N -> A)."""
    codes = to_codes(x)
    return "".join(ALPHABET[(c + 2) % 4] if c < 4 else "A" for c in codes)


def generate_mutants_and_key(X: np.ndarray, specs: MutationSpecs, *, strategy: str = "gc",
                             gc: float = 0.46, seed: int = 0, seq_ids=None):
    """Make one mutant per source (``3 × length`` per source for ``per_base``).

    Parameters
    ----------
    X : ``(n, L, 4)`` float32 original sequences.
    specs : the mutation specs; ``spec.seq`` indexes ``X`` (or ``seq_ids``).
    strategy : one of ``STRATEGIES``.
    seq_ids : optional ids of the rows of ``X`` when specs name sequences by id.

    Returns
    -------
    mutants : ``(m, L, 4)`` float32.
    key : DataFrame with one row per mutant and columns ``KEY_COLUMNS``: ``spec`` is the
        row of ``specs``, ``seq`` the row of ``X``; ``pos``, ``orig_base`` and
        ``new_base`` describe the substitution for ``per_base`` (else -1 and ``""``).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown mutation strategy {strategy!r}; choose one of {list(STRATEGIES)}")
    X = np.asarray(X, np.float32)
    if X.ndim != 3 or X.shape[2] != 4:
        raise ValueError(f"sequences must be a (n, L, 4) array, got shape {X.shape}")
    specs.validate([X.shape[1]] * len(X) if seq_ids is None else {s: X.shape[1] for s in seq_ids})
    seq_idx = specs.seq_indices(seq_ids)
    background = gc_background(gc)
    mutants, rows = [], []
    for j, (spec, i) in enumerate(zip(specs, seq_idx)):
        s, e = spec.mut_start, spec.mut_end
        base = dict(spec=j, key=spec.key, seq=i, mut_name=spec.mut_name, mut_start=s, mut_end=e)
        if strategy == "per_base":
            codes = to_codes(X[i, s:e])
            for p in range(s, e):
                o = int(codes[p - s])
                for m in range(4):
                    if m == o:
                        continue
                    x = X[i].copy()
                    x[p] = 0.0
                    x[p, m] = 1.0
                    mutants.append(x)
                    rows.append(base | dict(pos=p, orig_base=ALPHABET[o] if o < 4 else "N", new_base=ALPHABET[m]))
            continue
        x = X[i].copy()
        if strategy == "gc":
            x[s:e] = background
        elif strategy == "zero":
            x[s:e] = 0.0
        elif strategy == "shuffle":
            x[s:e] = x[s:e][_rng(seed, spec.key).permutation(e - s)]
        elif strategy == "random":
            x[s:e] = np.eye(4, dtype=np.float32)[_rng(seed, spec.key).choice(4, size=e - s, p=background)]
        elif strategy == "alt":
            if not spec.alt:
                raise SpecError(f"mutation spec {spec.key!r}: strategy 'alt' needs an alternate allele (alt column)")
            x[s:e] = one_hot(spec.alt)
        mutants.append(x)
        rows.append(base | dict(pos=-1, orig_base="", new_base=""))
    L = X.shape[1]
    arr = np.stack(mutants).astype(np.float32) if mutants else np.zeros((0, L, 4), np.float32)
    key = pd.DataFrame(rows, columns=[c for c in KEY_COLUMNS if c != "mutant"])
    key.insert(0, "mutant", np.arange(len(key)))
    return arr, key

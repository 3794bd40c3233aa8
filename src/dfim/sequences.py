"""One-hot DNA sequences: encoding, decoding, reverse complement and seeded shuffles.

Conventions used across the package:

* a sequence is a ``(L, 4)`` float32 array, columns in the order A, C, G, T;
* ``N`` and every other IUPAC ambiguity code is an all-zero row;
* lower-case (soft-masked) bases are treated as upper-case;
* a batch of sequences is ``(n, L, 4)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHABET = "ACGT"

_CODE = np.full(256, 4, dtype=np.int8)  # 4 = "no base" (N or any IUPAC code)
for _i, _b in enumerate(ALPHABET):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_EYE5 = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])


def _codes(seq: str) -> np.ndarray:
    """Integer codes 0..3 for A, C, G, T and 4 for anything else; shape ``(L,)``."""
    return _CODE[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]


def one_hot(seqs: str | Sequence[str]) -> np.ndarray:
    """One-hot encode one sequence ``(L, 4)`` or equal-length sequences ``(n, L, 4)``."""
    if isinstance(seqs, str):
        return _EYE5[_codes(seqs)]
    seqs = list(seqs)
    if not seqs:
        raise ValueError("one_hot: no sequences given")
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise ValueError(
            f"one_hot: sequences must share one length to be stacked, got lengths {sorted(lengths)}"
        )
    return _EYE5[np.stack([_codes(s) for s in seqs])]


def decode(X: np.ndarray) -> str | list[str]:
    """Inverse of :func:`one_hot`. Rows that are not one-hot decode to ``N``.

    X: ``(L, 4)`` gives a string, ``(n, L, 4)`` a list of strings.
    """
    X = np.asarray(X)
    if X.ndim == 3:
        return [decode(x) for x in X]
    if X.ndim != 2 or X.shape[1] != 4:
        raise ValueError(f"decode: expected shape (L, 4) or (n, L, 4), got {X.shape}")
    letters = np.array(list(ALPHABET + "N"))
    is_base = np.isclose(X.max(axis=1), 1.0) & np.isclose(X.sum(axis=1), 1.0)
    idx = np.where(is_base, X.argmax(axis=1), 4)
    return "".join(letters[idx])


def reverse_complement(X: np.ndarray) -> np.ndarray:
    """Reverse complement of ``(..., L, 4)`` one-hot arrays (A<->T, C<->G, reversed)."""
    return np.asarray(X)[..., ::-1, ::-1]


def to_codes(X: np.ndarray) -> np.ndarray:
    """``(L, 4)`` one-hot to integer codes ``(L,)`` with 4 for zero (N) rows."""
    X = np.asarray(X)
    return np.where(X.sum(axis=-1) > 0, X.argmax(axis=-1), 4)


def shuffle(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plain shuffle of the rows of one ``(L, 4)`` sequence (keeps base counts only)."""
    return np.asarray(X)[rng.permutation(len(X))]


def dinuc_shuffle(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shuffle one ``(L, 4)`` sequence keeping every dinucleotide count.

    N rows are a fifth symbol, so dinucleotides that involve N are kept too. Uses
    the Altschul–Erickson construction: a random Eulerian walk over the graph whose
    edges are the sequence's dinucleotides, with a random last-exit spanning tree
    so every walk that uses all edges is reachable.
    """
    codes = to_codes(X)
    n = len(codes)
    if n < 3:
        return np.array(X, copy=True)
    tokens = np.unique(codes)
    # successor lists: for each symbol, the symbols that follow it, in order
    succ = {t: codes[1:][codes[:-1] == t].tolist() for t in tokens}
    last = codes[-1]
    # last-exit edge of each vertex (except the final symbol) from a random tree
    # rooted at the final symbol: a walk backwards (Wilson-style via reversal of
    # a random walk on the reversed graph is not needed; Altschul–Erickson pick a
    # random edge per vertex and reject if the choices contain a cycle).
    while True:
        exit_edge = {}
        for t in tokens:
            if t == last or not succ[t]:
                continue
            exit_edge[t] = succ[t][rng.integers(len(succ[t]))]
        if _reaches_root(exit_edge, last):
            break
    order = {}
    for t in tokens:
        edges = list(succ[t])
        if t in exit_edge:
            edges.remove(exit_edge[t])
            rng.shuffle(edges)
            edges.append(exit_edge[t])
        else:
            rng.shuffle(edges)
        order[t] = edges
    pos = {t: 0 for t in tokens}
    out = np.empty(n, dtype=codes.dtype)
    out[0] = codes[0]
    for i in range(1, n):
        prev = out[i - 1]
        out[i] = order[prev][pos[prev]]
        pos[prev] += 1
    return _EYE5[out]


def _reaches_root(exit_edge: dict, root) -> bool:
    """True when following last-exit edges from every vertex ends at ``root`` (no cycle)."""
    for start in exit_edge:
        seen = set()
        v = start
        while v != root:
            if v in seen or v not in exit_edge:
                return False
            seen.add(v)
            v = exit_edge[v]
    return True


def shuffled_copies(
    X: np.ndarray,
    k: int,
    seed: int,
    kind: str = "dinuc",
    ids: Sequence[int] | None = None,
) -> np.ndarray:
    """``k`` seeded shuffles of each sequence.

    X: ``(n, L, 4)``; returns ``(n, k, L, 4)`` float32. ``kind`` is ``"dinuc"`` or
    ``"plain"``. The copies of sequence ``i`` depend only on ``(seed, ids[i])``
    (``ids`` defaults to ``0..n-1``); pass global window indices so that a shard
    draws the same shuffles as a run over all windows at once.
    """
    shufflers = {"dinuc": dinuc_shuffle, "plain": shuffle}
    if kind not in shufflers:
        raise ValueError(f"unknown shuffle kind {kind!r}; choose one of {sorted(shufflers)}")
    X = np.asarray(X, dtype=np.float32)
    ids = np.arange(len(X)) if ids is None else np.asarray(ids, dtype=np.int64)
    if len(ids) != len(X):
        raise ValueError(f"shuffled_copies: {len(ids)} ids for {len(X)} sequences")
    out = np.empty((X.shape[0], k) + X.shape[1:], dtype=np.float32)
    for i, x in enumerate(X):
        rng = np.random.default_rng([seed, int(ids[i])])
        for j in range(k):
            out[i, j] = shufflers[kind](x, rng)
    return out


def gc_background(gc: float = 0.46) -> np.ndarray:
    """The soft background row ``[(1-g)/2, g/2, g/2, (1-g)/2]`` as a ``(4,)`` array."""
    if not 0.0 <= gc <= 1.0:
        raise ValueError(f"GC fraction must be within [0, 1], got {gc}")
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], dtype=np.float32)

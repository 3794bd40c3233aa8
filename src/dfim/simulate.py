"""Simulated regulatory sequences with known motif grammars (the CNN that learns them
is in :mod:`dfim.training`).

Everything here is driven by explicit seeds: there is no module-level random state.
A simulated set draws sequence ``i`` from its own generator
``numpy.random.default_rng([*seed, i])``, so the first ``k`` sequences of a set of
``n > k`` are the same as a set of ``k`` drawn with the same seed.

Motifs come from the JASPAR SQLite databases that ship inside the ``pyjaspar``
package, so :func:`jaspar_motif` works offline.

Grammars understood by :func:`simulate_sequences` (``motifs`` holds two motifs,
called A and B below):

``"and"``
    A and B are each embedded with probability ``p_present``, independently;
    ``label = 1`` iff both are present.
``"additive"``
    A and B are each embedded with probability ``p_present``;
    ``label ~ Bernoulli(sigmoid(weight * (n_A + n_B) - bias))`` so the two motifs
    add up in log-odds and do not interact there.
``"spacing"``
    as ``"and"``, but the pair only counts when the gap between the two instances
    (bases strictly between them) is at most ``max_gap``; when both are present
    they are placed far apart (gap > ``max_gap``) with probability ``p_far``.

Distractor motifs are each embedded with probability ``p_distractor`` in every
sequence, independent of the label. No two motif instances overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .motifs import Motif, background_frequencies, reverse_complement_str
from .sequences import ALPHABET, one_hot

GRAMMARS = ("and", "additive", "spacing")

INSTANCE_COLUMNS = ["seq", "motif", "motif_id", "start", "end", "strand", "role"]


# ------------------------------------------------------------------------ simulation


@dataclass
class SimulatedSet:
    """Sequences simulated under a grammar.

    Attributes
    ----------
    seqs : list of str
        ``n`` upper-case sequences of length ``L``.
    labels : np.ndarray
        ``(n,)`` int64 labels in {0, 1}.
    instances : pandas.DataFrame
        One row per embedded motif instance, sorted by ``seq`` then ``start``; columns
        ``seq`` (index into ``seqs``), ``motif`` (name), ``motif_id``, ``start``,
        ``end`` (0-based, half-open), ``strand`` (``"+"`` if the PWM reads left to
        right, ``"-"`` if the site is reverse complemented) and ``role``
        (``"A"``/``"B"`` for the grammar motifs, ``"distractor"``).
    grammar : str
    motifs : tuple of Motif
        The two grammar motifs (A, B).
    distractors : tuple of Motif
    """

    seqs: list[str]
    labels: np.ndarray
    instances: pd.DataFrame
    grammar: str = "and"
    motifs: tuple = field(default_factory=tuple)
    distractors: tuple = field(default_factory=tuple)

    @property
    def X(self) -> np.ndarray:
        """``(n, L, 4)`` float32 one-hot encoding of :attr:`seqs`."""
        return one_hot(self.seqs)

    def present(self, role: str) -> np.ndarray:
        """``(n,)`` bool: whether each sequence holds an instance with this role (``"A"``/``"B"``)."""
        out = np.zeros(len(self.seqs), dtype=bool)
        out[self.instances.loc[self.instances["role"] == role, "seq"].to_numpy(dtype=np.int64)] = True
        return out


class _NoRoom(Exception):
    pass


def _background(rng: np.random.Generator, length: int, gc: float) -> np.ndarray:
    """``(length,)`` uint8 codes 0..3 drawn i.i.d. with GC fraction ``gc``."""
    return rng.choice(4, size=length, p=background_frequencies(gc)).astype(np.uint8)


def _free_starts(occupied: np.ndarray, width: int) -> np.ndarray:
    """Start positions ``s`` with ``occupied[s:s+width]`` all False."""
    L = len(occupied)
    if width > L:
        return np.empty(0, dtype=np.int64)
    c = np.concatenate([[0], np.cumsum(occupied)])
    s = np.arange(L - width + 1)
    return s[c[s + width] - c[s] == 0]


def _place_one(rng, occupied, width) -> int:
    starts = _free_starts(occupied, width)
    if len(starts) == 0:
        raise _NoRoom
    s = int(starts[rng.integers(len(starts))])
    occupied[s : s + width] = True
    return s


def _site(rng: np.random.Generator, motif: Motif, min_frac: float, gc: float) -> tuple[str, str]:
    """A PWM draw and its strand; a ``"-"`` site is reverse complemented."""
    min_score = min_frac * motif.max_score(gc) if min_frac > 0 else None
    site = motif.sample(rng, min_score=min_score, gc=gc)
    if rng.random() < 0.5:
        return site, "+"
    return reverse_complement_str(site), "-"


def _gap(s1: int, w1: int, s2: int, w2: int) -> int:
    """Bases strictly between two non-overlapping intervals (negative when they overlap)."""
    return max(s1, s2) - min(s1 + w1, s2 + w2)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def _as_seed_list(seed) -> list[int]:
    if isinstance(seed, (int, np.integer)):
        return [int(seed)]
    return [int(s) for s in seed]


def simulate_sequences(
    n: int,
    length: int,
    grammar: str,
    motifs: Sequence[Motif],
    seed: int | Sequence[int],
    gc: float = 0.46,
    distractors: Sequence[Motif] = (),
    p_present: float = 0.5,
    p_distractor: float = 0.5,
    label_noise: float = 0.0,
    max_gap: int = 20,
    p_far: float = 0.5,
    weight: float = 3.0,
    bias: float = 3.0,
    min_site_frac: float = 0.0,
    max_tries: int = 100,
) -> SimulatedSet:
    """Simulate ``n`` sequences of length ``length`` under a motif grammar.

    Parameters
    ----------
    n, length : int
        Number and length ``L`` of the sequences.
    grammar : {"and", "additive", "spacing"}
        See the module docstring.
    motifs : sequence of two Motif
        The grammar's motifs A and B (C and D for ``"additive"``).
    seed : int or sequence of int
        Sequence ``i`` is drawn from ``numpy.random.default_rng([*seed, i])``.
    gc : float
        GC fraction of the i.i.d. background.
    distractors : sequence of Motif
        Each embedded with probability ``p_distractor`` in every sequence, independent of the label.
    p_present : float
        Probability that each grammar motif is embedded (independently).
    p_distractor : float
    label_noise : float
        Probability of flipping each label after it is computed (0 keeps the rule exact).
    max_gap : int
        ``"spacing"``: largest gap (bases between the two instances) for which the pair counts.
    p_far : float
        ``"spacing"``: probability that a sequence holding both motifs has them further apart than ``max_gap``.
    weight, bias : float
        ``"additive"``: ``P(label = 1) = sigmoid(weight * (n_A + n_B) - bias)``.
    min_site_frac : float
        Instances are PWM draws conditioned on a log2-odds score (against the ``gc``
        background) of at least ``min_site_frac`` times the motif's best score; 0
        keeps plain PWM draws, which for low-information motifs are often no
        stronger than chance matches in the background.
    max_tries : int
        Redraws of a sequence's layout when the instances do not fit without overlapping.

    Returns
    -------
    SimulatedSet
        ``seqs`` (n strings of length L), ``labels`` ``(n,)`` and the ``instances`` table.
    """
    if grammar not in GRAMMARS:
        raise ValueError(f"unknown grammar {grammar!r}; choose one of {GRAMMARS}")
    motifs = tuple(motifs)
    distractors = tuple(distractors)
    if len(motifs) != 2:
        raise ValueError(f"grammar {grammar!r} needs exactly two motifs, got {len(motifs)}")
    for name, p in [("p_present", p_present), ("p_distractor", p_distractor),
                    ("label_noise", label_noise), ("p_far", p_far), ("min_site_frac", min_site_frac)]:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be within [0, 1], got {p}")
    A, B = motifs
    if grammar == "spacing" and A.width + B.width + max_gap + 1 > length:
        raise ValueError(
            f"spacing grammar: length {length} is too short to place {A.id} and {B.id} "
            f"more than {max_gap} bp apart"
        )
    seed_list = _as_seed_list(seed)
    seqs: list[str] = []
    labels = np.zeros(n, dtype=np.int64)
    rows: list[tuple] = []
    for i in range(n):
        rng = np.random.default_rng(seed_list + [i])
        codes = _background(rng, length, gc)
        has = rng.random(2) < p_present
        has_d = rng.random(len(distractors)) < p_distractor
        far = bool(rng.random() < p_far)
        u_label = rng.random(2)  # [0]: Bernoulli draw ("additive"), [1]: label noise
        for _ in range(max_tries):
            try:
                placed = _layout(rng, length, grammar, A, B, has, far, max_gap, distractors, has_d)
                break
            except _NoRoom:
                continue
        else:
            raise ValueError(
                f"simulate_sequences: could not fit the motifs of sequence {i} into {length} bp "
                f"without overlaps after {max_tries} tries"
            )
        seq = [ALPHABET[c] for c in codes]
        for motif, role, start in placed:
            site, strand = _site(rng, motif, min_site_frac, gc)
            seq[start : start + motif.width] = site
            rows.append((i, motif.name, motif.id, start, start + motif.width, strand, role))
        seqs.append("".join(seq))

        if grammar == "and":
            y = bool(has[0] and has[1])
        elif grammar == "spacing":
            y = False
            if has[0] and has[1]:
                (sa,) = [s for m, r, s in placed if r == "A"]
                (sb,) = [s for m, r, s in placed if r == "B"]
                y = _gap(sa, A.width, sb, B.width) <= max_gap
        else:  # additive
            y = bool(u_label[0] < _sigmoid(weight * (int(has[0]) + int(has[1])) - bias))
        if u_label[1] < label_noise:
            y = not y
        labels[i] = int(y)

    inst = pd.DataFrame(rows, columns=INSTANCE_COLUMNS)
    inst = inst.astype({"seq": np.int64, "start": np.int64, "end": np.int64})
    inst = inst.sort_values(["seq", "start"], kind="stable").reset_index(drop=True)
    return SimulatedSet(seqs=seqs, labels=labels, instances=inst, grammar=grammar,
                        motifs=motifs, distractors=distractors)


def _layout(rng, length, grammar, A, B, has, far, max_gap, distractors, has_d):
    """Non-overlapping starts: list of ``(motif, role, start)``; raises ``_NoRoom``."""
    occupied = np.zeros(length, dtype=bool)
    placed = []
    if grammar == "spacing" and has[0] and has[1]:
        first, second = ((A, "A"), (B, "B")) if rng.random() < 0.5 else ((B, "B"), (A, "A"))
        w1, w2 = first[0].width, second[0].width
        if far:
            gap = int(rng.integers(max_gap + 1, length - w1 - w2 + 1))
        else:
            gap = int(rng.integers(0, min(max_gap, length - w1 - w2) + 1))
        s1 = int(rng.integers(0, length - (w1 + gap + w2) + 1))
        s2 = s1 + w1 + gap
        occupied[s1 : s1 + w1] = True
        occupied[s2 : s2 + w2] = True
        placed += [(first[0], first[1], s1), (second[0], second[1], s2)]
    else:
        for motif, role, h in ((A, "A", has[0]), (B, "B", has[1])):
            if h:
                placed.append((motif, role, _place_one(rng, occupied, motif.width)))
    for motif, h in zip(distractors, has_d):
        if h:
            placed.append((motif, "distractor", _place_one(rng, occupied, motif.width)))
    return placed

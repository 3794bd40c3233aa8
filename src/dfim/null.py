"""The null: what a FIS looks like when the source does not interact with the target.

Two kinds (config key ``null.kind``):

``random_source`` (the default)
    For every (source, target) pair of a window, the ``K`` element-free segments of the
    source's width (on a ``stride``-bp grid) whose gap to the target is closest to the
    source's are perturbed in the same window, in the same way as the source. Their FIS
    on that target is what a source at that distance that is no feature gives: the
    target keeps its real importance, and the originals' scores are shared with the
    observed maps (``K`` segment mutants per distinct need, not ``S × (1 + n)`` shuffled
    sequences). :func:`dfim.stats.excess_pvalues` turns them into p-values.
``dinuc`` / ``plain`` (the 2018 null)
    Each window gets ``k`` seeded shuffles (dinucleotide-preserving or plain); the spec
    rows of window ``i`` are repeated for each shuffle ``j`` at the same coordinates,
    pointing at null sequence ``i * k + j``, and every FIS is recomputed there. Such
    windows carry almost no importance, so on its own this null calls any target with a
    little real importance (bench/results/accuracy.md).

Mode ``per_base`` needs nothing special: its sources are 1-bp, so the random-source
segments are single element-free bases (outside the sub-window, nearest the source's
distance to the target), perturbed like the sources (strategy ``per_base``: each of their
3 substitutions) and scored the same way (the largest of the 3), so the null statistic is
the observed one at a base that is no element.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .sequences import shuffled_copies
from .specs import MutationSpecs, make_source

KINDS = ("random_source", "dinuc", "plain")
SEGMENT_COLUMNS = ("seq", "mut_start", "mut_end", "resp_start", "resp_end", "k", "segment_start")


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


def _gap(a0: int, a1: int, b0: int, b1: int) -> int:
    """Bases strictly between ``[a0, a1)`` and ``[b0, b1)`` (negative when they overlap)."""
    return max(a0, b0) - min(a1, b1)


def free_segments(elements, length: int, width: int, stride: int = 3) -> np.ndarray:
    """Starts of the ``width``-bp segments on a ``stride``-bp grid that share no base
    with any of ``elements`` (``(start, end)`` pairs) and fit in ``length``."""
    occupied = np.zeros(length + 1, np.int64)
    for a, b in elements:
        occupied[a:b] = 1
    c = np.concatenate([[0], np.cumsum(occupied[:length])])
    starts = np.arange(0, length - width + 1, stride)
    return starts[c[starts + width] - c[starts] == 0]


def segment_specs(specs: MutationSpecs, length: int, *, segments: int = 10, stride: int = 3):
    """The random-source null's segments for ``specs`` (``spec.seq`` an integer index).

    For every (source, target) pair, the ``segments`` element-free segments of the
    source's width whose gap to the target is closest to the source's (either side; ties
    to the lower start). A target that contains its source (e.g. the summit's window) may
    contain the segments too. The union per window becomes extra sources whose targets are the
    window's elements.

    Returns
    -------
    seg_specs : :class:`MutationSpecs` of the segments (keys ``<window>|null<width>@<start>``).
    table : one row per (pair, k), columns ``SEGMENT_COLUMNS``: the pair's source and
        target interval, the segment's rank ``k`` and its start.
    """
    by_window: dict = {}
    for spec in specs:
        by_window.setdefault(int(spec.seq), []).append(spec)
    out, rows = [], []
    for w, window_specs in by_window.items():
        names = {}
        for spec in window_specs:
            names[(spec.mut_start, spec.mut_end)] = spec.mut_name
            for a, b, n in zip(spec.resp_start, spec.resp_end, spec.resp_names):
                names.setdefault((a, b), n)
        elements = sorted(names)
        free = {}  # (width, target the segments may lie in) -> starts
        needed: dict = {}  # (segment start, width) -> the targets whose pairs picked it
        for spec in window_specs:
            s0, s1 = spec.mut_start, spec.mut_end
            width = s1 - s0
            for a, b in zip(spec.resp_start, spec.resp_end):
                if (a, b) == (s0, s1):
                    continue
                # a target holding its source (the summit's window) may hold the segments too
                inside = (a, b) if a <= s0 and s1 <= b else None
                if (width, inside) not in free:
                    free[(width, inside)] = free_segments([e for e in elements if e != inside], length, width, stride)
                starts = free[(width, inside)]
                if not len(starts):
                    continue
                gaps = np.maximum(starts, a) - np.minimum(starts + width, b)
                pick = starts[np.argsort(np.abs(gaps - _gap(s0, s1, a, b)), kind="stable")[:segments]]
                rows.extend((w, s0, s1, a, b, k, int(p)) for k, p in enumerate(pick))
                for p in pick:
                    needed.setdefault((int(p), width), set()).add((a, b))
        key = window_specs[0].key.split("|")[0]
        for (p, width), wanted in sorted(needed.items()):
            targets = [e for e in elements if e in wanted]
            out.append(make_source(key=f"{key}|null{width}@{p}", seq=w, mut_start=p, mut_end=p + width,
                                   mut_name=f"null{width}", resp_start=[a for a, _ in targets],
                                   resp_end=[b for _, b in targets], resp_names=[names[e] for e in targets],
                                   alt="", where=f"null segment {p}-{p + width} of window {key}"))
    return MutationSpecs(out), pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))


def segment_scores(table: pd.DataFrame, seg_fis: pd.DataFrame) -> pd.DataFrame:
    """``table`` (:func:`segment_specs`) with each segment's FIS on the pair's target, per task.

    seg_fis : FIS rows of the segment specs (``task``, ``seq``, ``mut_start``,
    ``resp_start``, ``resp_end``, ``score``). Returns the null table: columns ``task`` +
    ``SEGMENT_COLUMNS`` + ``score``.
    """
    look = pd.DataFrame({"task": seg_fis["task"].to_numpy(), "seq": seg_fis["seq"].to_numpy(int),
                         "segment_start": seg_fis["mut_start"].to_numpy(int),
                         "width": (seg_fis["mut_end"] - seg_fis["mut_start"]).to_numpy(int),
                         "resp_start": seg_fis["resp_start"].to_numpy(int), "resp_end": seg_fis["resp_end"].to_numpy(int),
                         "score": seg_fis["score"].to_numpy(float)})
    out = table.assign(width=table["mut_end"] - table["mut_start"]).merge(
        look, on=["seq", "segment_start", "width", "resp_start", "resp_end"], how="inner", sort=False)
    return out[["task"] + list(SEGMENT_COLUMNS) + ["score"]].sort_values(
        ["task", "seq", "mut_start", "resp_start", "k"], kind="stable").reset_index(drop=True)

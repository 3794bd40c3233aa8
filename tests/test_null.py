"""The random-source null's segments (dfim.null)."""

import numpy as np

from dfim import MutationSpecs
from dfim.null import free_segments, segment_specs

L = 200


def _specs():
    """Two windows: four elements in the first (every one a source, the others its targets), two in the second."""
    spec = {}
    sites = {0: [(10, 20), (50, 58), (120, 131), (170, 180)], 1: [(30, 40), (140, 150)]}
    for w, els in sites.items():
        for j, (s, e) in enumerate(els):
            others = [x for x in els if x != (s, e)]
            spec[f"w{w}|m{j}"] = {"seq": w, "mut_start": s, "mut_end": e, "mut_name": f"m{j}",
                                  "resp_start": [a for a, _ in others], "resp_end": [b for _, b in others],
                                  "resp_names": [f"t{a}" for a, _ in others]}
    return MutationSpecs.from_dict(spec), sites


def test_each_segment_targets_exactly_the_pairs_that_picked_it():
    """A segment is scored on the targets of the (source, target) pairs it is a null of, and on no other
    element: its FIS anywhere else is read by nothing, and each target costs the scorer a window."""
    specs, sites = _specs()
    segs, table = segment_specs(specs, L, segments=4)
    assert len(segs) and len(table)
    picked = {}
    for r in table.itertuples():
        picked.setdefault((r.seq, r.segment_start, r.mut_end - r.mut_start), set()).add((r.resp_start, r.resp_end))
    assert len(picked) == len(segs)
    n_targets = []
    for seg in segs:
        wanted = picked[(seg.seq, seg.mut_start, seg.mut_end - seg.mut_start)]
        assert set(zip(seg.resp_start, seg.resp_end)) == wanted
        assert list(seg.resp_start) == sorted(seg.resp_start)  # in window order, as the elements
        n_targets.append(seg.n_targets)
        # the segment is free: it shares no base with any element of its window
        assert all(seg.mut_end <= a or seg.mut_start >= b for a, b in sites[seg.seq])
    # with four segments per pair, most segments serve one target, not all the window's elements
    assert np.mean(n_targets) < 3


def test_segments_are_nearest_the_source_distance_on_the_grid():
    specs, sites = _specs()
    _, table = segment_specs(specs, L, segments=3, stride=3)
    for (seq, s0, s1, a, b), rows in table.groupby(["seq", "mut_start", "mut_end", "resp_start", "resp_end"]):
        starts = rows.sort_values("k")["segment_start"].to_numpy()
        assert (starts % 3 == 0).all() and len(starts) == 3
        free = free_segments(sites[seq], L, s1 - s0, 3)
        gap = lambda p: max(p, a) - min(p + s1 - s0, b)  # noqa: E731
        want = np.abs(np.array([gap(p) for p in free]) - (max(s0, a) - min(s1, b)))
        got = np.abs(np.array([gap(p) for p in starts]) - (max(s0, a) - min(s1, b)))
        assert (np.sort(got) == np.sort(want)[:3]).all()

import numpy as np
import pandas as pd
import pytest

from dfim.deltas import compute_delta_profiles, target_delta
from dfim.maps import compute_dfim, map_matrix
from dfim.specs import MutationSpecs


def key_for(rows):
    return pd.DataFrame(rows, columns=["mutant", "spec", "seq", "mut_start", "mut_end", "pos"])


def test_source_mask_is_the_true_overlap_not_the_2018_slice():
    L = 20
    orig = np.ones((1, L, 4), np.float32)
    mut = np.zeros((1, L, 4), np.float32)
    key = key_for([(0, 0, 0, 8, 12, -1)])
    d = compute_delta_profiles(orig, mut, key)
    # target [5, 15) overlaps the source [8, 12) at its positions 3..6
    t = target_delta(d, 0, 5, 15)
    assert t.shape == (10, 4)
    np.testing.assert_array_equal(t[:, 0], [1, 1, 1, 0, 0, 0, 0, 1, 1, 1])
    # the published slice [mut_start - resp_start : mut_end - resp_end] = [3:-3] would
    # have zeroed positions 3..6 here only by accident; check a target that ends early
    t2 = target_delta(d, 0, 0, 10)
    np.testing.assert_array_equal(t2[:, 0], [1] * 8 + [0, 0])


def test_per_element_fis_reductions_and_nan_diagonal():
    L = 10
    orig = np.zeros((1, L, 4), np.float32)
    mut = np.zeros((1, L, 4), np.float32)
    mut[0, 6, 1] = -2.0  # delta +2 at position 6
    mut[0, 7, 2] = 3.0  # delta -3 at position 7
    specs = MutationSpecs.from_dict({
        "a": {"seq": 0, "mut_start": 0, "mut_end": 2, "mut_name": "A",
              "resp_start": [0, 5], "resp_end": [2, 9], "resp_names": ["A", "B"]},
    })
    key = key_for([(0, 0, 0, 0, 2, -1)])
    d = compute_delta_profiles(orig, mut, key)
    fis = compute_dfim(d, key, specs)
    assert np.isnan(fis.loc[fis.resp_name == "A", "score"]).all()
    assert fis.loc[fis.resp_name == "B", "score"].item() == pytest.approx(3.0)
    fis_sum = compute_dfim(d, key, specs, positions="sum")
    assert fis_sum.loc[fis_sum.resp_name == "B", "score"].item() == pytest.approx(5.0)
    fis_signed = compute_dfim(d, key, specs, absolute=False, positions="sum")
    assert fis_signed.loc[fis_signed.resp_name == "B", "score"].item() == pytest.approx(-1.0)
    M, src, tgt = map_matrix(fis, 0)
    assert src == ["A@0"] and tgt == ["A@0", "B@5"] and np.isnan(M[0, 0]) and M[0, 1] == pytest.approx(3.0)


def test_element_by_base_track():
    L = 6
    orig = np.zeros((1, L, 4), np.float32)
    mut = np.zeros((1, L, 4), np.float32)
    mut[0, 4] = [1, -1, 0, 0]
    specs = MutationSpecs.from_dict({"a": {"seq": 0, "mut_start": 0, "mut_end": 1, "resp_start": [2], "resp_end": [6]}})
    key = key_for([(0, 0, 0, 0, 1, -1)])
    tracks = compute_dfim(compute_delta_profiles(orig, mut, key), key, specs, kind="element_by_base")
    np.testing.assert_allclose(tracks[(0, 0)][0], [0, 0, 2, 0])


def test_unknown_kind_and_reduction():
    specs = MutationSpecs.from_dict({"a": {"seq": 0, "mut_start": 0, "mut_end": 1, "resp_start": [2], "resp_end": [6]}})
    key = key_for([(0, 0, 0, 0, 1, -1)])
    d = np.zeros((1, 6, 4), np.float32)
    with pytest.raises(ValueError, match="unknown map kind"):
        compute_dfim(d, key, specs, kind="nope")
    with pytest.raises(ValueError, match="unknown position reduction"):
        compute_dfim(d, key, specs, positions="median")


def test_per_base_map_layout_and_summary():
    from dfim.mutants import generate_mutants_and_key
    from dfim.sequences import one_hot

    X = one_hot(["ACGTAC"])
    specs = MutationSpecs.from_dict({"s": {"seq": 0, "mut_start": 1, "mut_end": 3, "resp_start": [3], "resp_end": [6]}})
    mutants, key = generate_mutants_and_key(X, specs, strategy="per_base")
    assert len(mutants) == 6
    # a made-up delta: mutant j changes target position 4, channel 0, by j + 1
    delta = np.zeros((1, 6, 6, 4), np.float32)
    for j in range(6):
        delta[0, j, 4, 0] = j + 1
    out = compute_dfim(delta, key, specs, kind="per_base")[(0, 0)]
    full, summary = out["delta"], out["summary"]
    assert full.shape == (1, 2, 4, 4, 3, 4)
    # position 1 holds C (index 1): its substitutions to A, G, T are mutants 0, 1, 2
    np.testing.assert_array_equal(full[0, 0, 1, [0, 2, 3], 1, 0], [1, 2, 3])
    assert np.isnan(full[0, 0, 0]).all() and np.isnan(full[0, 0, 1, 1]).all()  # not the original base / no self-substitution
    np.testing.assert_array_equal(summary[0], [[0, 3, 0], [0, 6, 0]])


def test_window_map_orders_sources_and_targets_by_position():
    from dfim.maps import by_position, element_labels, labelled_matrix

    names, starts = ["B", "A", "C"], [40, 5, 90]
    order = by_position(names, starts)
    assert order == ["A@5", "B@40", "C@90"]
    src = element_labels(["B", "B", "A"], [40, 40, 5])
    tgt = element_labels(["A", "C", "B"], [5, 90, 40])
    M, s, t = labelled_matrix(src, tgt, [1.0, 2.0, 3.0], source_order=order, target_order=order)
    assert s == t == order
    assert M[1, 0] == 1.0 and M[1, 2] == 2.0 and M[0, 1] == 3.0 and np.isnan(np.diag(M)).all()


def test_per_element_score_of_per_base_mutants_is_the_max_over_substitutions():
    from dfim.mutants import generate_mutants_and_key
    from dfim.sequences import one_hot

    X = one_hot(["ACGNAC"])
    specs = MutationSpecs.from_dict({
        "s": {"seq": 0, "mut_start": 1, "mut_end": 2, "resp_start": [1, 4], "resp_end": [2, 5]},
        "n": {"seq": 0, "mut_start": 3, "mut_end": 4, "resp_start": [4], "resp_end": [5]},
    })
    _, key = generate_mutants_and_key(X, specs, strategy="per_base")
    assert list(key["spec"]) == [0, 0, 0, 1, 1, 1, 1]  # C -> A, G, T; N -> A, C, G, T
    delta = np.zeros((2, 7, 6, 4), np.float32)
    delta[0, [0, 1, 2], 4, 1] = [1.0, -5.0, 2.0]  # task 0: C>G gives |Δ| 5
    delta[1, [0, 1, 2], 4, 3] = [4.0, 0.5, -1.0]  # task 1: C>A gives 4
    delta[:, 3:, 4, 0] = 9.0  # the N position: no substitution, no score
    fis = compute_dfim(delta, key, specs, tasks=[0, 1]).set_index(["task", "spec", "resp_start"])
    assert fis.loc[(0, 0, 4), "score"] == pytest.approx(5.0) and fis.loc[(0, 0, 4), "mutant"] == 1
    assert fis.loc[(1, 0, 4), "score"] == pytest.approx(4.0) and fis.loc[(1, 0, 4), "mutant"] == 0
    assert np.isnan(fis.loc[(0, 0, 1), "score"])  # the diagonal
    assert np.isnan(fis.loc[(0, 1, 4), "score"]) and np.isnan(fis.loc[(1, 1, 4), "score"])


def test_per_base_window_maps_layout_summary_and_nan():
    from dfim.elements import per_base_specs, per_base_window
    from dfim.maps import per_base_maps, per_base_window_maps
    from dfim.mutants import generate_mutants_and_key
    from dfim.sequences import one_hot

    X = one_hot(["AACGTNCA", "GGGTTTAA"])
    start = per_base_window(8, 4)
    assert start == 2
    specs = per_base_specs(pd.DataFrame({"window_id": ["w0", "w1"]}), 8, 4)
    _, key = generate_mutants_and_key(X, specs, strategy="per_base")
    delta = np.zeros((1, len(key), 8, 4), np.float32)
    # mutant j changes every position by (j + 1) on channel 2, and position 0 (outside the sub-window) by 100
    delta[0, :, :, 2] = (np.arange(len(key)) + 1)[:, None]
    delta[0, :, 0, 2] = 100.0
    delta = np.where(np.arange(8)[None, None, :, None] == key["pos"].to_numpy()[None, :, None, None], 0.0, delta)
    out = per_base_window_maps(delta, key, 2, start, 4)
    full, summary = out["delta"], out["summary"]
    assert full.shape == (1, 2, 4, 4, 4, 4, 4) and summary.shape == (1, 2, 4, 4)
    np.testing.assert_array_equal(out["positions"], [2, 3, 4, 5])
    # window 0, sub-window base 0 is position 2, a C: its mutants (to A, G, T) are rows 0, 1, 2 of the key
    np.testing.assert_array_equal(full[0, 0, 0, 1, [0, 2, 3], 1, 2], [1, 2, 3])
    np.testing.assert_array_equal(full[0, 0, 0, 1, [0, 2, 3], 1, 0], [0, 0, 0])
    assert np.isnan(full[0, 0, 0, 0]).all() and np.isnan(full[0, 0, 0, 1, 1]).all()  # not observed / o == m
    assert np.isnan(full[0, 0, 0, :, :, 0]).all()  # the diagonal
    assert np.isnan(full[0, 0, 3]).all() and np.isnan(summary[0, 0, 3]).all()  # position 5 holds N
    assert np.isnan(np.diagonal(summary, axis1=2, axis2=3)).all()
    np.testing.assert_array_equal(summary[0, 0, 0, 1:], [3, 3, 3])  # the largest of its 3 substitutions
    # the per-(source, target) maps say the same off the diagonal
    for (j, t), m in per_base_maps(delta, key, specs).items():
        spec = specs[j]
        n, p, i = int(spec.seq), spec.mut_start - start, spec.resp_start[t] - start
        if p != i:
            np.testing.assert_array_equal(m["summary"][:, 0, 0], summary[:, n, p, i])
    # and the per-element table's score is the summary
    fis = compute_dfim(delta, key, specs)
    tested = fis.dropna(subset=["score"])
    got = summary[0, tested["seq"], tested["mut_start"] - start, tested["resp_start"] - start]
    np.testing.assert_array_equal(tested["score"].to_numpy(), got)
    assert len(tested) == 2 * 4 * 3 - 3  # 4 x 4 bases per window, less the diagonals and the N source


def test_per_element_fis_of_many_sources_at_once_is_each_sources_own():
    """The rows of thousands of one-mutant sources are reduced together (a null shard's segments):
    each score must be its own target's max of Σ_c |Δ|, NaN where its target holds NaN, and
    follow the key's mutant whatever order the key lists the sources in."""
    rng = np.random.default_rng(7)
    T, L, n = 2, 60, 40
    delta = rng.normal(size=(T, n, L, 4)).astype(np.float32)
    delta[:, 5, 20:30] = np.nan  # a segment row: scores only on its targets
    starts = rng.integers(0, L - 12, size=n)
    widths = rng.integers(1, 12, size=n)
    specs = MutationSpecs.from_dict({
        f"s{j}": {"seq": 0, "mut_start": int(starts[j]), "mut_end": int(starts[j] + 2),
                  "resp_start": [int(starts[j]), 20, int(starts[-1 - j])],
                  "resp_end": [int(starts[j] + 2), 20 + int(widths[j]), int(starts[-1 - j] + widths[j])]}
        for j in range(n)})
    mutant_of = rng.permutation(n)  # source j's mutant row, the key's rows in another order
    key = key_for([(int(mutant_of[j]), j, 0, int(starts[j]), int(starts[j] + 2), -1) for j in rng.permutation(n)])
    key = key.sort_values("mutant").reset_index(drop=True)
    fis = compute_dfim(delta, key, specs, tasks=[3, 4])
    assert len(fis) == T * n * 3
    for row in fis.itertuples():
        t, m = row.task - 3, mutant_of[row.spec]
        assert row.mutant == m
        if row.resp_start == specs[row.spec].mut_start and row.resp_end == specs[row.spec].mut_end:
            assert np.isnan(row.score)
            continue
        want = np.abs(delta[t, m, row.resp_start:row.resp_end]).sum(-1).max()
        assert (np.isnan(row.score) and np.isnan(want)) or row.score == want, (row, want)
    assert fis["score"].isna().sum() > T * n  # the diagonals and the NaN row's overlapping targets

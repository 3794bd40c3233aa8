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

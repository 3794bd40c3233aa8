"""Mutants' local forward pass (dfim.native.locality) gives the full pass's scores."""

import numpy as np
import pytest
import tf_keras
from conftest import random_onehot
from models import branching_cnn
from test_native_scorer import L, deep_cnn, deep_layers, demo_cnn, dense_head_cnn, wide_cnn

from dfim import MutationSpecs
from dfim.importance import hypothetical_scores, make_references, make_scorer
from dfim.models import load_model
from dfim.native.locality import bucket, changed_windows, pack, window_plan
from dfim.native.targeted import prefix_plans
from dfim.pipeline import NullOptions, ScoringOptions, score_random_source, score_sequences

# sources at both edges, in the middle, of widths 1, 10 and 25 (and 4, across a pooling boundary)
SPANS = [(0, 1), (0, 10), (27, 28), (30, 40), (20, 45), (L - 1, L), (L - 10, L), (L - 25, L), (13, 17)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("locality")
    return {"demo": load_model(demo_cnn(d / "demo.h5")), "deep": load_model(deep_cnn(d / "deep.h5")),
            "wide": load_model(wide_cnn(d / "wide.h5")),
            "dense_head_bn": load_model(dense_head_cnn(d / "dh_bn.h5", batchnorm=True))}


@pytest.fixture(scope="module")
def scorers(models):
    cache = {}

    def get(which, method):
        if (which, method) not in cache:
            cache[which, method] = make_scorer(models[which], method, "native")
        return cache[which, method]

    return get


def dfim_rows(rng, n_orig=5, spans=SPANS, fill=0.25):
    """Originals, then mutants (each source set to ``fill``, or random bases), as score_sequences lays them out."""
    X = random_onehot(rng, n_orig, L)
    muts, origin, sp = [], [], []
    for i in range(n_orig):
        for j, (s, e) in enumerate(spans):
            x = X[i].copy()
            x[s:e] = fill if j % 2 == 0 else random_onehot(rng, 1, e - s)[0]
            muts.append(x)
            origin.append(i)
            sp.append((s, e))
    X_all = np.concatenate([X, np.array(muts)])
    origin = np.concatenate([np.full(n_orig, -1), origin])
    spans = np.concatenate([np.zeros((n_orig, 2), int), sp])
    return X, X_all, origin, spans


def both_ways(scorer, X_all, refs, origin, spans, task=1, batch_size=16):
    """(local, full) hypothetical scores, and the path the local call took."""
    local = hypothetical_scores(scorer, X_all, refs, task=task, batch_size=batch_size, origin=origin, spans=spans)
    path = scorer.locality_path
    scorer.locality = False
    try:
        full = hypothetical_scores(scorer, X_all, refs, task=task, batch_size=batch_size)
    finally:
        scorer.locality = True
    return local, full, path


def assert_rows_close(a, b, rel=1e-5):
    """max |a - b| / max |b| per sequence."""
    err = np.abs(a - b).max(axis=(1, 2)) / np.maximum(np.abs(b).max(axis=(1, 2)), 1e-30)
    assert err.max() <= rel, f"worst row {err.argmax()}: {err.max():.3g}"


@pytest.mark.parametrize("which", ["deep", "dense_head_bn", "demo"])
@pytest.mark.parametrize("reference", ["gc", "zero"])
@pytest.mark.parametrize("method", ["grad_x_input", "rescale", "deeplift"])
def test_local_forward_matches_full_pass(models, scorers, rng, which, method, reference):
    """9 mutants per original; batches of 16 rows put originals in different batches and split
    an original's mutants over two."""
    s = scorers(which, method)
    X, X_all, origin, spans = dfim_rows(rng)
    refs = make_references(X, reference)
    local, full, path = both_ways(s, X_all, refs, origin, spans)
    assert path.startswith("local forward"), path
    assert_rows_close(local, full)


def test_local_forward_on_wide_convolutions_with_fft_gradients(scorers, rng):
    s = scorers("wide", "deeplift")
    X, X_all, origin, spans = dfim_rows(rng, n_orig=3)
    local, full, path = both_ways(s, X_all, make_references(X, "gc"), origin, spans, task=0, batch_size=32)
    assert path.startswith("local forward"), path
    assert_rows_close(local, full)


def test_local_forward_on_a_keras3_model(tmp_path, rng):
    """The convolutions' settings are read from Keras 3 layer configs too."""
    import keras

    deep_layers(keras).save(tmp_path / "deep.keras")
    s = make_scorer(load_model(tmp_path / "deep.keras"), "deeplift", "native")
    X, X_all, origin, spans = dfim_rows(rng, n_orig=3)
    local, full, path = both_ways(s, X_all, make_references(X, "gc"), origin, spans)
    assert path.startswith("local forward"), path
    assert_rows_close(local, full)


def test_grad_x_input_is_local_with_shuffled_references_too(scorers, rng):
    """Gradients do not depend on the reference: the multipliers are computed once per row, locally."""
    s = scorers("deep", "grad_x_input")
    X, X_all, origin, spans = dfim_rows(rng, n_orig=3)
    refs = make_references(X, "shuffle", n_refs=3, seed=1)
    ref_index = np.where(origin < 0, np.arange(len(origin)), origin)
    local = hypothetical_scores(s, X_all, refs, ref_index, task=0, batch_size=16, origin=origin, spans=spans)
    assert s.locality_path.startswith("local forward")
    s.locality = False
    full = hypothetical_scores(s, X_all, refs, ref_index, task=0, batch_size=16)
    s.locality = True
    assert_rows_close(local, full)


@pytest.mark.parametrize("method", ["rescale", "deeplift"])
def test_shuffled_references_take_the_full_pass_unchanged(scorers, rng, method):
    s = scorers("deep", method)
    X, X_all, origin, spans = dfim_rows(rng, n_orig=3, spans=SPANS[:3])
    refs = make_references(X, "shuffle", n_refs=2, seed=1)
    ref_index = np.where(origin < 0, np.arange(len(origin)), origin)
    a = hypothetical_scores(s, X_all, refs, ref_index, task=0, batch_size=16, origin=origin, spans=spans)
    assert s.locality_path.startswith("full pass: 3 reference set(s) of 2"), s.locality_path
    b = hypothetical_scores(s, X_all, refs, ref_index, task=0, batch_size=16)
    np.testing.assert_array_equal(a, b)


def test_unsupported_models_take_the_full_pass_unchanged(tmp_path, rng):
    """A dilated first convolution (no window), and a graph program."""
    tf_keras.utils.set_random_seed(0)
    tf_keras.Sequential([tf_keras.Input((L, 4)), tf_keras.layers.Conv1D(4, 5, dilation_rate=2, activation="relu"),
                         tf_keras.layers.Conv1D(4, 3, activation="relu"), tf_keras.layers.Flatten(),
                         tf_keras.layers.Dense(2)]).save(tmp_path / "dil.h5")
    dilated = load_model(tmp_path / "dil.h5")
    graph = load_model(branching_cnn(L, tmp_path / "g.keras"))
    for model, why in [(dilated, "full pass: no windowable convolution"), (graph, "full pass: graph program")]:
        s = make_scorer(model, "rescale", "native")
        X, X_all, origin, spans = dfim_rows(rng, n_orig=2, spans=SPANS[:3])
        refs = make_references(X, "gc")
        a = hypothetical_scores(s, X_all, refs, task=0, batch_size=8, origin=origin, spans=spans)
        assert s.locality_path.startswith(why), s.locality_path
        np.testing.assert_array_equal(a, hypothetical_scores(s, X_all, refs, task=0, batch_size=8))


def test_windowed_prefix_stops_at_the_first_non_local_layer(tmp_path, rng):
    """conv (windowed) -> dilated conv (from here on, whole tensors): still local, same scores."""
    tf_keras.utils.set_random_seed(1)
    tf_keras.Sequential([tf_keras.Input((L, 4)), tf_keras.layers.Conv1D(6, 5, padding="same", activation="relu"),
                         tf_keras.layers.MaxPooling1D(2), tf_keras.layers.Conv1D(4, 3, dilation_rate=2),
                         tf_keras.layers.BatchNormalization(), tf_keras.layers.Activation("tanh"),
                         tf_keras.layers.Flatten(), tf_keras.layers.Dense(2)]).save(tmp_path / "m.h5")
    model = load_model(tmp_path / "m.h5")
    s = make_scorer(model, "rescale", "native")
    assert [op.kind for op in window_plan(model, s.steps, L, 8)] == ["conv"]  # the fused relu+pool runs whole
    X, X_all, origin, spans = dfim_rows(rng, n_orig=3)
    local, full, path = both_ways(s, X_all, make_references(X, "zero"), origin, spans, task=0)
    assert path.startswith("local forward")
    assert_rows_close(local, full)


def test_window_plan_widths(models, scorers):
    """deep: conv 7 (same) - bn - relu+pool 2 - conv 5 - ... : the window grows by k - 1, pooling halves it."""
    s = scorers("deep", "rescale")
    plan = window_plan(models["deep"], s.steps, L, 8)
    convs = [op.width for op in plan if op.kind == "conv"]
    assert convs[:2] == [14, 8 + 4]  # 8 + 6; then (14 + 0) // 2 + 1 = 8 after the pool, + 4
    assert bucket(1) == 16 and bucket(16) == 16 and bucket(17) == 32 and bucket(25) == 32


@pytest.mark.parametrize("which", ["demo", "deep", "wide"])
def test_first_convolution_on_slices_is_the_full_pass_bit_for_bit(models, scorers, rng, which):
    """The first convolution on slices of the input (one-hot, with a GC-background stretch as a mutant's)
    gives the full pass's values there exactly."""
    import tensorflow as tf

    from dfim.native.locality import gather_windows, valid_conv

    s = scorers(which, "deeplift")
    op = window_plan(models[which], s.steps, L, 8)[0]
    x = random_onehot(rng, 6, L)
    x[:, 20:40] = [0.27, 0.23, 0.23, 0.27]
    x = tf.constant(x)
    full = s.steps[0].fn(x).numpy()  # (6, L_out, C)
    starts = np.array([[0], [3], [17], [L // 2], [full.shape[1] - op.width], [5]], np.int32)
    padded = tf.pad(x, [[0, 0], [op.left, op.right], [0, 0]])
    win = valid_conv(op)(gather_windows(padded, None, tf.constant(starts[:, 0]), op.width + op.k - 1)).numpy()
    for i, (a,) in enumerate(starts):
        np.testing.assert_array_equal(win[i], full[i, a : a + op.width])


def test_pack_keeps_each_original_with_its_mutants():
    orig_of = np.array([0] * 20 + [1] * 3 + [2] * 1 + [3] * 7)
    B_o, batches = pack(orig_of, 12)
    seen = []
    for origs, muts in batches:
        assert len(origs) <= B_o and len(muts) <= 12 - B_o and len(set(origs)) == len(origs)
        for j, slot in muts:
            assert origs[slot] == orig_of[j]
            seen.append(j)
    assert sorted(seen) == list(range(len(orig_of)))


def test_changed_windows_are_checked_against_the_spans(rng):
    X = random_onehot(rng, 2, L)
    m = X[0].copy()
    m[5:9] = 0.25
    X_all = np.concatenate([X, m[None]])
    origin = np.array([-1, -1, 0])
    start, end = changed_windows(X_all, origin, np.array([[0, 0], [0, 0], [3, 12]]))
    assert (start[0], end[0]) == (5, 9)  # the rows that differ, within the span
    with pytest.raises(ValueError, match="outside its span"):
        changed_windows(X_all, origin, np.array([[0, 0], [0, 0], [6, 12]]))


def test_integrated_gradients_take_the_full_pass_unchanged(models, rng):
    s = make_scorer(models["demo"], "integrated_gradients", "native", ig_steps=4)
    X, X_all, origin, spans = dfim_rows(rng, n_orig=2, spans=SPANS[:3])
    refs = make_references(X, "gc")
    a = hypothetical_scores(s, X_all, refs, task=0, batch_size=8, origin=origin, spans=spans)
    assert s.locality_path.startswith("full pass: method integrated_gradients"), s.locality_path
    np.testing.assert_array_equal(a, hypothetical_scores(s, X_all, refs, task=0, batch_size=8))


@pytest.mark.parametrize("method,reference,strategy", [("deeplift", "gc", "gc"), ("grad_x_input", "shuffle", "gc"),
                                                       ("rescale", "zero", "per_base")])
def test_score_sequences_fis_unchanged_with_locality(models, rng, method, reference, strategy):
    model = models["deep"]
    X = random_onehot(rng, 3, L)
    spec = {}
    for i in range(3):
        for j, (s, e) in enumerate([(2, 8), (28, 38), (50, 63)]):
            spec[f"s{i}_{j}"] = {"seq": i, "mut_start": s, "mut_end": e, "mut_name": f"m{j}",
                                 "resp_start": [0, 20, 44], "resp_end": [16, 40, 64], "resp_names": ["a", "b", "c"]}
    if strategy == "per_base":  # 3 mutants per base of each source: fewer, narrower sources
        spec = {k: dict(v, mut_end=v["mut_start"] + 3) for k, v in list(spec.items())[:4]}
    specs = MutationSpecs.from_dict(spec)
    opts = ScoringOptions(method=method, reference=reference, n_refs=3, tasks=[0, 1], batch_size=8,
                          strategy=strategy)
    with opts.scorer(model) as s:
        on = score_sequences(model, X, specs, opts, scorer=s, epistasis=False)
        assert s.locality_path.startswith("local forward"), s.locality_path
        s.locality = False
        off = score_sequences(model, X, specs, opts, scorer=s, epistasis=False)
    assert len(on.fis) == len(off.fis) > 0
    assert len(on.key) == (36 if strategy == "per_base" else 9)
    a, b = on.fis["score"].to_numpy(), off.fis["score"].to_numpy()
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
    assert_rows_close(on.mutant_importance.actual[0], off.mutant_importance.actual[0])


# targets at both edges, overlapping each other, and one of 1 bp
TARGETS = np.array([(0, 6), (20, 34), (30, 40), (47, 48), (L - 9, L)])


@pytest.mark.parametrize("which", ["deep", "dense_head_bn", "demo"])
@pytest.mark.parametrize("method", ["grad_x_input", "deeplift"])
def test_input_gradient_on_targets_only_matches_full_pass_there(models, scorers, rng, which, method):
    """Mutants given targets: the full pass's scores on every target, NaN elsewhere; the other rows unchanged."""
    s = scorers(which, method)
    assert prefix_plans(s.model, s.steps, L, 16, 16) is not None  # the mutants' prefix runs in windows
    X, X_all, origin, spans = dfim_rows(rng)
    refs = make_references(X, "gc")
    n = len(X_all)
    # every other mutant wants its targets only, each with its own subset
    targets = [None if o < 0 or i % 2 else TARGETS[: 1 + i % len(TARGETS)] for i, o in enumerate(origin)]
    local = hypothetical_scores(s, X_all, refs, task=1, batch_size=16, origin=origin, spans=spans, targets=targets)
    assert s.locality_path.startswith("local forward"), s.locality_path
    n_t = sum(t is not None for t in targets)
    assert f"{n_t} with the input gradient on their targets only" in s.locality_path, s.locality_path
    s.locality = False
    try:
        full = hypothetical_scores(s, X_all, refs, task=1, batch_size=16)
    finally:
        s.locality = True
    for i in range(n):
        if targets[i] is None:
            assert_rows_close(local[i : i + 1], full[i : i + 1])
            continue
        keep = np.zeros(L, bool)
        for a, b in targets[i]:
            keep[a:b] = True
        assert np.isnan(local[i, ~keep]).all()
        err = np.abs(local[i, keep] - full[i, keep]).max() / np.abs(full[i]).max()
        assert err <= 1e-5, (i, err)


@pytest.mark.parametrize("method,strategy", [("deeplift", "gc"), ("grad_x_input", "per_base")])
def test_random_source_null_unchanged_by_target_only_gradients(models, rng, method, strategy):
    """The segments' FIS (the null table) and the observed FIS equal the full pass's within 1e-5."""
    model = models["deep"]
    X = random_onehot(rng, 3, L)
    spec = {}
    for i in range(3):
        for j, (s, e) in enumerate([(2, 8), (28, 34), (50, 56)]):
            spec[f"s{i}_{j}"] = {"seq": i, "mut_start": s, "mut_end": e, "mut_name": f"m{j}",
                                 "resp_start": [2, 28, 50], "resp_end": [8, 34, 56], "resp_names": ["a", "b", "c"]}
    specs = MutationSpecs.from_dict(spec)
    opts = ScoringOptions(method=method, reference="gc", tasks=[0, 1], batch_size=16, strategy=strategy)
    null = NullOptions(segments=3)
    with opts.scorer(model) as s:
        on = score_random_source(model, X, specs, opts, null, scorer=s)
        assert "with the input gradient on their targets only" in s.locality_path, s.locality_path
        assert " 0 with the input gradient" not in s.locality_path, s.locality_path
        s.locality = False
        off = score_random_source(model, X, specs, opts, null, scorer=s)
    assert len(on.null) == len(off.null) > 0
    a, b = on.null["score"].to_numpy(), off.null["score"].to_numpy()
    assert np.isfinite(a).all()
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
    a, b = on.scored.fis["score"].to_numpy(), off.scored.fis["score"].to_numpy()
    assert np.allclose(a, b, rtol=0, atol=1e-5 * np.nanmax(np.abs(b)), equal_nan=True)

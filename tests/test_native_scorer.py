"""The native TF 2 scorer against the deeplift package and against algebra."""

import numpy as np
import pytest
import tf_keras
from conftest import assert_close, random_onehot
from models import linear_model, motif_pair_model, small_cnn

from dfim.importance import compute_importance, make_references, make_scorer
from dfim.models import ModelError, load_model

L = 64


def demo_cnn(path, seed=0):
    """conv-relu-maxpool-dense-relu-dense-sigmoid, two tasks."""
    return small_cnn(L, path, n_out=2, seed=seed)


def _random_weights(m, rng, negative_scales: int):
    """Random weights, with non-trivial batch-norm statistics (gamma, beta, moving mean, moving
    variance) and the first ``negative_scales`` batch-norm scales negative."""
    weights = []
    for layer in m.layers:
        ws = layer.get_weights()
        if layer.__class__.__name__ == "BatchNormalization":
            c = ws[0].shape[0]
            ws = [rng.uniform(0.5, 2.0, c), rng.normal(0, 0.3, c), rng.normal(0, 0.5, c), rng.uniform(0.3, 3.0, c)]
            ws[0][:negative_scales] = -0.7
        else:
            ws = [rng.normal(0, 0.4, w.shape) for w in ws]
        weights += [np.asarray(w, np.float32) for w in ws]
    m.set_weights(weights)


def deep_layers(keras, seed=0):
    """3x conv-batchnorm-relu-maxpool, then two dense layers; layers of ``keras`` (tf_keras or Keras 3)."""
    layers = [keras.Input((L, 4))]
    for filters, width in [(8, 7), (8, 5), (6, 3)]:
        layers += [keras.layers.Conv1D(filters, width, padding="same"), keras.layers.BatchNormalization(),
                   keras.layers.Activation("relu"), keras.layers.MaxPooling1D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
               keras.layers.Dense(2, activation="sigmoid")]
    m = keras.Sequential(layers)
    _random_weights(m, np.random.default_rng(seed), negative_scales=1)
    return m


def deep_cnn(path, seed=0):
    m = deep_layers(tf_keras, seed)
    m.save(path)
    return path


def wide_cnn(path, seed=0):
    """Convolutions wide enough (64 channels) that the native scorer takes their input gradient by FFT."""
    tf_keras.utils.set_random_seed(seed)
    m = tf_keras.Sequential([
        tf_keras.Input((L, 4)),
        tf_keras.layers.Conv1D(64, 7, activation="relu", padding="same"),
        tf_keras.layers.Conv1D(64, 9, activation="relu", padding="valid"),
        tf_keras.layers.MaxPooling1D(2),
        tf_keras.layers.Conv1D(64, 8, activation="relu", padding="same"),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(16, activation="relu"),
        tf_keras.layers.Dense(2, activation="sigmoid"),
    ])
    m.save(path)
    return path


def dense_head_cnn(path, batchnorm: bool, seed=0):
    """conv-relu-pool, then Dense [-> batch normalisation with some negative scales] -> relu, Dense-relu, Dense."""
    rng = np.random.default_rng(seed)
    layers = [tf_keras.Input((L, 4)), tf_keras.layers.Conv1D(8, 7, activation="relu", padding="same"),
              tf_keras.layers.MaxPooling1D(4), tf_keras.layers.Flatten(), tf_keras.layers.Dense(16)]
    if batchnorm:
        layers.append(tf_keras.layers.BatchNormalization())
    layers += [tf_keras.layers.Activation("relu"), tf_keras.layers.Dropout(0.3),
               tf_keras.layers.Dense(12, activation="relu"), tf_keras.layers.Dense(2, activation="sigmoid")]
    m = tf_keras.Sequential(layers)
    _random_weights(m, rng, negative_scales=3)
    m.save(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("native")
    return {"demo": load_model(demo_cnn(d / "demo.h5")), "deep": load_model(deep_cnn(d / "deep.h5")),
            "wide": load_model(wide_cnn(d / "wide.h5")),
            "dense_head": load_model(dense_head_cnn(d / "dh.h5", batchnorm=False)),
            "dense_head_bn": load_model(dense_head_cnn(d / "dh_bn.h5", batchnorm=True))}


@pytest.mark.parametrize("which", ["demo", "deep", "wide", "dense_head", "dense_head_bn"])
@pytest.mark.parametrize("reference", ["gc", "zero", "shuffle"])
@pytest.mark.parametrize("method", ["rescale", "deeplift"])
def test_deeplift_rules_match_deeplift_package(models, rng, method, which, reference):
    """rescale, and deeplift (genomics default: RevealCancel after dense layers, with batch norm too)."""
    model = models[which]
    X = random_onehot(rng, 12, L)
    kw = {"method": method, "reference": reference, "n_refs": 3, "tasks": [0, 1], "seed": 7}
    want = compute_importance(model, X, backend="deeplift", **kw)
    got = compute_importance(model, X, backend="native", **kw)
    assert_close(got.actual, want.actual)
    assert_close(got.hyp, want.hyp)


@pytest.mark.parametrize("which", ["dense_head", "dense_head_bn"])
def test_revealcancel_differs_from_rescale_after_dense_layers(models, rng, which):
    """So the genomics-default comparison above does test the RevealCancel block."""
    X = random_onehot(rng, 12, L)
    kw = {"reference": "gc", "tasks": [0, 1], "backend": "native"}
    dl = compute_importance(models[which], X, method="deeplift", **kw).actual
    rescale = compute_importance(models[which], X, method="rescale", **kw).actual
    assert np.abs(rescale - dl).max() > 1e-2 * np.abs(dl).max()


@pytest.mark.parametrize("which", ["demo", "deep", "wide"])
def test_grad_x_input_matches_deeplift_package(models, rng, which):
    model = models[which]
    X = random_onehot(rng, 12, L)
    want = compute_importance(model, X, method="grad_x_input", backend="deeplift", reference="zero", tasks=[0, 1])
    got = compute_importance(model, X, method="grad_x_input", backend="native", reference="zero", tasks=[0, 1])
    assert_close(got.actual, want.actual, rel=1e-5)


def test_rescale_mutants_against_their_originals_references(models, rng):
    """Rows pointing at another row's references (mutants -> originals) score like the deeplift path."""
    model = models["deep"]
    X = random_onehot(rng, 4, L)
    refs = make_references(X, "shuffle", n_refs=3, seed=1)
    mut = X[[0, 0, 2, 3, 1]].copy()
    mut[:, 10:15] = 0.25
    idx = np.array([0, 0, 2, 3, 1])
    kw = {"method": "rescale", "refs": refs, "ref_index": idx, "tasks": [1], "batch_size": 7}
    want = compute_importance(model, mut, backend="deeplift", **kw)
    got = compute_importance(model, mut, backend="native", **kw)
    assert_close(got.actual, want.actual)


@pytest.mark.parametrize("reference", ["gc", "zero"])
def test_native_rescale_on_linear_model_is_gradient_times_difference(tmp_path, rng, reference):
    model = load_model(linear_model(L, tmp_path / "lin.h5"))
    X = random_onehot(rng, 5, L)
    ref = make_references(X, reference)[0, 0]
    grad = compute_importance(model, X, method="grad_x_input", backend="native", reference="zero", tasks=[0, 1])
    res = compute_importance(model, X, method="rescale", backend="native", reference=reference, tasks=[0, 1])
    expected = (grad.hyp * (X - ref)).sum(-1, keepdims=True) * X
    np.testing.assert_allclose(res.actual, expected, atol=1e-5)


def test_integrated_gradients_completeness_improves_with_steps(tmp_path, rng):
    model = load_model(small_cnn(L, tmp_path / "cnn.h5"))
    X = random_onehot(rng, 8, L)
    refs = make_references(X, "gc")
    delta = model.logits(X)[:, 0] - model.logits(np.broadcast_to(refs[0, 0], X.shape).copy())[:, 0]
    errs = {}
    for steps in (4, 64):
        scorer = make_scorer(model, "integrated_gradients", "native", ig_steps=steps)
        imp = compute_importance(model, X, scorer=scorer, refs=refs)
        errs[steps] = np.abs(imp.actual[0].sum(axis=(1, 2)) - delta).max()
    scale = np.abs(delta).max()
    assert errs[64] < 0.01 * scale
    assert errs[64] < errs[4]


def test_integrated_gradients_with_shuffled_references_runs_on_a_non_chain_model(tmp_path, rng):
    w1 = np.eye(4, dtype=np.float32)[[0, 1, 2, 3]]
    w2 = np.eye(4, dtype=np.float32)[[3, 3, 2, 0]]
    path, _, _ = motif_pair_model(L, w1, w2, 10, 40, a=1.0, b=1.0, c=0.5, path=tmp_path / "pair.h5")
    model = load_model(path)
    X = random_onehot(rng, 3, L)
    imp = compute_importance(model, X, method="integrated_gradients", backend="native", reference="shuffle", n_refs=2)
    assert imp.hyp.shape == (1, 3, L, 4) and np.isfinite(imp.hyp).all()
    with pytest.raises(ModelError, match="type Multiply is not supported .* use method grad_x_input or integrated_gradients"):
        make_scorer(model, "rescale", "native")


def test_keras3_model_scored_natively_matches_deeplift_on_tf_keras_copy(tmp_path, rng):
    import keras

    k3 = deep_layers(keras, seed=3)
    k3.save(tmp_path / "m.keras")
    tk = deep_layers(tf_keras, seed=3)
    tk.set_weights(k3.get_weights())
    tk.save(tmp_path / "m.h5")
    model3 = load_model(tmp_path / "m.keras")
    assert model3.flavour == "keras3"
    X = random_onehot(rng, 6, L)
    kw = {"method": "rescale", "reference": "shuffle", "n_refs": 3, "tasks": [0, 1], "seed": 2}
    got = compute_importance(model3, X, backend="native", **kw)
    want = compute_importance(load_model(tmp_path / "m.h5"), X, backend="deeplift", **kw)
    assert_close(got.actual, want.actual)


def test_rescale_with_a_reference_set_shared_by_every_sequence(models, rng):
    """refs of shape (1, K, L, 4): the K references are run through the network once per batch."""
    model = models["deep"]
    X = random_onehot(rng, 5, L)
    refs = np.stack([make_references(X, "gc")[0, 0], np.full((L, 4), 0.1, np.float32)])[None]
    kw = {"method": "rescale", "refs": refs, "tasks": [0], "batch_size": 4}
    assert_close(compute_importance(model, X, backend="native", **kw).actual,
                  compute_importance(model, X, backend="deeplift", **kw).actual)


@pytest.mark.parametrize("flavour", ["tf_keras", "keras3"])
def test_rescale_sums_to_prediction_difference_on_a_functional_chain(tmp_path, rng, flavour):
    """Summation to delta on layers the deeplift package does not cover (causal padding, softplus, ...)."""
    import keras

    mod = tf_keras if flavour == "tf_keras" else keras
    mod.utils.set_random_seed(0)
    x = mod.Input((L, 4))
    h = mod.layers.Conv1D(6, 5, padding="valid", activation="relu")(x)
    h = mod.layers.Dropout(0.2)(h)
    h = mod.layers.MaxPooling1D(3, strides=2, padding="same")(h)
    h = mod.layers.Conv1D(4, 3, padding="causal")(h)
    h = mod.layers.BatchNormalization()(h)
    h = mod.layers.Activation("tanh")(h)
    h = mod.layers.GlobalAveragePooling1D()(h)
    h = mod.layers.Dense(5, activation="softplus")(h)
    path = tmp_path / ("f.h5" if flavour == "tf_keras" else "f.keras")
    mod.Model(x, mod.layers.Dense(2, activation="sigmoid")(h)).save(path)
    model = load_model(path)
    assert model.flavour == flavour
    X = random_onehot(rng, 6, L)
    refs = make_references(X, "gc")
    imp = compute_importance(model, X, method="rescale", backend="native", refs=refs, tasks=[0, 1])
    delta = model.logits(X) - model.logits(np.broadcast_to(refs[0, 0], X.shape).copy())
    np.testing.assert_allclose(imp.actual.sum(axis=(2, 3)).T, delta, atol=1e-5)


def test_test_models_take_the_fused_relu_maxpool_step(models):
    """So the comparisons with the deeplift package above cover it."""
    for which in ("demo", "deep", "wide", "dense_head"):
        steps = make_scorer(models[which], "rescale", "native").steps
        assert any(s.layer == "ReLUMaxPool" for s in steps), which


@pytest.mark.parametrize("seed", [0, 2])
def test_genomics_default_sums_to_prediction_difference(tmp_path, rng, seed):
    """RevealCancel splits each unit's change into parts that add up to it: contributions sum to f(x) - f(r).

    The zero reference makes some dense units' positive or negative part exactly zero,
    where deeplift's pseudocount (reproduced here) decides the multiplier.
    """
    model = load_model(dense_head_cnn(tmp_path / "dh.h5", batchnorm=False, seed=seed))
    X = random_onehot(rng, 10, L)
    refs = make_references(X, "zero")
    imp = compute_importance(model, X, method="deeplift", backend="native", refs=refs, tasks=[0, 1])
    delta = model.logits(X) - model.logits(np.broadcast_to(refs[0, 0], X.shape).copy())
    np.testing.assert_allclose(imp.actual.sum(axis=(2, 3)).T, delta, atol=1e-4 * (1 + np.abs(delta).max()))


def test_genomics_default_needs_a_linear_layer_before_each_activation(tmp_path):
    tf_keras.utils.set_random_seed(0)
    tf_keras.Sequential([tf_keras.Input((L, 4)), tf_keras.layers.Conv1D(4, 5), tf_keras.layers.MaxPooling1D(2),
                         tf_keras.layers.Activation("relu"), tf_keras.layers.Flatten(),
                         tf_keras.layers.Dense(1)]).save(tmp_path / "m.h5")
    with pytest.raises(ModelError, match="follows MaxPooling1D"):
        make_scorer(load_model(tmp_path / "m.h5"), "deeplift", "native")


def test_native_scorer_is_a_context_manager(tmp_path, rng):
    model = load_model(small_cnn(L, tmp_path / "cnn.h5"))
    X = random_onehot(rng, 3, L)
    with make_scorer(model, "grad_x_input", "native") as scorer:
        m = scorer.multipliers(X, None, 0)
    assert m.shape == X.shape

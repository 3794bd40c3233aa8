import numpy as np
import pytest
import tensorflow as tf
from conftest import random_onehot
from models import additive_model, linear_model, motif_pair_model, small_cnn

from dfim.deltas import compute_delta_profiles
from dfim.errors import ModelError
from dfim.importance import compute_importance, make_references
from dfim.maps import compute_dfim
from dfim.models import load_model
from dfim.mutants import generate_mutants_and_key
from dfim.sequences import gc_background
from dfim.specs import MutationSpecs

L = 60


def dfim_scores(model, X, specs, *, method, backend, reference="gc", strategy="gc"):
    mut, key = generate_mutants_and_key(X, specs, strategy=strategy)
    o = compute_importance(model, X, method=method, backend=backend, reference=reference)
    m = compute_importance(model, mut, method=method, backend=backend, reference=reference,
                           refs=make_references(X, reference), ref_index=key["seq"].to_numpy())
    return compute_dfim(compute_delta_profiles(o.actual, m.actual, key), key, specs)


def all_pairs(n_seq, elements):
    d = {}
    for i in range(n_seq):
        for name, (s, e) in elements.items():
            d[f"{i}:{name}"] = {"seq": i, "mut_start": s, "mut_end": e, "mut_name": name,
                                "resp_start": [a for a, _ in elements.values()],
                                "resp_end": [b for _, b in elements.values()],
                                "resp_names": list(elements)}
    return MutationSpecs.from_dict(d)


@pytest.mark.parametrize("backend", ["native", "deeplift"])
def test_additive_model_has_no_interactions(tmp_path, rng, backend):
    model = load_model(additive_model(L, tmp_path / "add.h5"))
    X = random_onehot(rng, 5, L)
    specs = all_pairs(5, {"e1": (5, 12), "e2": (20, 26), "e3": (40, 55)})
    fis = dfim_scores(model, X, specs, method="grad_x_input", backend=backend)
    off = fis.dropna()
    assert len(off) == 5 * 6
    assert off["score"].abs().max() < 1e-6


def test_motif_pair_fis_scales_with_c_and_vanishes_at_zero(tmp_path, rng):
    w1 = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]] * 0.8  # detector of ACGTA
    w2 = np.eye(4, dtype=np.float32)[[3, 3, 2, 0]] * 0.5  # detector of TTGA
    s1, s2 = 10, 40
    X = random_onehot(rng, 1, L)
    X[0, s1:s1 + 5] = np.eye(4)[[0, 1, 2, 3, 0]]
    X[0, s2:s2 + 4] = np.eye(4)[[3, 3, 2, 0]]
    specs = all_pairs(1, {"m1": (s1, s1 + 5), "m2": (s2, s2 + 4)})
    got = {}
    for c in [0.0, 0.5, 1.0, 2.0]:
        path, W1, W2 = motif_pair_model(L, w1, w2, s1, s2, a=1.0, b=1.0, c=c, path=tmp_path / f"pair{c}.h5")
        fis = dfim_scores(load_model(path), X, specs, method="grad_x_input", backend="native", reference="zero")
        got[c] = fis.set_index(["mut_name", "resp_name"])["score"]
        # algebra: grad of f w.r.t. x on motif 2 is (b + c*m1) W2, so perturbing motif 1
        # (gc background) changes motif-2 contributions by c*(m1(x) - m1(x_s)) W2 * x
        bg = gc_background(0.46)
        dm1 = float((W1 * X[0]).sum() - (W1[s1:s1 + 5] * bg).sum())
        expected = abs(c * dm1) * float(np.abs(W2 * X[0]).sum(axis=1).max())
        assert got[c][("m1", "m2")] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert got[0.0][("m1", "m2")] < 1e-6 and got[0.0][("m2", "m1")] < 1e-6
    assert got[0.5][("m1", "m2")] < got[1.0][("m1", "m2")] < got[2.0][("m1", "m2")]
    assert got[2.0][("m1", "m2")] == pytest.approx(2 * got[1.0][("m1", "m2")], rel=1e-5)


@pytest.mark.parametrize("reference", ["gc", "zero"])
def test_rescale_on_linear_model_is_gradient_times_input_minus_reference(tmp_path, rng, reference):
    model = load_model(linear_model(L, tmp_path / "lin.h5"))
    X = random_onehot(rng, 6, L)
    ref = make_references(X, reference)[0, 0]
    imp = compute_importance(model, X, method="rescale", backend="deeplift", reference=reference, tasks=[0, 1])
    x = tf.constant(X)
    for ti, task in enumerate([0, 1]):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = tf.reduce_sum(_logit(model, x)[:, task])
        g = tape.gradient(logits, x).numpy()
        expected = (g * (X - ref)).sum(-1, keepdims=True) * X  # summed over channels at the observed base
        np.testing.assert_allclose(imp.actual[ti], expected, atol=1e-5)
        # summation to delta: contributions add up to f(x) - f(ref)
        f_x = model.logits(X)[:, task]
        f_r = model.logits(np.broadcast_to(ref, X.shape).copy())[:, task]
        np.testing.assert_allclose(imp.actual[ti].sum(axis=(1, 2)), f_x - f_r, atol=1e-4)


def _logit(model, x):
    h = x
    for layer in model.keras_model.layers[:-1]:
        h = layer(h)
    last = model.keras_model.layers[-1]
    return tf.matmul(h, last.kernel) + last.bias


@pytest.mark.parametrize("method", ["deeplift", "rescale", "revealcancel", "grad_x_input", "guided_backprop"])
def test_every_deeplift_method_runs_with_shuffled_references(tmp_path, rng, method):
    model = load_model(small_cnn(L, tmp_path / "cnn.h5", n_out=2))
    X = random_onehot(rng, 4, L)
    imp = compute_importance(model, X, method=method, backend="deeplift", reference="shuffle", n_refs=3, tasks=[1, 0])
    assert imp.hyp.shape == (2, 4, L, 4) and np.isfinite(imp.hyp).all()
    np.testing.assert_array_equal(imp.actual != 0, (imp.actual != 0) & (X[None] == 1))


def test_deeplift_and_native_gradients_agree(tmp_path, rng):
    model = load_model(small_cnn(L, tmp_path / "cnn.h5"))
    X = random_onehot(rng, 8, L)
    a = compute_importance(model, X, method="grad_x_input", backend="deeplift", reference="zero")
    b = compute_importance(model, X, method="grad_x_input", backend="native", reference="zero")
    np.testing.assert_allclose(a.hyp, b.hyp, atol=1e-5)


def test_model_input_length_mismatch(tmp_path, rng):
    model = load_model(small_cnn(L, tmp_path / "cnn.h5"))
    with pytest.raises(ModelError, match=r"length 50 bp but the model .* takes 60 bp"):
        compute_importance(model, random_onehot(rng, 2, 50))


def test_unknown_method_backend_reference_and_task(tmp_path, rng):
    model = load_model(small_cnn(L, tmp_path / "cnn.h5"))
    X = random_onehot(rng, 2, L)
    with pytest.raises(ValueError, match="unknown importance method 'shap'"):
        compute_importance(model, X, method="shap")
    with pytest.raises(ValueError, match="unknown importance backend"):
        compute_importance(model, X, backend="jax")
    with pytest.raises(ValueError, match="unknown reference 'ones'"):
        compute_importance(model, X, reference="ones")
    with pytest.raises(ModelError, match="task index 3 is past the model's outputs"):
        compute_importance(model, X, tasks=[3])


def test_corrupt_and_wrong_shape_model_files(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot read model file"):
        load_model(bad)
    import tf_keras as keras

    m = keras.Sequential([keras.Input((10,)), keras.layers.Dense(1)])
    m.save(tmp_path / "flat.h5")
    with pytest.raises(ModelError, match=r"one-hot DNA of shape \(batch, L, 4\)"):
        load_model(tmp_path / "flat.h5")
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "missing.h5")

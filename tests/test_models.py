"""Directed acyclic and multi-output Keras models: tasks, targets, and the native scorer on them.

Random-weight models of real architectures (tests/models.py): a BPNet/ChromBPNet-like
model (dilated residual convolutions, cropping, a profile and a counts head) and a
branching CNN (concatenated branches, strided convolution, global pooling, reshape).
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import tf_keras
from conftest import random_onehot
from models import bpnet_like, branching_cnn

from dfim.importance import compute_importance, make_references, make_scorer
from dfim.models import ModelError, load_model
from dfim.native.program import is_graph

L = 100
EXT = {"keras3": "keras", "tf_keras": "h5"}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("graphs")
    out = {}
    for flavour, ext in EXT.items():
        out[f"bpnet/{flavour}"] = load_model(bpnet_like(L, d / f"bp.{ext}", flavour=flavour))
        out[f"branching/{flavour}"] = load_model(branching_cnn(L, d / f"br.{ext}", flavour=flavour))
    out["bpnet2/keras3"] = load_model(bpnet_like(L, d / "bp2.keras", strands=2, seed=1))
    return out


def _preact(km, x):
    """The Keras model's own outputs, a list, for comparison (the heads here are linear)."""
    out = km(x, training=False)
    return [np.asarray(o).reshape(len(x), -1) for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.parametrize("flavour", list(EXT))
def test_every_output_is_known_and_tasks_select_a_head(graphs, rng, flavour):
    """A two-output model: task 0 is unit 0 of the FIRST output (it used to be the last head's)."""
    model = graphs[f"bpnet/{flavour}"]
    assert [(o.name, o.width()) for o in model.outputs] == [("profile", 54), ("counts", 1)]
    assert model.n_outputs == 55
    X = random_onehot(rng, 3, L)
    prof, counts = _preact(model.keras_model, X)
    logits = model.logits(X)
    np.testing.assert_allclose(logits[:, :54], prof, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits[:, 54:], counts, rtol=1e-5, atol=1e-6)
    assert model.check_tasks([0, 1]) == [0, 1]
    for task in ("counts:0", "1:0", {"output": "counts", "unit": 0}, {"output": 1}, {"output": "counts"}):
        assert model.check_tasks([task]) == [54], task
    assert model.check_tasks(["profile:3", "counts:0"]) == [3, 54]


def test_a_task_that_does_not_exist_lists_every_output(graphs):
    model = graphs["bpnet/keras3"]
    for task, what in (("counts:1", "unit 1 is past output 1 'counts'"), ("nope:0", "output 'nope' does not exist"),
                       (60, "unit 60 is past output 0 'profile'"), ({"output": 2}, "output 2 does not exist")):
        with pytest.raises(ModelError, match="0 'profile' \\(width 54\\), 1 'counts' \\(width 1\\)") as err:
            model.check_tasks([task])
        assert what in str(err.value)
    with pytest.raises(ModelError, match="more than once"):
        model.check_tasks(["counts:0", {"output": "counts", "unit": 0}])
    with pytest.raises(ModelError, match="width 1\\), 1 'counts'"):
        model.check_tasks(["profile:1"], target="profile")  # the profile head is one value under target profile


def test_profile_target_is_the_softmax_weighted_logits(graphs, rng):
    for which, C in (("bpnet/keras3", 1), ("bpnet2/keras3", 2)):
        model = graphs[which]
        X = random_onehot(rng, 4, L)
        prof, counts = _preact(model.keras_model, X)
        z = prof.reshape(len(X), -1, C)
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        want = np.concatenate([(p * z).sum(1), counts], axis=1)
        np.testing.assert_allclose(model.logits(X, target="profile"), want, rtol=1e-5, atol=1e-5)
        assert [o.width("profile") for o in model.outputs] == [C, C]


@pytest.mark.parametrize("which", ["bpnet/keras3", "bpnet/tf_keras", "branching/keras3", "branching/tf_keras"])
@pytest.mark.parametrize("method", ["rescale", "deeplift"])
def test_graph_contributions_sum_to_prediction_difference(graphs, rng, which, method):
    """DeepLIFT's summation to delta, one reference, every head, within 1e-4 relative.

    The gc reference is the same at every position, so its activations are too (valid
    convolutions) and max-pooling's gradient rule (the input's arg-max) keeps the sum.
    """
    model = graphs[which]
    X = random_onehot(rng, 6, L)
    refs = make_references(X, "gc")
    tasks = ["profile:0", "profile:30", "counts:0"] if which.startswith("bpnet") else [0, 1]
    imp = compute_importance(model, X, method=method, backend="native", refs=refs, tasks=tasks)
    flat = model.check_tasks(tasks)
    delta = (model.logits(X) - model.logits(np.broadcast_to(refs[0, 0], X.shape).copy()))[:, flat]
    err = np.abs(imp.actual.sum(axis=(2, 3)).T - delta).max()
    assert err <= 1e-4 * np.abs(delta).max(), err


@pytest.mark.parametrize("target", ["preactivation", "profile"])
def test_bpnet_rescale_sums_to_delta_against_a_random_reference(graphs, rng, target):
    """No max-pooling in BPNet: summation to delta holds for any single reference. Under target
    profile the softmax weights are the input's (held), so the sum is sum_i p_i(x) (z_i(x) - z_i(r))."""
    model = graphs["bpnet2/keras3"]
    X = random_onehot(rng, 5, L)
    R = random_onehot(rng, 1, L)
    tasks = ["profile:0", "profile:1", "counts:1"]
    imp = compute_importance(model, X, method="rescale", backend="native", refs=R[None], tasks=tasks, target=target)
    got = imp.actual.sum(axis=(2, 3)).T
    pre_x, pre_r = model.logits(X), model.logits(R)
    if target == "preactivation":
        delta = (pre_x - pre_r)[:, model.check_tasks(tasks)]
    else:
        zx, zr = pre_x[:, :-2].reshape(5, -1, 2), pre_r[:, :-2].reshape(1, -1, 2)
        p = np.exp(zx - zx.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        delta = np.concatenate([(p * (zx - zr)).sum(1), (pre_x - pre_r)[:, -1:]], axis=1)
    err = np.abs(got - delta).max()
    assert err <= 1e-4 * np.abs(delta).max(), err


@pytest.mark.parametrize("method", ["rescale", "deeplift"])
def test_graph_scores_against_several_references_average_the_single_ones(graphs, rng, method):
    """K shuffled references per sequence (the references' pass mapped per set, convolutions once per
    run of equal rows) give the mean of the K single-reference scores."""
    model = graphs["branching/keras3"]
    X = random_onehot(rng, 4, L)
    refs = make_references(X, "shuffle", n_refs=3, seed=2)
    kw = {"method": method, "backend": "native", "tasks": [1]}
    full = compute_importance(model, X, refs=refs, **kw).hyp
    single = np.mean([compute_importance(model, X, refs=refs[:, k : k + 1], **kw).hyp for k in range(3)], axis=0)
    np.testing.assert_allclose(full, single, rtol=1e-4, atol=1e-5 * np.abs(single).max())


@pytest.mark.parametrize("which", ["bpnet/keras3", "branching/tf_keras"])
def test_graph_program_gradients_match_keras(graphs, rng, which):
    """grad_x_input through the translated graph equals the gradient through the Keras model."""
    import tensorflow as tf

    model = graphs[which]
    scorer = make_scorer(model, "grad_x_input", "native")
    assert scorer.steps is not None and is_graph(scorer.steps)
    X = tf.constant(random_onehot(rng, 4, L))
    fn = model.output_fn("preactivation")
    for task in (0, model.n_outputs - 1):
        with tf.GradientTape() as tape:
            tape.watch(X)
            y = tf.reduce_sum(fn(X)[:, task])
        want = tape.gradient(y, X).numpy()
        got = scorer.multipliers(X.numpy(), None, task)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_genomics_default_on_a_graph_puts_revealcancel_after_dense_layers(graphs, rng):
    model = graphs["branching/keras3"]
    steps = make_scorer(model, "deeplift", "native").steps
    kinds = [s.kind for s in steps]
    assert kinds.count("block") == 1 and any(s.layer == "ReLUMaxPool" for s in steps)
    X = random_onehot(rng, 6, L)
    kw = {"reference": "gc", "tasks": [0, 1], "backend": "native"}
    dl = compute_importance(model, X, method="deeplift", **kw).actual
    rescale = compute_importance(model, X, method="rescale", **kw).actual
    assert np.abs(rescale - dl).max() > 1e-3 * np.abs(dl).max()


def test_unsupported_layer_in_a_graph_is_named(tmp_path):
    tf_keras.utils.set_random_seed(0)
    x = tf_keras.Input((L, 4))
    a = tf_keras.layers.Conv1D(4, 5, padding="same")(x)
    b = tf_keras.layers.UpSampling1D(1, name="up")(a)
    out = tf_keras.layers.Dense(1)(tf_keras.layers.Flatten()(tf_keras.layers.Add()([a, b])))
    tf_keras.Model(x, out).save(tmp_path / "m.h5")
    model = load_model(tmp_path / "m.h5")
    with pytest.raises(ModelError, match="layer 'up' of type UpSampling1D is not supported.*grad_x_input"):
        make_scorer(model, "rescale", "native")
    assert make_scorer(model, "grad_x_input", "native").steps is None  # gradients through Keras itself


def test_workflow_end_to_end_on_a_bpnet_like_model(tmp_path):
    """The tiny demo inputs, scored through the counts head and the profile head's weighted logits."""
    sys.path.insert(0, str(Path(__file__).parent))
    import pandas as pd
    from test_workflow import run_smk
    from workflow_data import make_inputs

    make_inputs(tmp_path, extra={"model": {"path": "bpnet.keras", "tasks": ["counts:0", {"output": "profile"}],
                                           "target": "profile"}})
    bpnet_like(L, tmp_path / "bpnet.keras")
    run_smk(tmp_path, "--cores", "2")
    inter = pd.read_csv(tmp_path / "results" / "tiny" / "interactions.tsv", sep="\t")
    assert len(inter) > 0 and np.isfinite(inter["score"]).all()
    assert set(inter["task"]) == {0, 1}  # positions in [profile (1 value), counts]

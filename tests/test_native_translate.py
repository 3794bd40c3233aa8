"""Translating Keras models to native steps, and the passes over them."""

import pytest
import tf_keras

from dfim.importance import make_scorer
from dfim.models import ModelError, load_model
from dfim.native.layers import REGISTRY

L = 64


def test_only_relu_with_non_overlapping_valid_max_pooling_is_fused(tmp_path):
    tf_keras.utils.set_random_seed(0)
    tf_keras.Sequential([
        tf_keras.Input((L, 4)),
        tf_keras.layers.Conv1D(4, 5, activation="relu"), tf_keras.layers.MaxPooling1D(2),  # fused
        tf_keras.layers.Conv1D(4, 5, activation="relu"), tf_keras.layers.MaxPooling1D(3, strides=2),  # overlapping
        tf_keras.layers.Conv1D(4, 5, activation="tanh"), tf_keras.layers.MaxPooling1D(2),  # not a ReLU
        tf_keras.layers.Flatten(), tf_keras.layers.Dense(1),
    ]).save(tmp_path / "m.h5")
    scorer = make_scorer(load_model(tmp_path / "m.h5"), "rescale", "native")
    acts = [(s.layer, s.name.split("+")[0]) for s in scorer.steps if s.kind == "act"]
    assert acts == [("ReLUMaxPool", "relu"), (None, "relu"), (None, "tanh")]


def test_unsupported_layer_is_rejected_naming_the_layer(tmp_path):
    """A layer with no translator in the registry: ModelError naming the layer and its type."""
    assert "Conv2D" not in REGISTRY and "UpSampling1D" not in REGISTRY
    tf_keras.utils.set_random_seed(0)
    tf_keras.Sequential([tf_keras.Input((L, 4)), tf_keras.layers.Conv1D(4, 5, activation="relu"),
                         tf_keras.layers.UpSampling1D(2, name="up"), tf_keras.layers.Flatten(),
                         tf_keras.layers.Dense(1)]).save(tmp_path / "m.h5")
    with pytest.raises(ModelError, match="layer 'up' of type UpSampling1D is not supported"):
        make_scorer(load_model(tmp_path / "m.h5"), "rescale", "native")

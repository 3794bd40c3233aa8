"""The two benchmark models, random weights: demo-sized (200 bp) and Basset-sized (1 kb)."""

from __future__ import annotations


def _layers(keras, spec):
    L, convs, dense, n_out = spec
    layers = [keras.Input((L, 4))]
    for filters, width, pool in convs:
        layers += [keras.layers.Conv1D(filters, width, activation="relu", padding="same"),
                   keras.layers.MaxPooling1D(pool)]
    layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(units, activation="relu") for units in dense]
    layers.append(keras.layers.Dense(n_out, activation="sigmoid"))
    return keras.Sequential(layers)


# (input length, [(filters, width, max-pool)], [dense units], outputs)
DEMO = (200, [(32, 15, 4), (32, 5, 4)], [32], 1)
BASSET = (1000, [(300, 19, 3), (200, 11, 4), (200, 7, 4)], [1000, 1000], 164)

DESCRIPTION = {
    "demo": "input 200 bp, Conv1D(32,15)-ReLU-MaxPool(4)-Conv1D(32,5)-ReLU-MaxPool(4)-Flatten-Dense(32)-ReLU-"
            "Dense(1, sigmoid)",
    "basset": "input 1000 bp, Conv1D(300,19)-ReLU-MaxPool(3)-Conv1D(200,11)-ReLU-MaxPool(4)-Conv1D(200,7)-ReLU-"
              "MaxPool(4)-Flatten-Dense(1000)-ReLU-Dense(1000)-ReLU-Dense(164, sigmoid)",
}


def save_model(name: str, path: str, flavour: str = "tf_keras", seed: int = 0) -> str:
    """Build model ``name`` (``demo`` or ``basset``) with seeded random weights and save it.

    flavour ``tf_keras`` writes the ``.h5`` the deeplift package reads; ``keras3`` writes
    a Keras 3 ``.keras`` archive with the same weights.
    """
    import tf_keras

    spec = {"demo": DEMO, "basset": BASSET}[name]
    tf_keras.utils.set_random_seed(seed)
    m = _layers(tf_keras, spec)
    if flavour == "tf_keras":
        m.save(path)
        return path
    import keras

    k3 = _layers(keras, spec)
    k3.set_weights(m.get_weights())
    k3.save(path)
    return path

"""Hand-built Keras models whose attributions follow from algebra."""

import numpy as np
import tf_keras as keras


def additive_model(L, path, seed=0):
    """f(x) = sum_i g(x_i): width-1 convolutions with a ReLU, then a sum. No interactions."""
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(8, 1, activation="relu"),
        keras.layers.Conv1D(1, 1),
        keras.layers.Flatten(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    m.layers[-1].set_weights([np.ones((L, 1), np.float32), np.zeros(1, np.float32)])
    m.save(path)
    return path


def linear_model(L, path, seed=0):
    """A model with no non-linearity before the output: conv -> flatten -> dense."""
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(3, 5, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="sigmoid"),
    ])
    m.save(path)
    return path


def motif_pair_model(L, w1, w2, s1, s2, a, b, c, path):
    """f = a*m1 + b*m2 + c*m1*m2 (pre-activation), m_k a linear detector of motif k at s_k."""
    x = keras.Input((L, 4))
    flat = keras.layers.Flatten()(x)
    W1 = np.zeros((L, 4), np.float32)
    W1[s1 : s1 + len(w1)] = w1
    W2 = np.zeros((L, 4), np.float32)
    W2[s2 : s2 + len(w2)] = w2
    d1 = keras.layers.Dense(1, use_bias=False, name="m1")
    d2 = keras.layers.Dense(1, use_bias=False, name="m2")
    m1, m2 = d1(flat), d2(flat)
    prod = keras.layers.Multiply()([m1, m2])
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(keras.layers.Concatenate()([m1, m2, prod]))
    model = keras.Model(x, out)
    d1.set_weights([W1.reshape(-1, 1)])
    d2.set_weights([W2.reshape(-1, 1)])
    model.get_layer("out").set_weights([np.array([[a], [b], [c]], np.float32), np.zeros(1, np.float32)])
    model.save(path)
    return path, W1, W2


def small_cnn(L, path, n_out=1, seed=0):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(8, 7, activation="relu", padding="same"),
        keras.layers.MaxPooling1D(4),
        keras.layers.Flatten(),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(n_out, activation="sigmoid"),
    ])
    m.save(path)
    return path

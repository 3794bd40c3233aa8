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


def _keras(flavour):
    if flavour == "keras3":
        import keras as k3

        return k3
    return keras


def bpnet_like(L, path, flavour="keras3", filters=16, n_dilated=3, seed=0, strands=1):
    """A small BPNet/ChromBPNet-like functional model with random weights.

    A wide valid convolution, ``n_dilated`` residual dilated convolutions (dilation 2, 4, 8, ...;
    the skip cropped to the branch's length and added), then two heads: a profile head
    (a valid convolution to ``strands`` channels, flattened when ``strands == 1`` as in
    ChromBPNet, else ``(L', strands)`` as in BPNet) named ``profile``, and a counts head
    (global average pooling -> Dense(strands)) named ``counts``.
    """
    K = _keras(flavour)
    K.utils.set_random_seed(seed)
    x = K.Input((L, 4))
    h = K.layers.Conv1D(filters, 9, padding="valid", activation="relu", name="stem")(x)
    for i in range(1, n_dilated + 1):
        c = K.layers.Conv1D(filters, 3, padding="valid", activation="relu", dilation_rate=2 ** i, name=f"dil{i}")(h)
        crop = (h.shape[1] - c.shape[1]) // 2
        h = K.layers.Add(name=f"res{i}")([c, K.layers.Cropping1D(crop, name=f"crop{i}")(h)])
    prof = K.layers.Conv1D(strands, 11, padding="valid", name="profile_conv")(h)
    prof = K.layers.Flatten(name="profile")(prof) if strands == 1 else K.layers.Activation("linear", name="profile")(prof)
    counts = K.layers.Dense(strands, name="counts")(K.layers.GlobalAveragePooling1D(name="gap")(h))
    K.Model(x, [prof, counts]).save(path)
    return path


def branching_cnn(L, path, flavour="keras3", seed=0):
    """Two valid convolution branches (plain and dilated, the same length) concatenated, a strided convolution with batch
    normalisation, global max and average pooling concatenated, a reshape, and a dense head with two
    sigmoid outputs: the layers of a directed acyclic Keras model other than BPNet's."""
    K = _keras(flavour)
    K.utils.set_random_seed(seed)
    x = K.Input((L, 4))
    a = K.layers.Conv1D(6, 7, padding="valid", activation="relu")(x)
    b = K.layers.Conv1D(6, 3, padding="valid", dilation_rate=3, activation="elu")(x)
    h = K.layers.Concatenate()([a, b])
    h = K.layers.Conv1D(8, 4, strides=2, padding="valid")(h)
    h = K.layers.BatchNormalization()(h)
    h = K.layers.Activation("tanh")(h)
    h = K.layers.MaxPooling1D(2)(K.layers.ReLU()(h))
    g = K.layers.Concatenate()([K.layers.GlobalMaxPooling1D()(h), K.layers.GlobalAveragePooling1D()(h)])
    g = K.layers.Reshape((4, 4))(g)
    g = K.layers.Flatten()(g)
    g = K.layers.Dense(8, activation="relu")(g)
    m = K.Model(x, K.layers.Dense(2, activation="sigmoid")(g))
    weights = m.get_weights()
    rng = np.random.default_rng(seed)
    for i, w in enumerate(weights):  # non-trivial batch-norm statistics (variances stay positive)
        if w.ndim == 1 and np.all(w == 1):
            weights[i] = rng.uniform(0.5, 2.0, w.shape).astype(np.float32)
    m.set_weights(weights)
    m.save(path)
    return path

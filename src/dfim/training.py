"""The CNN of the 2018 paper's simulations and a seeded trainer for it.

Used to make the demo model (``scripts/make_demo.py``), the accuracy benchmark's models
and test fixtures; DFIM itself scores any Keras model. Training is deterministic for a
given seed (TensorFlow op determinism).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .calibration import auroc


def build_cnn(
    length: int,
    n_tasks: int = 1,
    seed: int = 0,
    filters: tuple[int, int] = (32, 16),
    kernel_sizes: tuple[int, int] = (15, 5),
    pool_sizes: tuple[int, int] = (4, 25),
    dense_units: int = 32,
    dropout: float = 0.1,
    learning_rate: float = 3e-3,
):
    """A small tf_keras ``Sequential`` CNN built only from layers DeepLIFT 0.6.13 converts.

    ``Input(L, 4) -> Conv1D(filters[0], kernel_sizes[0], same, relu) -> MaxPooling1D(pool_sizes[0])
    -> Dropout -> Conv1D(filters[1], kernel_sizes[1], same, relu) -> MaxPooling1D(pool_sizes[1])
    -> Flatten -> Dense(dense_units, relu) -> Dropout -> Dense(n_tasks, sigmoid)``, compiled
    with Adam and binary cross-entropy (metric: accuracy). The second pool is clamped to the
    length left after the first, so the default ``(4, 25)`` leaves 2 positions for ``L = 200``
    (a near-global max pool: position-invariant motif detectors feed the dense layer, which
    learns AND logic from ~10,000 sequences). Weight initialisers and dropouts carry
    seeds derived from ``seed``, so the initial weights depend on ``seed`` only.

    Parameters
    ----------
    length : int
        Input length ``L``; the model takes ``(batch, L, 4)`` one-hot input.
    n_tasks : int
        Number of sigmoid outputs; the output has shape ``(batch, n_tasks)``.
    seed : int
    filters, kernel_sizes, pool_sizes : tuple of two int
        For the two convolution / max-pool blocks.
    dense_units : int
    dropout : float
        Rate of both dropout layers (DeepLIFT treats them as no-ops).
    learning_rate : float
        Adam learning rate.

    Returns
    -------
    tf_keras.Sequential
    """
    import tf_keras as keras
    from tf_keras import layers

    if length < pool_sizes[0]:
        raise ValueError(f"build_cnn: length {length} is shorter than the first pool {pool_sizes[0]}")
    pool2 = max(1, min(pool_sizes[1], length // pool_sizes[0]))

    def init(k):
        return keras.initializers.GlorotUniform(seed=seed * 100 + k)

    model = keras.Sequential(
        [
            keras.Input(shape=(length, 4), name="sequence"),
            layers.Conv1D(filters[0], kernel_sizes[0], padding="same", activation="relu",
                          kernel_initializer=init(1), name="conv1"),
            layers.MaxPooling1D(pool_sizes[0], name="pool1"),
            layers.Dropout(dropout, seed=seed * 100 + 2, name="dropout1"),
            layers.Conv1D(filters[1], kernel_sizes[1], padding="same", activation="relu",
                          kernel_initializer=init(3), name="conv2"),
            layers.MaxPooling1D(pool2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(dense_units, activation="relu", kernel_initializer=init(4), name="dense1"),
            layers.Dropout(dropout, seed=seed * 100 + 5, name="dropout2"),
            layers.Dense(n_tasks, activation="sigmoid", kernel_initializer=init(6), name="output"),
        ],
        name="dfim_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


@dataclass
class TrainResult:
    """Outcome of :func:`train_cnn`.

    Attributes
    ----------
    history : dict
        Keras ``History.history`` (per-epoch ``loss`` and ``accuracy`` on the training part).
    accuracy : float
        Held-out accuracy at threshold 0.5 (mean over tasks).
    auroc : float
        Held-out area under the ROC curve (mean over tasks with both classes).
    train_index, test_index : np.ndarray
        ``(n_train,)`` and ``(n_test,)`` row indices of the split.
    seconds : float
        Wall time of ``fit``.
    """

    history: dict
    accuracy: float
    auroc: float
    train_index: np.ndarray
    test_index: np.ndarray
    seconds: float


def train_cnn(
    model,
    X: np.ndarray,
    y: np.ndarray,
    seed: int,
    epochs: int = 10,
    batch_size: int = 64,
    test_fraction: float = 0.1,
    rc_augment: bool = True,
    verbose: int = 0,
) -> TrainResult:
    """Train deterministically on a seeded split and score the held-out part.

    Calls ``tf_keras.utils.set_random_seed(seed)`` and
    ``tf.config.experimental.enable_op_determinism()`` (process-wide TensorFlow
    settings), so the same seed, data and initial weights give the same weights.

    Parameters
    ----------
    model : tf_keras.Model
        Compiled, e.g. from :func:`build_cnn`.
    X : np.ndarray
        ``(n, L, 4)`` one-hot sequences.
    y : np.ndarray
        ``(n,)`` or ``(n, n_tasks)`` binary labels.
    seed : int
        Seeds the split (``numpy.random.default_rng(seed)``) and TensorFlow.
    epochs, batch_size : int
    test_fraction : float
        Fraction held out (at least one sequence).
    rc_augment : bool
        Also train on the reverse complement of every training sequence (same label).
    verbose : int
        Passed to ``fit``.

    Returns
    -------
    TrainResult
    """
    import tensorflow as tf
    import tf_keras as keras

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    n = len(X)
    if len(y) != n:
        raise ValueError(f"train_cnn: {n} sequences but {len(y)} labels")
    n_test = max(1, int(round(test_fraction * n)))
    if n_test >= n:
        raise ValueError(f"train_cnn: test_fraction {test_fraction} leaves no training data")
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])

    X_train, y_train = X[train_idx], y[train_idx]
    if rc_augment:
        X_train = np.concatenate([X_train, X_train[:, ::-1, ::-1]])
        y_train = np.concatenate([y_train, y_train])

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    t0 = time.perf_counter()
    hist = model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size,
                     shuffle=True, verbose=verbose)
    seconds = time.perf_counter() - t0
    p = model.predict(X[test_idx], batch_size=1024, verbose=0)
    yt = y[test_idx]
    acc = float(((p > 0.5) == (yt > 0.5)).mean())
    aucs = [auroc(yt[:, t], p[:, t]) for t in range(yt.shape[1])]
    aucs = [a for a in aucs if not np.isnan(a)]
    return TrainResult(
        history={k: [float(v) for v in vs] for k, vs in hist.history.items()},
        accuracy=acc,
        auroc=float(np.mean(aucs)) if aucs else float("nan"),
        train_index=train_idx,
        test_index=test_idx,
        seconds=seconds,
    )

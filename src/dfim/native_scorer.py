"""Native TensorFlow 2 multipliers: compiled, batched ``GradientTape`` passes.

Works on any Keras model the package can load (tf_keras or Keras 3), including layers
the ``deeplift`` package cannot convert (e.g. a ``Multiply`` of two motif detectors).
"""

from __future__ import annotations

import numpy as np

from .models import SequenceModel

NATIVE_METHODS = ("grad_x_input",)


class NativeScorer:
    """Gradient multipliers of the model's target output.

    ``multipliers(X, R, task)`` has the same contract as the deeplift scorer's; for
    gradients the multipliers do not depend on the reference, which
    :attr:`reference_free` tells the caller so it can skip evaluating one pass per
    reference.
    """

    reference_free = True

    def __init__(self, model: SequenceModel, method: str = "grad_x_input", target: str = "preactivation", threads=None):
        if method not in NATIVE_METHODS:
            raise ValueError(f"unknown native method {method!r}; choose one of {list(NATIVE_METHODS)}")
        import tensorflow as tf

        if threads:
            _set_threads(int(threads))
        self.model = model
        self.method = method
        out = model.output_fn(target)

        @tf.function(reduce_retracing=True)
        def grad(x, task):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(out(x)[:, task])
            return tape.gradient(y, x)

        self._grad = grad

    def multipliers(self, X: np.ndarray, R: np.ndarray | None, task: int, batch_size: int = 256) -> np.ndarray:
        """Gradients of ``task`` at ``X (m, L, 4)``; returns ``(m, L, 4)`` float32."""
        import tensorflow as tf

        X = np.asarray(X, np.float32)
        t = tf.constant(int(task))
        parts = [self._grad(tf.constant(X[i : i + batch_size]), t).numpy() for i in range(0, len(X), batch_size)]
        return np.concatenate(parts) if parts else np.zeros_like(X)

    def close(self):
        pass


_THREADS_SET = []


def _set_threads(n: int) -> None:
    """TensorFlow's thread pools can be sized once per process, before first use."""
    import tensorflow as tf

    if _THREADS_SET:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised by an earlier model call; keep the existing pools
    _THREADS_SET.append(n)

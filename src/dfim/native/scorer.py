"""``NativeScorer``: compiled, batched multipliers of a Keras model, and the batching around them.

How a score is computed
-----------------------
1. :func:`dfim.native.translate.translate` turns the Keras model into a list of steps
   (:mod:`dfim.native.program`: a chain, or a graph whose steps name their inputs); :mod:`dfim.native.passes` rewrites it (RevealCancel
   blocks for ``deeplift``, fused ReLU + max-pool, pooling before ReLU for gradients).
   The result is checked against the Keras model's own output.
2. Per method, a multiplier function ``(x, r, task) -> m`` (all ``(b, L, 4)``):
   :func:`gradient` (``grad_x_input``), :func:`integrated_gradients`, or
   :func:`rescale_multipliers` (``rescale``/``deeplift``): the reference is run
   through the steps once (:func:`reference_activations`), then a gradient tape
   over the input with each activation replaced by its DeepLIFT rule
   (:func:`dfim.native.rules.rescale_op`, :func:`dfim.native.rules.revealcancel_op`).
3. :func:`hypothetical_shared` / :func:`hypothetical_each` turn multipliers against K
   references into hypothetical scores, ``mean_k (m_k - sum_c m_k r_k)``, for a
   reference set shared by the batch or one set per sequence.
4. :class:`NativeScorer` wraps them in ``tf.function``\\ s with fixed signatures and
   feeds equal-sized (padded) batches.
"""

from __future__ import annotations

import numpy as np

from ..models import ModelError, SequenceModel
from ..progress import advance
from ..scorer import Scorer
from .passes import fuse_relu_pool, genomics_default, pool_before_relu
from .program import run
from .rules import rescale_op, revealcancel_op
from .config import check_xla, graph_function, set_threads
from .locality import local_scores
from .translate import translate

NATIVE_METHODS = ("grad_x_input", "integrated_gradients", "rescale", "deeplift")
DEEPLIFT_RULES = ("rescale", "deeplift")  # methods that run the reference through the network
IG_STEPS = 32


def gradient(logits, x, task):
    """Gradient of ``sum(logits(x)[:, task])`` at ``x (b, L, 4)`` -> ``(b, L, 4)``."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(logits(x)[:, task])
    return tape.gradient(y, x)


def integrated_gradients(logits, x, r, task, n_steps: int):
    """Mean gradient on the straight path from ``r`` to ``x`` (midpoint rule, ``n_steps`` points).

    Parameters
    ----------
    logits : ``(b, L, 4) -> (b, n_out)``.
    x : ``(m, L, 4)``; r : ``(m or 1, L, 4)``; task : scalar int tensor.

    Returns
    -------
    ``(m, L, 4)``, so that ``sum m * (x - r) ≈ f(x) - f(r)``.
    """
    import tensorflow as tf

    L = x.shape[1]
    alphas = (tf.range(n_steps, dtype=tf.float32) + 0.5) / n_steps
    pts = r[:, None] + alphas[None, :, None, None] * (x - r)[:, None]
    g = gradient(logits, tf.reshape(pts, (-1, L, 4)), task)
    return tf.reduce_mean(tf.reshape(g, (-1, n_steps, L, 4)), axis=1)


def reference_activations(steps, r) -> list:
    """The inputs of every activation/block step for references ``r (n, L, 4)``, in order."""
    z_r = []

    def keep(step, z):
        z_r.append(z)
        return step.fn(z)

    run(steps, r, on_act=keep)
    return z_r


def rescale_multipliers(steps, x, r, task, expand=None, group=None):
    """DeepLIFT multipliers of ``task`` at ``x (m, L, 4)`` against references ``r``.

    Parameters
    ----------
    steps : translated model; its activation steps take the Rescale rule, its
        :class:`~dfim.native.program.RevealCancelBlock` steps RevealCancel.
    r : ``(m or 1, L, 4)``, the reference activations broadcast over rows; or
        ``(u, K, L, 4)``: each of the u sets runs on its own, so its activations do not
        depend on which other sets share the batch (TensorFlow's kernels round
        differently for different batch sizes).
    expand : callable, optional
        Maps each reference activation to ``x``'s rows, when ``r`` holds only the
        distinct references (each is run through the network once).
    group : int or scalar tensor, optional
        ``x``'s rows come in runs of that many equal rows (see :func:`dfim.native.program.run`).

    Returns
    -------
    ``(m, L, 4)``.
    """
    import tensorflow as tf

    if r.shape.rank == 4:
        n_acts = sum(step.kind in ("act", "block") for step in steps)
        z_r = tf.map_fn(lambda ri: reference_activations(steps, ri), r, fn_output_signature=[tf.float32] * n_acts)
        z_r = [tf.reshape(z, tf.concat([[-1], tf.shape(z)[2:]], 0)) for z in z_r]
    else:
        z_r = reference_activations(steps, r)
    if expand is not None:
        z_r = [expand(z) for z in z_r]
    it = iter(z_r)

    def rule(step, z):
        return (rescale_op if step.kind == "act" else revealcancel_op)(step, z, next(it))

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = run(steps, x, group=group, on_act=rule)
        y = tf.reduce_sum(y[:, task])
    return tape.gradient(y, x)


def tile_rows(z, b):
    """(K, ...) -> (b*K, ...): row j is z[j % K]."""
    import tensorflow as tf

    return tf.tile(z, tf.concat([[b], tf.ones([z.shape.rank - 1], tf.int32)], 0))


def gather_rows(z, index, K):
    """(u*K, ...) -> (b*K, ...): rows of the reference sets ``index`` (b,)."""
    import tensorflow as tf

    z = tf.reshape(z, tf.concat([[-1, K], tf.shape(z)[1:]], 0))
    z = tf.gather(z, index)
    return tf.reshape(z, tf.concat([[-1], tf.shape(z)[2:]], 0))


def hypothetical_from(m, r, b, L: int):
    """Multipliers ``m`` and references ``r``, both ``(b*K, L, 4)`` -> hypothetical scores ``(b, L, 4)``."""
    import tensorflow as tf

    h = m - tf.reduce_sum(m * r, axis=-1, keepdims=True)
    return tf.reduce_mean(tf.reshape(h, (b, -1, L, 4)), axis=1)


def hypothetical_shared(mult, rescale, x, refs, task):
    """Hypothetical scores of ``x (b, L, 4)`` against ``refs (K, L, 4)`` shared by every row -> ``(b, L, 4)``.

    ``mult``: the method's multiplier function ``(x, r, task)``; ``rescale``:
    :func:`rescale_multipliers` bound to the steps for the DeepLIFT rules (each
    reference then runs through the network once per batch), else None.
    """
    import tensorflow as tf

    L = x.shape[1]
    K = tf.shape(refs)[0]
    b = tf.shape(x)[0]
    if refs.shape[0] == 1:
        return hypothetical_from(mult(x, refs, task), refs, b, L)
    r = tile_rows(refs, b)
    if rescale is not None:
        m = rescale(tf.repeat(x, K, axis=0), refs, task, expand=lambda z: tile_rows(z, b), group=K)
    else:
        m = mult(tf.repeat(x, K, axis=0), r, task)
    return hypothetical_from(m, r, b, L)


def hypothetical_each(mult, rescale, x, refs, index, task):
    """Hypothetical scores of ``x (b, L, 4)``; ``refs (u, K, L, 4)`` distinct reference sets, ``index (b,)`` -> ``(b, L, 4)``.

    ``mult``, ``rescale``: as in :func:`hypothetical_shared`.
    """
    import tensorflow as tf

    L = x.shape[1]
    K = tf.shape(refs)[1]
    b = tf.shape(x)[0]
    flat = tf.reshape(refs, (-1, L, 4))
    r = gather_rows(flat, index, K)
    xt = tf.repeat(x, K, axis=0)
    if rescale is not None:
        m = rescale(xt, refs, task, expand=lambda z: gather_rows(z, index, K), group=K)
    else:
        m = mult(xt, r, task)
    return hypothetical_from(m, r, b, L)


def padded(a: np.ndarray, n: int):
    """``a`` padded with zero rows to ``n`` rows, as a tensor (a fixed batch shape for every call)."""
    import tensorflow as tf

    if len(a) < n:
        a = np.concatenate([a, np.zeros((n - len(a),) + a.shape[1:], a.dtype)])
    return tf.constant(a)


class NativeScorer(Scorer):
    """Multipliers of the model's target output, computed with TensorFlow 2.

    Parameters
    ----------
    model : loaded :class:`SequenceModel` (tf_keras or Keras 3).
    method : one of ``NATIVE_METHODS``.
    target : ``"preactivation"`` (default) or ``"output"``.
    threads : CPU threads for TensorFlow's intra-op pool (None = TensorFlow's default).
    ig_steps : points on the path for ``integrated_gradients``.

    ``multipliers(X, R, task)`` has the same contract as the deeplift scorer's;
    :meth:`hypothetical` is the fast path used by :func:`dfim.importance.hypothetical_scores`.
    For gradients the multipliers do not depend on the reference, which
    :attr:`reference_free` tells the caller so it can skip one pass per reference.
    :attr:`steps` is the translated model (None where only gradients through the Keras
    model itself work). Usable as a context manager (``close`` on exit).
    """

    def __init__(self, model: SequenceModel, method: str = "grad_x_input", target: str = "preactivation",
                 threads=None, ig_steps: int = IG_STEPS):
        if method not in NATIVE_METHODS:
            raise ValueError(f"unknown native method {method!r}; choose one of {list(NATIVE_METHODS)}")
        if int(ig_steps) < 1:
            raise ValueError(f"ig_steps must be >= 1, got {ig_steps}")
        if threads:
            set_threads(int(threads))
        self.model = model
        self.method = method
        self.target = target
        self.ig_steps = int(ig_steps)
        self.reference_free = method == "grad_x_input"
        self.locality = True  # mutants' local forward pass where it applies (dfim.native.locality); False: full pass
        self.locality_path = None  # which path the last call with ``origin`` took, and why
        check_xla()  # now, eagerly: the compiled steps are built while tracing
        self.steps = self._translated(target)
        self._build_functions(target)

    def _translated(self, target: str):
        """The model's steps after this method's passes, checked against Keras; None if gradients can do without."""
        method, model = self.method, self.model
        try:
            steps = translate(model, target)
            if method == "deeplift":
                steps = genomics_default(steps)
            steps = fuse_relu_pool(steps)
            if method not in DEEPLIFT_RULES:
                steps = pool_before_relu(steps)
            self._check_translation(steps, model.output_fn(target))
            return steps
        except Exception as exc:
            if method in DEEPLIFT_RULES:
                if isinstance(exc, ModelError):
                    raise
                raise ModelError(f"{model.path}: cannot translate the model for the {method} rule "
                                 f"({type(exc).__name__}: {exc}); use backend deeplift") from exc
            return None  # gradients still work through the Keras model itself

    def _build_functions(self, target: str) -> None:
        """The method's multiplier and hypothetical-score functions, as ``tf.function``\\ s with fixed signatures."""
        import tensorflow as tf

        steps, L, method = self.steps, self.model.length, self.method
        if steps is not None:
            logits = lambda x: run(steps, x)  # noqa: E731
            function = graph_function
        else:  # the user's Keras layers may branch on tensors: AutoGraph stays on for them
            logits = self.model.output_fn(target)
            function = tf.function
        spec_x = tf.TensorSpec((None, L, 4), tf.float32)
        spec_task = tf.TensorSpec((), tf.int32)
        rescale = None
        if method == "grad_x_input":
            mult = lambda x, r, t: gradient(logits, x, t)  # noqa: E731
        elif method == "integrated_gradients":
            mult = lambda x, r, t: integrated_gradients(logits, x, r, t, self.ig_steps)  # noqa: E731
        else:
            def rescale(x, r, task, expand=None, group=None):
                return rescale_multipliers(steps, x, r, task, expand=expand, group=group)

            mult = rescale
        # public for benchmarks that time one pass: multiplier_fn(x, r, task) traced
        # inside their own tf.function, gradient_fn(x, task) compiled
        self.multiplier_fn = mult
        self.gradient_fn = function(lambda x, t: gradient(logits, x, t), input_signature=[spec_x, spec_task])
        self._rows = function(mult, input_signature=[spec_x, spec_x, spec_task])
        shared = lambda x, refs, t: hypothetical_shared(mult, rescale, x, refs, t)  # noqa: E731
        self._hyp_one = function(shared, input_signature=[spec_x, tf.TensorSpec((1, L, 4), tf.float32),
                                                          spec_task])
        self._hyp_shared = function(shared, input_signature=[spec_x, spec_x, spec_task])
        self._hyp_each = function(
            lambda x, refs, index, t: hypothetical_each(mult, rescale, x, refs, index, t),
            input_signature=[spec_x, tf.TensorSpec((None, None, L, 4), tf.float32),
                             tf.TensorSpec((None,), tf.int32), spec_task])

    def _check_translation(self, steps, keras_fn) -> None:
        """The translated ops must reproduce the Keras model's target output."""
        rng = np.random.default_rng(0)
        x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (2, self.model.length))]
        import tensorflow as tf

        x = tf.constant(x)
        # in a graph, as scoring runs it (eagerly, each compiled step would be traced for this call alone)
        a = graph_function(lambda v: run(steps, v))(x).numpy()
        b = keras_fn(x).numpy().reshape(len(a), -1)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-4 * (1 + np.abs(b).max())):
            raise ModelError(
                f"{self.model.path}: the native translation of the model does not reproduce its output "
                f"(max difference {np.abs(a - b).max() if a.shape == b.shape else 'shape ' + str(a.shape)}); "
                "please report this model's layers; meanwhile use backend deeplift"
            )

    def _rows_per_call(self, batch_size: int, K: int) -> int:
        per_row = K * (self.ig_steps if self.method == "integrated_gradients" else 1)
        return max(1, int(batch_size) // per_row)

    def multipliers(self, X: np.ndarray, R: np.ndarray | None, task: int, batch_size: int = 256, *,
                    origin=None, spans=None, targets=None) -> np.ndarray:
        """Multipliers of ``task`` at ``X (m, L, 4)`` against references ``R (m, L, 4)``.

        ``R`` may be None for ``grad_x_input``. Returns ``(m, L, 4)`` float32.
        ``origin``, ``spans``, ``targets``: as in :meth:`hypothetical` (reference-free multipliers only).
        """
        import tensorflow as tf

        if origin is not None and R is None:
            local = local_scores(self, X, origin, spans, task, batch_size, targets=targets)
            if local is not None:
                return local

        X = np.asarray(X, np.float32)
        t = tf.constant(int(task), tf.int32)
        if self.reference_free:
            parts = [self.gradient_fn(padded(X[i : i + batch_size], batch_size), t).numpy()[: len(X[i : i + batch_size])]
                     for i in range(0, len(X), batch_size)]
        else:
            if R is None:
                raise ValueError(f"method {self.method} needs references")
            R = np.asarray(R, np.float32)
            step = self._rows_per_call(batch_size, 1)
            parts = [self._rows(padded(X[i : i + step], step), padded(R[i : i + step], step), t).numpy()[
                : len(X[i : i + step])] for i in range(0, len(X), step)]
        return np.concatenate(parts) if parts else np.zeros_like(X)

    def hypothetical(self, X: np.ndarray, refs: np.ndarray, ref_index: np.ndarray, task: int,
                     batch_size: int = 256, *, origin=None, spans=None, targets=None, progress=None) -> np.ndarray:
        """Hypothetical scores ``(n, L, 4)``, averaged over each sequence's ``K`` references.

        X : ``(n, L, 4)``; refs : ``(n_r, K, L, 4)``; ref_index : ``(n,)`` row of ``refs``
        for each sequence. A single reference set (``n_r == 1``) is run through the
        network once per batch rather than once per sequence.

        Every call runs the same number of rows (the last batch is padded): TensorFlow's
        kernels round differently for different batch sizes, and a sequence's scores
        must not depend on how many others share its shard.

        ``origin`` ``(n,)``: the row of ``X`` each row was mutated from (-1 for an
        original), ``spans`` ``(n, 2)``: where it was changed, ``[start, end)``. With
        them, mutants' forward passes are computed only where they differ from their
        original (:mod:`dfim.native.locality`: one shared reference, chain CNNs), the
        same scores to float rounding; ``self.locality = False`` forces the full pass.
        ``targets`` (with ``origin``): for each row None or the ``[start, end)`` intervals where
        its scores are wanted; on the local path such a row's input gradient is computed in
        its targets' cones only and its scores are NaN elsewhere (on the full pass, exact everywhere).
        progress : a :class:`dfim.progress.Progress` told the rows of every batch, or None.
        """
        import tensorflow as tf

        if origin is not None:
            local = local_scores(self, X, origin, spans, task, batch_size, refs=np.asarray(refs, np.float32),
                                 progress=progress, targets=targets)
            if local is not None:
                return local

        X = np.asarray(X, np.float32)
        refs = np.asarray(refs, np.float32)
        n, K = len(X), refs.shape[1]
        t = tf.constant(int(task), tf.int32)
        step = self._rows_per_call(batch_size, K)
        out = np.empty_like(X)
        if len(refs) == 1:
            shared = tf.constant(refs[0])
            fn = self._hyp_one if K == 1 else self._hyp_shared
            for i in range(0, n, step):
                m = len(X[i : i + step])
                out[i : i + m] = fn(padded(X[i : i + step], step), shared, t).numpy()[:m]
                advance(progress, m)
            return out
        for i in range(0, n, step):
            # mutants share their original's references: run each distinct set through the network once
            sets, index = np.unique(ref_index[i : i + step], return_inverse=True)
            m = len(index)
            out[i : i + m] = self._hyp_each(padded(X[i : i + step], step), tf.constant(refs[sets]),
                                            padded(index.astype(np.int32), step), t).numpy()[:m]
            advance(progress, m)
        return out

"""Prototype: mutants' forward pass computed only where they differ from their original (fastISM-style).

A DFIM batch holds originals and their mutants; a mutant differs from its original only
inside its source. Through the convolutional layers the difference stays in a window
(widened by each kernel, shrunk by each pooling), so a mutant's convolution outputs are
its original's outside that window. This prototype computes, for mutant rows, each
convolution only on the window and copies the rest from the original's activations;
activations, pooling and the dense layers run on whole tensors, and the input-gradient
pass is the full one (every convolution's gradient as in the native scorer).

Not part of the package: ``bench/speed/run.py`` measures it against the native scorer's
full pass on the same DFIM batch. The production version is :mod:`dfim.native.locality`
(``score_sequences`` uses it automatically; ``bench/speed/locality_prod.py`` measures it). Supports chains of Conv1D (stride 1, no dilation;
``same``/``valid``), element-wise activations, MaxPooling1D (valid, stride = pool size),
batch normalisation, Flatten and Dense; gradient x input and Rescale against one
shared reference.
"""

from __future__ import annotations

import numpy as np


def _conv_layer(model, step):
    layer = model.keras_model.get_layer(step.name)
    w = layer.get_weights()
    k = w[0].shape[0]
    padding = layer.get_config().get("padding", "valid")
    if layer.strides[0] != 1 or layer.dilation_rate[0] != 1 or padding not in ("same", "valid"):
        raise ValueError(f"locality prototype: layer {step.name} is not a plain stride-1 convolution")
    left = (k - 1) // 2 if padding == "same" else 0
    right = k - 1 - left if padding == "same" else 0
    return np.asarray(w[0], np.float32), (np.asarray(w[1], np.float32) if len(w) > 1 else None), k, left, right


def _pool_layer(model, step):
    layer = model.keras_model.get_layer(step.name)
    p, s = layer.pool_size[0], layer.strides[0]
    if p != s or layer.get_config().get("padding", "valid") != "valid":
        raise ValueError(f"locality prototype: pooling {step.name} must be valid with stride = pool size")
    return p


def build(model, steps, method: str = "grad_x_input"):
    """A ``tf.function(x_orig, x_mut, orig_index, start, width, task, ref)`` -> multipliers of both.

    ``steps``: the native scorer's translated steps (``NativeScorer.steps``) for
    ``grad_x_input`` or ``rescale``; ``start`` (m,): first changed base of each mutant;
    ``width``: a Python int, the widest source of the batch; ``ref`` (1, L, 4): the
    shared reference (used by Rescale).
    """
    import tensorflow as tf

    from dfim.native.program import run as run_steps
    from dfim.native.program import vjp
    from dfim.native.rules import rescale_op

    plan = []  # per step: ("conv", kernel, bias, k, left, right) | ("pool", p) | ("act",) | ("other",)
    windowed = True
    for step in steps:
        if not windowed:
            plan.append(("other",))
        elif step.kind == "linear" and step.layer == "Conv1D":
            plan.append(("conv",) + _conv_layer(model, step))
        elif step.kind == "linear" and step.layer == "MaxPooling1D":
            plan.append(("pool", _pool_layer(model, step)))
        elif step.layer == "ReLUMaxPool":  # ReLU + max-pool as one step
            plan.append(("pool", step.size))
        elif step.kind == "act" or step.layer == "BatchNormalization":
            plan.append(("elementwise",))
        elif step.layer in ("Flatten", "Dense"):
            windowed = False
            plan.append(("other",))
        else:
            raise ValueError(f"locality prototype: unsupported step {step.name} ({step.layer})")

    def windowed_conv(fn, h, z_orig, a, w_out, kernel, bias, k, left, right):
        """fn(h) for mutant rows: recomputed on [a, a + w_out), the original's values elsewhere."""
        idx = a[:, None] + tf.range(w_out + k - 1)[None, :]

        @tf.custom_gradient
        def op(v):
            padded = tf.pad(v, [[0, 0], [left, right], [0, 0]])
            win = tf.nn.conv1d(tf.gather(padded, idx, batch_dims=1), kernel, 1, "VALID")
            if bias is not None:
                win = tf.nn.bias_add(win, bias)
            rows = tf.repeat(tf.range(tf.shape(v)[0])[:, None], w_out, axis=1)
            pos = a[:, None] + tf.range(w_out)[None, :]
            z = tf.tensor_scatter_nd_update(z_orig, tf.stack([rows, pos], -1), win)
            return z, lambda g: vjp(fn, v, g)  # the whole input gradient, as the native scorer's

        return op(h)

    def forward(x_orig, x_mut, orig_index, start, width, on_act):
        """Logits of originals (full) and mutants (windowed convolutions)."""
        h_o, h_m = x_orig, x_mut
        a, w = start, width
        for step, p in zip(steps, plan):
            if p[0] == "conv":
                _, kernel, bias, k, left, right = p
                z_o = step.fn(h_o)
                L_out = z_o.shape[1]
                w = min(L_out, w + k - 1)
                a = tf.clip_by_value(a - (k - 1 - left), 0, L_out - w)
                z_base = tf.stop_gradient(tf.gather(z_o, orig_index))
                h_m = windowed_conv(step.fn, h_m, z_base, a, w, kernel, bias, k, left, right)
                h_o = z_o
            elif p[0] == "pool":
                pool = p[1]
                if step.kind == "act" and on_act is not None:
                    h_o, h_m = on_act(step, h_o, "o"), on_act(step, h_m, "m")
                else:
                    h_o, h_m = step.fn(h_o), step.fn(h_m)
                L_out = h_m.shape[1]
                w = min(L_out, (w + pool - 1) // pool + 1)
                a = tf.clip_by_value(a // pool, 0, L_out - w)
            elif step.kind == "act" and on_act is not None:
                h_o, h_m = on_act(step, h_o, "o"), on_act(step, h_m, "m")
            else:
                h_o, h_m = step.fn(h_o), step.fn(h_m)
        flat = lambda t: tf.reshape(t, (tf.shape(t)[0], -1))
        return flat(h_o), flat(h_m)

    def run(x_orig, x_mut, orig_index, start, width, task, ref):
        on_act = None
        if method == "rescale":
            z_r = []
            run_steps(steps, ref, on_act=lambda s, z: (z_r.append(z), s.fn(z))[1])
            its = {"o": iter(z_r), "m": iter(list(z_r))}
            on_act = lambda s, z, which: rescale_op(s, z, next(its[which]))
        with tf.GradientTape() as tape:
            tape.watch([x_orig, x_mut])
            y_o, y_m = forward(x_orig, x_mut, orig_index, start, width, on_act)
            y = tf.reduce_sum(y_o[:, task]) + tf.reduce_sum(y_m[:, task])
        return tape.gradient(y, [x_orig, x_mut])

    return run


def measure(model, scorer_factory, X0, mutants, orig_index, starts, width, rounds, threads, timer_cls):
    """Time the full native pass and the windowed prototype on one DFIM batch.

    Returns {method: (full (wall, cpu), windowed (wall, cpu), max rel. diff, sequences beyond 1e-4, rows)}.
    """
    import functools

    import tensorflow as tf

    L = model.length
    gc_ref = np.tile(np.array([0.27, 0.23, 0.23, 0.27], np.float32), (1, L, 1))
    out = {}
    for method in ("grad_x_input", "rescale"):
        s = scorer_factory(method)
        steps = s.steps
        ref = tf.constant(gc_ref)
        task = tf.constant(0)
        xo, xm = tf.constant(X0), tf.constant(mutants)
        oi, st = tf.constant(orig_index.astype(np.int32)), tf.constant(starts.astype(np.int32))
        window = tf.function(functools.partial(build(model, steps, method), width=width))
        X = tf.concat([xo, xm], 0)
        if method == "rescale":
            full = tf.function(lambda x: s.multiplier_fn(x, ref, task))
        else:
            full = tf.function(lambda x: s.gradient_fn(x, task))
        a = full(X).numpy()
        b = np.concatenate([t.numpy() for t in window(xo, xm, oi, st, task=task, ref=ref)])
        diff = float(np.abs(a - b).max() / np.abs(a).max())
        beyond = int((np.abs(a - b).max(axis=(1, 2)) > 1e-4 * np.abs(a).max()).sum())
        tf_, tw = timer_cls(), timer_cls()
        for _ in range(rounds):
            with tf_:
                full(X).numpy()
            with tw:
                [t.numpy() for t in window(xo, xm, oi, st, task=task, ref=ref)]
        out[method] = (tf_.best(threads), tw.best(threads), diff, beyond, len(X0) + len(mutants))
    return out

"""Mutants' forward pass computed only where they differ from their original (fastISM-style locality).

A DFIM mutant differs from its original only inside its source. Through a
convolution the difference spreads by the kernel width, through pooling it shrinks by
the stride, so up to the first layer that mixes all positions (Flatten, Dense, a
global pooling) a mutant's activations are its original's outside a window. When the
original is scored in the same batch, each convolution of a mutant row is computed on
that window only and the rest is copied from the original's output
(:func:`windowed_conv`). Element-wise activations, batch normalisation and pooling run
on whole tensors (they are cheap), as do every layer from the first one that is not a
plain local op on, and the whole input-gradient (multiplier) pass: every convolution's
gradient is the full one, as in the native scorer, so only forward FLOPs are saved.

Where it applies (:func:`why_full`), else the native scorer's full pass runs unchanged:

* methods ``grad_x_input`` (any reference: the multipliers do not depend on it),
  ``rescale`` and ``deeplift`` against ONE reference shared by every row (GC or
  zero background: ``refs`` of shape ``(1, 1, L, 4)``). With per-sequence shuffled
  references the backward pass runs once per reference and the forward once, so a
  window-only forward gains little there;
* chain programs (not graphs) whose first layer is a Conv1D with stride 1, no
  dilation, ``same`` or ``valid`` padding. The windowed prefix runs through such
  convolutions, element-wise activations, batch normalisation, max- and
  average-pooling with stride = pool size and valid padding, and the fused ReLU +
  max-pool step; it stops at the first other step (or where the window would cover
  the whole layer), and everything from there on runs on whole tensors, exactly as
  in the full pass.

Batches (:func:`pack`) hold each original with its mutants: ``B_o`` original rows and
``B - B_o`` mutant rows, padded to that fixed shape; an original with more mutants
than fit is repeated in the next batch. Mutants are grouped by window width (the
width of the rows where they differ from their original, rounded up to a power of two
>= 8, :func:`bucket`), so a mutant's window depends on itself only and each width is
traced once. A mutant's scores then depend on the other rows of its batch only through
TensorFlow's float rounding (as they would for a different batch size), and equal the
full pass's to float rounding (tests/test_locality.py: within 1e-5 relative).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..progress import advance
from .program import is_graph, run

log = logging.getLogger("dfim")

LOCAL_METHODS = ("grad_x_input", "rescale", "deeplift")
MIN_BUCKET = 8  # narrowest window traced (bp); wider ones are powers of two


def bucket(width: int) -> int:
    """The window width traced for a mutant differing on ``width`` positions: a power of two >= 8."""
    b = MIN_BUCKET
    while b < width:
        b *= 2
    return b


@dataclass
class Op:
    """One step of the windowed prefix: ``kind`` ``"conv"`` (with its weights and padding), ``"pool"``
    (``size``) or ``"same"`` (element-wise: the window is unchanged); ``width`` is the window after it."""

    kind: str
    width: int
    kernel: object = None
    bias: object = None
    k: int = 1
    left: int = 0
    right: int = 0
    size: int = 1


def _conv_params(model, step):
    """(kernel, bias, k, left, right) of a plain stride-1 Conv1D, or None (then the prefix stops)."""
    try:
        layer = model.keras_model.get_layer(step.name)
        cfg = layer.get_config()
    except Exception:  # noqa: BLE001 - a step not named after its Keras layer: no windowing
        return None

    def one(v):
        return int(v[0] if isinstance(v, (list, tuple)) else v)

    padding = cfg.get("padding", "valid")
    if (one(cfg.get("strides", 1)) != 1 or one(cfg.get("dilation_rate", 1)) != 1 or padding not in ("same", "valid")
            or int(cfg.get("groups", 1) or 1) != 1 or cfg.get("data_format", "channels_last") != "channels_last"):
        return None
    w = layer.get_weights()
    kernel = np.asarray(w[0], np.float32)
    k = kernel.shape[0]
    left = (k - 1) // 2 if padding == "same" else 0
    right = k - 1 - left if padding == "same" else 0
    return kernel, (np.asarray(w[1], np.float32) if len(w) > 1 else None), k, left, right


def window_plan(model, steps, L: int, width: int) -> list:
    """The windowed prefix of ``steps`` for a change of ``width`` positions of an input of length ``L``.

    Returns one :class:`Op` per step of the prefix (possibly none): it stops at the
    first step that is not a local op, and at a convolution whose window would cover
    its whole output (from there on the mutant is computed in full).
    """
    plan: list = []
    w = width
    for step in steps:
        layer = step.layer
        if layer == "Conv1D" and step.kind == "linear":
            p = _conv_params(model, step)
            if p is None:
                break
            kernel, bias, k, left, right = p
            L = L + left + right - k + 1
            if w + k - 1 >= L:
                break
            w = w + k - 1
            plan.append(Op("conv", w, kernel, bias, k, left, right))
        elif layer in ("MaxPooling1D", "AveragePooling1D") and step.kind == "linear":
            if step.size != step.stride or step.padding != "VALID":
                break
            L = L // step.size
            w = min(L, (w + step.size - 2) // step.size + 1)
            plan.append(Op("pool", w, size=step.size))
        elif layer == "ReLUMaxPool":
            L = L // step.size
            w = min(L, (w + step.size - 2) // step.size + 1)
            plan.append(Op("pool", w, size=step.size))
        elif (step.kind == "act" and getattr(step, "elementwise", False)) or layer == "BatchNormalization":
            plan.append(Op("same", w))
        else:
            break
    while plan and plan[-1].kind != "conv":  # what follows the last windowed conv runs on whole tensors
        plan.pop()
    return plan


def why_full(scorer, refs=None) -> str | None:
    """Why the scorer's full pass must run for these references (None: the local forward applies)."""
    if not getattr(scorer, "locality", False):
        return "locality disabled (scorer.locality = False)"
    if scorer.method not in LOCAL_METHODS:
        return f"method {scorer.method} (local forward: {', '.join(LOCAL_METHODS)})"
    if scorer.steps is None:
        return "the model has no native translation (gradients through Keras)"
    if is_graph(scorer.steps):
        return "graph program (locality covers chains)"
    if refs is not None and not scorer.reference_free and (len(refs) != 1 or refs.shape[1] != 1):
        return (f"{refs.shape[0]} reference set(s) of {refs.shape[1]} (locality needs one reference shared by "
                "every row; the backward pass runs once per reference)")
    return None


def windowed_conv(fn, h, z_base, a, op: Op):
    """``fn(h)`` for mutant rows ``h``: computed on ``[a, a + op.width)`` of the output, ``z_base``
    (the original's output) elsewhere; its gradient is ``fn``'s full input gradient.

    a : ``(m,)`` int32 first output position of each row's window.
    """
    import tensorflow as tf

    w_out = op.width
    idx = a[:, None] + tf.range(w_out + op.k - 1)[None, :]
    kernel = tf.constant(op.kernel)
    bias = None if op.bias is None else tf.constant(op.bias)

    @tf.custom_gradient
    def conv(v):
        from .program import vjp

        padded = tf.pad(v, [[0, 0], [op.left, op.right], [0, 0]])
        win = tf.nn.conv1d(tf.gather(padded, idx, batch_dims=1), kernel, 1, "VALID")
        if bias is not None:
            win = tf.nn.bias_add(win, bias)
        rows = tf.repeat(tf.range(tf.shape(v)[0])[:, None], w_out, axis=1)
        pos = a[:, None] + tf.range(w_out)[None, :]
        z = tf.tensor_scatter_nd_update(z_base, tf.stack([rows, pos], -1), win)
        return z, lambda g: vjp(fn, v, g)

    return conv(h)


def local_logits(steps, plan, x_o, x_m, orig_index, start, width: int, rule=None):
    """Outputs ``(B_o + B_m, n_out)`` of originals ``x_o`` (full) and mutants ``x_m`` (windowed prefix).

    orig_index : ``(B_m,)`` row of ``x_o`` each mutant comes from; start : ``(B_m,)`` first
    position of its changed window (``width`` wide) in the input. ``rule(step, z)``
    replaces each activation (the DeepLIFT rules), as ``on_act`` of :func:`run`.
    """
    import tensorflow as tf

    def apply(step, h):
        return rule(step, h) if rule is not None and step.kind in ("act", "block") else step.fn(h)

    h_o, h_m, a = x_o, x_m, start
    for step, op in zip(steps, plan):
        if op.kind == "conv":
            z_o = step.fn(h_o)
            L_out = z_o.shape[1]
            a = tf.clip_by_value(a - (op.k - 1 - op.left), 0, L_out - op.width)
            h_m = windowed_conv(step.fn, h_m, tf.stop_gradient(tf.gather(z_o, orig_index)), a, op)
            h_o = z_o
        else:
            h_o, h_m = apply(step, h_o), apply(step, h_m)
            if op.kind == "pool":
                a = tf.clip_by_value(a // op.size, 0, h_m.shape[1] - op.width)
    h = tf.concat([h_o, h_m], 0)
    return run(steps[len(plan):], h, on_act=rule)


class LocalForward:
    """The scorer's local multiplier functions, one ``tf.function`` per window width."""

    def __init__(self, scorer):
        self.scorer = scorer
        self._fns: dict = {}
        self.plans: dict = {}

    def plan(self, width: int) -> list:
        if width not in self.plans:
            s = self.scorer
            self.plans[width] = window_plan(s.model, s.steps, s.model.length, width)
        return self.plans[width]

    def fn(self, width: int):
        """``(x_o, x_m, orig_index, start, ref, task) -> (m_o, m_m)`` multipliers, for windows of ``width``."""
        if width in self._fns:
            return self._fns[width]
        import tensorflow as tf

        from .rules import rescale_op, revealcancel_op
        from .scorer import reference_activations

        s = self.scorer
        steps, plan, L = s.steps, self.plan(width), s.model.length
        rules = s.method != "grad_x_input"

        def multipliers(x_o, x_m, orig_index, start, ref, task):
            rule = None
            if rules:
                z_r = iter(reference_activations(steps, ref))
                by_step = {id(st): next(z_r) for st in steps if st.kind in ("act", "block")}

                def rule(step, z):
                    return (rescale_op if step.kind == "act" else revealcancel_op)(step, z, by_step[id(step)])

            with tf.GradientTape() as tape:
                tape.watch([x_o, x_m])
                y = local_logits(steps, plan, x_o, x_m, orig_index, start, width, rule)
                y = tf.reduce_sum(y[:, task])
            return tape.gradient(y, [x_o, x_m])

        spec_x = tf.TensorSpec((None, L, 4), tf.float32)
        spec_i = tf.TensorSpec((None,), tf.int32)
        f = tf.function(multipliers, input_signature=[spec_x, spec_x, spec_i, spec_i,
                                                      tf.TensorSpec((1, L, 4), tf.float32),
                                                      tf.TensorSpec((), tf.int32)])
        self._fns[width] = f
        return f


def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


def pack(orig_of: np.ndarray, rows: int):
    """Batches of originals with their mutants.

    Parameters
    ----------
    orig_of : ``(m,)`` the original (any int id, in the order met) of each mutant.
    rows : rows per call.

    Returns
    -------
    ``(B_o, batches)``: each batch a pair ``(originals, slots)``: the distinct originals of the
    batch (at most ``B_o``), and for each of its mutants (at most ``rows - B_o``, as
    indices into ``orig_of``) the slot of its original, as ``[(mutant, slot), ...]``.
    ``B_o`` is a power of two (few traced shapes) near ``rows`` times the share of originals.
    """
    order = {}
    for j, o in enumerate(orig_of):
        order.setdefault(int(o), []).append(j)
    n_o, m = len(order), len(orig_of)
    rows = max(2, int(rows))
    B_o = min(max(1, rows // 2), _pow2(-(-rows * n_o // (n_o + m))))
    B_m = rows - B_o
    batches, cur_o, cur_m = [], [], []
    for o, muts in order.items():
        while muts:
            if len(cur_o) == B_o or len(cur_m) == B_m:
                batches.append((cur_o, cur_m))
                cur_o, cur_m = [], []
            cur_o.append(o)
            take, muts = muts[: B_m - len(cur_m)], muts[B_m - len(cur_m):]
            cur_m += [(j, len(cur_o) - 1) for j in take]
    if cur_o:
        batches.append((cur_o, cur_m))
    return B_o, batches


def changed_windows(X: np.ndarray, origin: np.ndarray, spans=None):
    """First and last + 1 position where each mutant row differs from its original (within its span).

    Returns ``(start, end)`` arrays over the rows with ``origin >= 0`` (a mutant equal to
    its original gets a window of width 1 at its span's start). Raises ValueError where a
    row differs from its original outside the span it was given.
    """
    mut = np.flatnonzero(origin >= 0)
    diff = np.any(X[mut] != X[origin[mut]], axis=-1)  # (m, L)
    any_ = diff.any(axis=1)
    L = X.shape[1]
    start = np.where(any_, diff.argmax(axis=1), 0)
    end = np.where(any_, L - diff[:, ::-1].argmax(axis=1), 1)
    if spans is not None:
        spans = np.asarray(spans)[mut]
        bad = any_ & ((start < spans[:, 0]) | (end > spans[:, 1]))
        if bad.any():
            j = int(mut[np.flatnonzero(bad)[0]])
            raise ValueError(f"row {j} differs from its original (row {int(origin[j])}) outside its span "
                             f"{tuple(int(v) for v in np.asarray(spans)[np.flatnonzero(bad)[0]])}")
        start = np.where(any_, start, np.clip(spans[:, 0], 0, L - 1))
        end = np.where(any_, end, start + 1)
    return start, end


def _note(scorer, msg: str) -> None:
    """Record which path ran (``scorer.locality_path``) and log it once per scorer."""
    scorer.locality_path = msg
    seen = scorer.__dict__.setdefault("_locality_logged", set())
    if msg not in seen:
        seen.add(msg)
        log.info("native scorer (%s): %s", scorer.method, msg)


def local_scores(scorer, X: np.ndarray, origin, spans, task: int, batch_size: int, refs=None, progress=None):
    """Multipliers (``refs`` None: reference-free gradients) or hypothetical scores against one shared
    reference ``refs (1, 1, L, 4)`` of ``X (n, L, 4)``, computing mutants' forward passes locally.

    origin : ``(n,)`` for each row, the row of ``X`` it was mutated from, or -1 (an original).
    spans : ``(n, 2)`` ``[start, end)`` of each mutant's change (rows with ``origin < 0`` ignored), or None.

    Returns None when the scorer's full pass must run instead (:func:`why_full`; recorded
    in ``scorer.locality_path``), else ``(n, L, 4)`` float32. Rows the local pass does not
    cover (originals without mutants, mutants whose window covers a whole layer) are
    scored by the full pass.
    """
    import tensorflow as tf

    reason = why_full(scorer, refs)
    X = np.asarray(X, np.float32)
    n, L = len(X), X.shape[1]
    origin = np.asarray(origin, np.int64)
    if reason is None and origin.shape != (n,):
        raise ValueError(f"origin must have one entry per row ({n}), got shape {origin.shape}")
    if reason is None:
        mut = np.flatnonzero(origin >= 0)
        if not len(mut):
            reason = "no mutant rows"
        elif origin.max() >= n or (origin[origin[mut]] >= 0).any():
            raise ValueError("origin must point each mutant at a row that is itself an original (origin -1)")
    if reason is None:
        start, end = changed_windows(X, origin, spans)
        widths = np.array([bucket(int(w)) for w in end - start])
        local = {w: mut[widths == w] for w in np.unique(widths) if _has_window(scorer, int(w))}
        if not local:
            reason = f"no windowable convolution for windows of {sorted(set(widths.tolist()))} bp"
    if reason is not None:
        _note(scorer, "full pass: " + reason)
        return None
    fwd = _forward(scorer)
    starts = dict(zip(mut.tolist(), start.tolist()))
    rows = scorer._rows_per_call(batch_size, 1)
    ref = tf.constant(refs[0] if refs is not None else np.zeros((1, L, 4), np.float32))
    t = tf.constant(int(task), tf.int32)
    out = np.empty_like(X)
    done = np.zeros(n, bool)  # rows with local multipliers
    for w, rows_w in local.items():
        B_o, batches = pack(origin[rows_w], rows)
        f = fwd.fn(int(w))
        for origs, muts in batches:
            mj = rows_w[[j for j, _ in muts]]
            xo = X[origs]
            xm = X[mj]
            oi = np.array([s for _, s in muts], np.int32)
            # the window of width w starting at the change, clipped into the input
            a = np.clip(np.array([starts[j] for j in mj]), 0, L - int(w)).astype(np.int32)
            B_m = rows - B_o
            m_o, m_m = f(_pad(xo, B_o), _pad(xm, B_m), _pad(oi, B_m), _pad(a, B_m), ref, t)
            m_o, m_m = m_o.numpy()[: len(origs)], m_m.numpy()[: len(mj)]
            new = ~done[origs]
            out[np.asarray(origs)[new]] = m_o[new]
            done[np.asarray(origs)[new]] = True
            out[mj] = m_m
            done[mj] = True
            advance(progress, int(new.sum()) + len(mj))
    if refs is not None:  # hypothetical scores against the one reference, as hypothetical_from
        out[done] = out[done] - (out[done] * refs[0, 0]).sum(-1, keepdims=True)
    rest = np.flatnonzero(~done)
    if len(rest):  # originals without local mutants, mutants too wide for a window: the full pass
        if refs is None:
            out[rest] = scorer.multipliers(X[rest], None, task, batch_size)
        else:
            out[rest] = scorer.hypothetical(X[rest], refs, np.zeros(len(rest), int), task, batch_size,
                                            progress=progress)
    _note(scorer, f"local forward for mutant rows (windows of {sorted(int(w) for w in local)} bp; "
                  f"{len(mut) - sum(len(v) for v in local.values())} mutant(s) on the full pass)")
    return out


def _forward(scorer) -> LocalForward:
    """The scorer's :class:`LocalForward`, made on first use."""
    fwd = scorer.__dict__.get("_local_forward")
    if fwd is None:
        fwd = scorer._local_forward = LocalForward(scorer)
    return fwd


def _has_window(scorer, width: int) -> bool:
    """Whether windows of ``width`` have at least one windowed convolution on this scorer's model."""
    return bool(_forward(scorer).plan(width))


def _pad(a: np.ndarray, n: int):
    import tensorflow as tf

    a = np.asarray(a)
    if len(a) < n:
        a = np.concatenate([a, np.zeros((n - len(a),) + a.shape[1:], a.dtype)])
    return tf.constant(a)

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

Rows whose scores are wanted on a few *targets* only (the random-source null's segment
mutants: their FIS reads the window's elements and nothing else) also get a local
backward pass: a target's input gradient depends on the layers above only through the
cone of positions a change of the target's width would affect (the same
:func:`window_plan`), so each convolution's input gradient is computed on the targets'
windows only (:func:`input_grad_windows`), and the first convolution with the
element-wise and pooling steps after it (:class:`Block`, the largest tensors of the
network) runs on slices of the input around the change and around each target
(:func:`block_op`). Such rows' scores are NaN off their targets.

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
>= 16, :func:`bucket`), so a mutant's window depends on itself only and each width is
traced once. A mutant's scores then depend on the other rows of its batch only through
TensorFlow's float rounding (as they would for a different batch size), and equal the
full pass's to float rounding (tests/test_locality.py: within 1e-5 relative).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..progress import advance
from .config import graph_function
from .program import is_graph, run

log = logging.getLogger("dfim")


class _OneFunctionPerWidth(logging.Filter):
    """Drops TensorFlow's "frequent retracing" warning about :class:`LocalForward`'s functions: there is one
    per window width by design, each traced once, and the warning's advice does not apply."""

    def filter(self, record) -> bool:
        return "LocalForward.fn" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_OneFunctionPerWidth())

LOCAL_METHODS = ("grad_x_input", "rescale", "deeplift")
# narrowest window traced (bp); wider ones are powers of two. Each (change, target) width pair
# is one traced function, about 2 s of a job's start-up each on a Basset-sized model: with
# motifs of 6-20 bp, 16 instead of 8 leaves 2 functions where there were 5 (a 50-window shard
# job 31 -> 26 s), the extra positions of the narrow changes costing less than the traces.
MIN_BUCKET = 16


def bucket(width: int) -> int:
    """The window width traced for a mutant differing on ``width`` positions: a power of two >= MIN_BUCKET."""
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
    _valid: object = None  # the convolution on slices (:func:`valid_conv`), made on first use


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


def valid_conv(op: Op):
    """``x (n, w + k - 1, C_in) -> (n, w, C_out)``: ``op``'s convolution on input slices, computed as the full
    pass computes it (:func:`dfim.native.layers.conv1d`): on few input channels (one-hot DNA) as one matrix
    product with its col2im gradient, which on the Basset-sized model makes the null's importance pass
    about 12 % faster than TensorFlow's convolution of the slices."""
    if op._valid is None:
        import tensorflow as tf

        from .kernels import IM2COL_MAX_CHANNELS, im2col_conv

        with tf.init_scope():  # eager constants, made once, whichever trace asks first
            kernel = tf.constant(op.kernel)
            bias = None if op.bias is None else tf.constant(op.bias)
            if op.kernel.shape[1] <= IM2COL_MAX_CHANNELS:
                op._valid = im2col_conv(kernel, bias, "valid")
        if op._valid is None:
            def conv(x):
                z = tf.nn.conv1d(x, kernel, 1, "VALID")
                return z if bias is None else tf.nn.bias_add(z, bias)

            op._valid = conv
    return op._valid


def take_windows(t, first, width: int, left: int | None = None):
    """``t (m, L, C)`` on ``width``-wide windows starting at ``first (m, T)`` -> ``(m * T, width, C)``.

    left : None, or ``first`` indexes ``t`` padded with ``left`` zeros before it and with zeros
    after it. The padding is not made (padding the whole tensor to read a few windows of
    it cost more than the windows): positions outside ``t`` read as 0.
    """
    import tensorflow as tf

    idx = first[:, :, None] + tf.range(width)[None, None, :]
    if left is not None:
        idx = idx - left
        inside = (idx >= 0) & (idx < tf.shape(t)[1])
        idx = tf.clip_by_value(idx, 0, tf.shape(t)[1] - 1)
    out = tf.reshape(tf.gather(t, tf.reshape(idx, (tf.shape(t)[0], -1)), batch_dims=1), (-1, width, t.shape[2]))
    if left is not None:
        out = tf.where(tf.reshape(inside, (-1, width, 1)), out, tf.zeros_like(out))
    return out


def put_windows(base, first, width: int, values):
    """``base (m, L, C)`` with ``values (m * T, width, C)`` written on the windows starting at ``first (m, T)``.

    Windows that overlap write the same positions; the callers' windows that overlap hold
    values computed from the same entries.
    """
    import tensorflow as tf

    m = tf.shape(base)[0]
    pos = tf.reshape(first[:, :, None] + tf.range(width)[None, None, :], (m, -1))
    rows = tf.repeat(tf.range(m)[:, None], tf.shape(pos)[1], axis=1)
    return tf.tensor_scatter_nd_update(base, tf.stack([rows, pos], -1), tf.reshape(values, (m, -1, base.shape[2])))


def windowed_conv(fn, h, z_base, a, op: Op | None, back=None):
    """``fn(h)`` for mutant rows ``h``, with a windowed forward pass, a windowed input gradient, or both.

    Forward (``op`` given): computed on ``[a, a + op.width)`` of the output, ``z_base`` (the
    original's output) elsewhere; ``a`` ``(m,)`` int32 first output position of each row's
    window. ``op`` None: ``fn(h)`` on the whole rows.
    Backward (``back`` given, :func:`input_grad_windows`): the input gradient only on each
    row's target windows, zero elsewhere; None: ``fn``'s full input gradient.
    """
    import tensorflow as tf

    from .program import vjp

    def forward(v):
        if op is None:
            return fn(v)
        win = valid_conv(op)(take_windows(v, a[:, None], op.width + op.k - 1, left=op.left))
        return put_windows(z_base, a[:, None], op.width, win)

    @tf.custom_gradient
    def conv(v):
        def grad(g):
            return vjp(fn, v, g) if back is None else input_grad_windows(g, v.shape[1], *back)

        return forward(v), grad

    return conv(h)


def input_grad_windows(g, L_in: int, op: Op, b, w_in: int):
    """The input gradient of a stride-1 convolution on ``w_in``-wide windows, zero elsewhere.

    g : ``(m, L_out, C_out)`` gradient at the convolution's output; it must be exact on
    every output position the windows read (the next layer up's windows in the targets' :func:`window_plan`).
    b : ``(m, T)`` first input position of each row's ``T`` windows. Returns
    ``(m, L_in, C_in)``: ``dx[i] = sum_d W[d]^T g[i + left - d]`` on the windows, as a valid
    convolution of the gradient's slices with the flipped, transposed kernel.
    """
    import tensorflow as tf

    k = op.k
    flipped = tf.constant(np.ascontiguousarray(np.transpose(op.kernel[::-1], (0, 2, 1))))
    # the gradient padded by k - 1 zeros each side: out-of-range output positions read as 0
    d = tf.nn.conv1d(take_windows(g, b + op.left, w_in + k - 1, left=k - 1), flipped, 1, "VALID")
    return put_windows(tf.zeros((tf.shape(g)[0], L_in, op.kernel.shape[1]), g.dtype), b, w_in, d)


@dataclass
class Block:
    """The first convolution and the element-wise and pooling steps after it, up to the next convolution.

    ``n`` steps; ``conv`` the convolution's :class:`Op` (its window fields unused); ``stride``
    the product of the block's pool sizes; ``length`` its output's length. A mutant's block
    output is computed on slices of its input only (:func:`sliced_block`): for the targeted
    rows the block's full-size tensors, the largest of the network, are never made.
    """

    n: int
    conv: Op
    stride: int
    length: int

    def slices(self, width: int) -> int:
        """Block output positions a change (or target) of ``width`` input positions spans, at most."""
        return min(self.length, (width + self.conv.k - 2) // self.stride + 2)


def first_block(model, steps, L: int) -> Block | None:
    """The :class:`Block` of a chain starting with a windowable convolution, or None."""
    if not steps or steps[0].layer != "Conv1D" or steps[0].kind != "linear":
        return None
    p = _conv_params(model, steps[0])
    if p is None:
        return None
    kernel, bias, k, left, right = p
    length, stride, n = L + left + right - k + 1, 1, 1
    for step in steps[1:]:
        if step.layer in ("MaxPooling1D", "AveragePooling1D") and step.kind == "linear":
            if step.size != step.stride or step.padding != "VALID":
                break
            stride, length = stride * step.size, length // step.size
        elif step.layer == "ReLUMaxPool":
            stride, length = stride * step.size, length // step.size
        elif not ((step.kind == "act" and getattr(step, "elementwise", False)) or step.layer == "BatchNormalization"):
            break
        n += 1
    if length < 1:
        return None
    return Block(n, Op("conv", 0, kernel, bias, k, left, right), stride, length)


def sliced_block(steps, block: Block, xs, q0, rule=None, z_ref=None):
    """The block's output on ``q0 + [0, w)`` for input slices ``xs (R, w * stride + k - 1, 4)`` of the
    padded input starting at ``q0 * stride`` (``q0 (R,)``) -> ``(R, w, C)``, as the whole-row pass computes it.

    ``rule``, ``z_ref``: the DeepLIFT rule ``(step, z, z_r)`` and the reference's activation
    inputs by step id (``(1, L_step, C)``), sliced here to the same positions; None for gradients.
    """
    import tensorflow as tf

    h = valid_conv(block.conv)(xs)
    level = 1  # pooling so far: block output position q is position q * stride / level here
    for step in steps[1 : block.n]:
        if rule is not None and step.kind in ("act", "block"):
            idx = q0[:, None] * (block.stride // level) + tf.range(h.shape[1])[None, :]
            h = rule(step, h, tf.gather(z_ref[id(step)][0], idx))
        else:
            h = step.fn(h)
        if step.layer in ("MaxPooling1D", "AveragePooling1D", "ReLUMaxPool"):
            level *= step.size
    return h


def block_op(steps, block: Block, x_m, base, start, width: int, t_start, t_width: int, rule=None, z_ref=None):
    """The block's output for mutant rows ``x_m (m, L, 4)``: the original's ``base (m, L_b, C)`` outside the
    change's slice; its gradient is the input gradient on the ``t_width``-wide target windows
    starting at ``t_start (m, T)`` only, zero elsewhere.

    start : ``(m,)`` first input position of each row's ``width``-wide change.
    """
    import tensorflow as tf

    op, S, Lb = block.conv, block.stride, block.length
    L = x_m.shape[1]
    wf, wt = block.slices(width), block.slices(t_width)

    def slices(xp, first, w):
        """Slices of the padded input for block outputs ``first + [0, w)``, ``first`` (m, T) -> (m*T, n, 4)."""
        return take_windows(xp, first * S, w * S + op.k - 1)

    def first_of(a, w):  # the first block output a change (target) starting at input position a reaches
        return tf.clip_by_value((a - op.right) // S, 0, Lb - w)

    @tf.custom_gradient
    def blk(v):
        xp = tf.pad(v, [[0, 0], [op.left, op.right], [0, 0]])
        q = first_of(start, wf)
        win = sliced_block(steps, block, slices(xp, q[:, None], wf), q, rule, z_ref)
        out = put_windows(base, q[:, None], wf, win)

        def grad(g):
            qt = first_of(t_start, wt)  # (m, T)
            xs = slices(xp, qt, wt)
            with tf.GradientTape() as tape:
                tape.watch(xs)
                y = sliced_block(steps, block, xs, tf.reshape(qt, (-1,)), rule, z_ref)
            dxs = tape.gradient(y, xs, output_gradients=take_windows(g, qt, wt))
            # inputs past the slice feed only outputs the block's pooling drops: their gradient is 0
            dxs = tf.pad(dxs, [[0, 0], [0, t_width], [0, 0]])
            d = take_windows(dxs, tf.reshape(t_start + op.left - qt * S, (-1, 1)), t_width)
            return put_windows(tf.zeros((tf.shape(v)[0], L, 4), v.dtype), t_start, t_width, d)

        return out, grad

    return blk(x_m)


def local_logits(steps, plan, x_o, x_m, orig_index, start, width: int, rule=None, tplan=None, t_start=None,
                 t_width: int = 0, block=None, rule3=None, z_ref=None):
    """Outputs ``(B_o + B_m, n_out)`` of originals ``x_o`` (full) and mutants ``x_m`` (windowed prefix).

    orig_index : ``(B_m,)`` row of ``x_o`` each mutant comes from; start : ``(B_m,)`` first
    position of its changed window (``width`` wide) in the input. ``rule(step, z)``
    replaces each activation (the DeepLIFT rules), as ``on_act`` of :func:`run`.
    tplan, t_start, t_width : the plan of the targets' windows (:func:`window_plan` of
    ``t_width``) and ``(B_m, T)`` first input position of each mutant's ``T`` target windows:
    the mutants' input gradient is then exact on those windows only (the rest of it is not
    computed, and reads 0); None: everywhere. A target's input gradient depends on the
    layers above only through the same cone of positions a change there would affect, so
    the plan of a change of the target's width is the plan of its backward pass.
    block, rule3, z_ref : with targets, the mutants' :class:`Block` computed on slices
    (:func:`block_op`), the rule as ``(step, z, z_r)`` and the reference's activation
    inputs by step id; None: every step as above.
    """
    import tensorflow as tf

    def apply(step, h):
        return rule(step, h) if rule is not None and step.kind in ("act", "block") else step.fn(h)

    tplan = tplan or []
    h_o, h_m, a, b = x_o, x_m, start, t_start
    w_b = t_width  # width of the target windows at the current layer's input
    n = max(len(plan), len(tplan))
    first = 0
    if block is not None:  # targeted rows: the first block on slices of the input only
        for i, step in enumerate(steps[: block.n]):
            h_o = apply(step, h_o)
            # the windows' starts at the block's output, as the plans' steps move them
            L_i = h_o.shape[1]
            a, b, w_b = _moved(plan, i, a, L_i), _moved(tplan, i, b, L_i), _width(tplan, i, w_b)
        h_m = block_op(steps, block, x_m, tf.stop_gradient(tf.gather(h_o, orig_index)), start, width, t_start,
                       t_width, rule3, z_ref)
        first = block.n
    for i in range(first, n):
        step = steps[i]
        op = plan[i] if i < len(plan) else None
        top = tplan[i] if i < len(tplan) else None
        kind = (op or top).kind
        if kind == "conv":
            z_o = step.fn(h_o)
            back = None if top is None else (top, b, w_b)  # the gradient's windows at this step's input
            a = _moved(plan, i, a, z_o.shape[1])
            base = None if op is None else tf.stop_gradient(tf.gather(z_o, orig_index))
            h_m = windowed_conv(step.fn, h_m, base, a, op, back)
            h_o = z_o
        else:
            h_o, h_m = apply(step, h_o), apply(step, h_m)
            a = _moved(plan, i, a, h_m.shape[1])
        b, w_b = _moved(tplan, i, b, h_m.shape[1]), _width(tplan, i, w_b)
    h = tf.concat([h_o, h_m], 0)
    return run(steps[max(n, first):], h, on_act=rule)


def _moved(plan, i: int, a, L_out: int):
    """Window starts ``a`` after step ``i`` of ``plan`` (unchanged past its end), ``L_out`` that step's output length."""
    import tensorflow as tf

    if i >= len(plan) or a is None:
        return a
    op = plan[i]
    if op.kind == "conv":
        return tf.clip_by_value(a - (op.k - 1 - op.left), 0, L_out - op.width)
    if op.kind == "pool":
        return tf.clip_by_value(a // op.size, 0, L_out - op.width)
    return a


def _width(plan, i: int, w):
    return plan[i].width if i < len(plan) else w


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

    def block(self):
        """The scorer's :class:`Block` (None: the model's first layers do not form one)."""
        if "_block" not in self.__dict__:
            s = self.scorer
            self._block = first_block(s.model, s.steps, s.model.length)
        return self._block

    def fn(self, width: int, t_width: int = 0):
        """``(x_o, x_m, orig_index, start, ref, task[, t_start]) -> (m_o, m_m)`` multipliers, for changes of
        ``width``; with ``t_width``, the mutants' only on their ``t_width``-wide target windows."""
        if (width, t_width) in self._fns:
            return self._fns[(width, t_width)]
        import tensorflow as tf

        from .rules import rescale_op, revealcancel_op
        from .scorer import reference_activations

        s = self.scorer
        steps, plan, L = s.steps, self.plan(width), s.model.length
        tplan = self.plan(t_width) if t_width else None
        block = self.block() if t_width else None
        rules = s.method != "grad_x_input"

        def multipliers(x_o, x_m, orig_index, start, ref, task, t_start=None):
            rule = rule3 = by_step = None
            if rules:
                z_r = iter(reference_activations(steps, ref))
                by_step = {id(st): next(z_r) for st in steps if st.kind in ("act", "block")}

                def rule3(step, z, z_ref):
                    return (rescale_op if step.kind == "act" else revealcancel_op)(step, z, z_ref)

                def rule(step, z):
                    return rule3(step, z, by_step[id(step)])

            with tf.GradientTape() as tape:
                tape.watch([x_o, x_m])
                y = local_logits(steps, plan, x_o, x_m, orig_index, start, width, rule, tplan, t_start, t_width,
                                 block, rule3, by_step)
                y = tf.reduce_sum(y[:, task])
            return tape.gradient(y, [x_o, x_m])

        spec_x = tf.TensorSpec((None, L, 4), tf.float32)
        spec_i = tf.TensorSpec((None,), tf.int32)
        sig = [spec_x, spec_x, spec_i, spec_i, tf.TensorSpec((1, L, 4), tf.float32), tf.TensorSpec((), tf.int32)]
        if t_width:
            sig.append(tf.TensorSpec((None, None), tf.int32))
        f = graph_function(multipliers, input_signature=sig)
        self._fns[(width, t_width)] = f
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


def local_scores(scorer, X: np.ndarray, origin, spans, task: int, batch_size: int, refs=None, progress=None,
                 targets=None):
    """Multipliers (``refs`` None: reference-free gradients) or hypothetical scores against one shared
    reference ``refs (1, 1, L, 4)`` of ``X (n, L, 4)``, computing mutants' forward passes locally.

    origin : ``(n,)`` for each row, the row of ``X`` it was mutated from, or -1 (an original).
    spans : ``(n, 2)`` ``[start, end)`` of each mutant's change (rows with ``origin < 0`` ignored), or None.

    targets : for each row, None or an ``(n_t, 2)`` array of ``[start, end)`` intervals: that
    row's scores are wanted on those intervals only (the random-source null's segment
    mutants, whose FIS reads the targets alone). Its input gradient is then computed only
    in the targets' cones (:func:`input_grad_windows`) and its scores elsewhere are NaN,
    so that nothing can read them by mistake.

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
        t_widths = _target_widths(scorer, mut, targets)
        groups = {}
        for w, tw in sorted(set(zip(widths.tolist(), t_widths.tolist()))):
            if _has_window(scorer, int(w)):
                groups[(w, tw)] = mut[(widths == w) & (t_widths == tw)]
        if not groups:
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
    for (w, tw), rows_w in groups.items():
        if tw:  # a batch computes as many target windows per row as its row with the most: keep like with like
            rows_w = rows_w[np.argsort([len(targets[j]) for j in rows_w], kind="stable")]
        B_o, batches = pack(origin[rows_w], rows)
        f = fwd.fn(int(w), int(tw))
        for origs, muts in batches:
            mj = rows_w[[j for j, _ in muts]]
            xo = X[origs]
            xm = X[mj]
            oi = np.array([s for _, s in muts], np.int32)
            # the window of width w starting at the change, clipped into the input
            a = np.clip(np.array([starts[j] for j in mj]), 0, L - int(w)).astype(np.int32)
            B_m = rows - B_o
            args = [_pad(xo, B_o), _pad(xm, B_m), _pad(oi, B_m), _pad(a, B_m), ref, t]
            if tw:
                args.append(_pad(_target_starts([targets[j] for j in mj], L, int(tw)), B_m))
            m_o, m_m = f(*args)
            m_o, m_m = m_o.numpy()[: len(origs)], m_m.numpy()[: len(mj)]
            if refs is not None:  # hypothetical scores against the one reference, as hypothetical_from
                m_o = m_o - (m_o * refs[0, 0]).sum(-1, keepdims=True)
                m_m -= (m_m * refs[0, 0]).sum(-1, keepdims=True)
            new = ~done[origs]
            out[np.asarray(origs)[new]] = m_o[new]
            done[np.asarray(origs)[new]] = True
            out[mj] = m_m
            done[mj] = True
            advance(progress, int(new.sum()) + len(mj))
    rest = np.flatnonzero(~done)
    if len(rest):  # originals without local mutants, mutants too wide for a window: the full pass
        if refs is None:
            out[rest] = scorer.multipliers(X[rest], None, task, batch_size)
        else:
            out[rest] = scorer.hypothetical(X[rest], refs, np.zeros(len(rest), int), task, batch_size,
                                            progress=progress)
    for (w, tw), rows_w in groups.items():
        if tw:
            _only_targets(out, rows_w, targets)
    n_t = sum(len(v) for (_, tw), v in groups.items() if tw)
    _note(scorer, f"local forward for mutant rows (windows of {sorted({int(w) for w, _ in groups})} bp; "
                  f"{len(mut) - sum(len(v) for v in groups.values())} mutant(s) on the full pass; "
                  f"{n_t} with the input gradient on their targets only)")
    return out


def _target_widths(scorer, mut: np.ndarray, targets) -> np.ndarray:
    """The target window width of each mutant row in ``mut`` (0: its whole input gradient is wanted)."""
    tw = np.zeros(len(mut), np.int64)
    if targets is None:
        return tw
    for i, j in enumerate(mut):
        t = targets[j]
        if t is None or not len(t):
            continue
        t = np.asarray(t).reshape(-1, 2)
        w = bucket(int((t[:, 1] - t[:, 0]).max()))
        tw[i] = w if _has_window(scorer, w) else 0  # targets too wide for a window: the full gradient
    return tw


def _target_starts(targets: list, L: int, width: int) -> np.ndarray:
    """``(m, T)`` first position of each row's target windows (``width`` wide, clipped into the input);
    rows with fewer targets repeat their first (the same window computed twice)."""
    T = max(len(t) for t in targets)
    out = np.empty((len(targets), T), np.int32)
    for i, t in enumerate(targets):
        s = np.asarray(t).reshape(-1, 2)[:, 0]
        out[i] = np.clip(np.concatenate([s, np.full(T - len(s), s[0])]), 0, L - width)
    return out


def _only_targets(out: np.ndarray, rows, targets) -> None:
    """Rows ``rows`` of ``out (n, L, 4)`` set to NaN outside their target intervals, in place."""
    for j in rows:
        keep = np.zeros(out.shape[1], bool)
        for a, b in np.asarray(targets[j]).reshape(-1, 2):
            keep[a:b] = True
        out[j, ~keep] = np.nan


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

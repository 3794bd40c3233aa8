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
mutants: their FIS reads the window's elements and nothing else) are never whole in
the windowed prefix, forward or backward: :mod:`dfim.native.targeted` carries the
change and each target as windows. Such rows' scores are NaN off their targets.

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
    _flipped: object = None  # its flipped, transposed kernel (:func:`dfim.native.targeted.conv_input_grad`)


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


def window_plan(model, steps, L: int, width: int, trailing: bool = False) -> list:
    """The windowed prefix of ``steps`` for a change of ``width`` positions of an input of length ``L``.

    Returns one :class:`Op` per step of the prefix (possibly none): it stops at the
    first step that is not a local op, and at a convolution whose window would cover
    its whole output (from there on the mutant is computed in full). Element-wise and
    pooling steps after the last convolution are kept with ``trailing`` only.
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
    while plan and plan[-1].kind != "conv" and not trailing:  # what follows the last windowed conv runs on whole tensors
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


def gather_windows(src, rows, first, width: int, over=None):
    """``src (R, L, C)`` on rows ``rows (n,)`` (None: row i), positions ``first (n,) + [0, width)`` -> ``(n, width, C)``.

    Positions outside ``[0, L)`` read as 0 (a convolution's padding). ``over``: a window laid
    over the values, ``(win (N, w, C), win_rows (n,) or None, win_first (n,))``: row ``win_rows[i]``
    of ``win`` holds row i's values on ``win_first[i] + [0, w)``. One gather from ``src`` and
    ``win`` side by side: no copy of a whole row, no masks over the values.
    """
    import tensorflow as tf

    L, C = src.shape[1], src.shape[2]
    n = tf.shape(first)[0]
    pos = first[:, None] + tf.range(width)[None, :]
    r = tf.range(n) if rows is None else rows
    zero = tf.shape(src)[0] * L  # the row of zeros after src's rows
    idx = tf.where((pos >= 0) & (pos < L), r[:, None] * L + pos, zero)
    parts = [tf.reshape(src, (-1, C)), tf.zeros((1, C), src.dtype)]
    if over is not None:
        win, w_rows, w_first = over
        w = win.shape[1]
        w_rows = tf.range(n) if w_rows is None else w_rows
        rel = pos - w_first[:, None]
        idx = tf.where((rel >= 0) & (rel < w), zero + 1 + w_rows[:, None] * w + rel, idx)
        parts.append(tf.reshape(win, (-1, C)))
    return tf.gather(tf.concat(parts, 0), idx)


def windowed_conv(fn, h, z_base, a, op: Op | None):
    """``fn(h)`` for mutant rows ``h``, computed on ``[a, a + op.width)`` of the output only, ``z_base``
    (the original's output) elsewhere; ``a`` ``(m,)`` int32 first output position of each row's
    window. ``op`` None: ``fn(h)`` on the whole rows. The input gradient is ``fn``'s full one.
    """
    import tensorflow as tf

    from .program import vjp

    def forward(v):
        if op is None:
            return fn(v)
        win = valid_conv(op)(gather_windows(v, None, a - op.left, op.width + op.k - 1))
        return gather_windows(z_base, None, tf.zeros_like(a), z_base.shape[1], (win, None, a))

    @tf.custom_gradient
    def conv(v):
        return forward(v), lambda g: vjp(fn, v, g)

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
    for i, op in enumerate(plan):
        step = steps[i]
        if op.kind == "conv":
            z_o = step.fn(h_o)
            a = _moved(plan, i, a, z_o.shape[1])
            h_m = windowed_conv(step.fn, h_m, tf.stop_gradient(tf.gather(z_o, orig_index)), a, op)
            h_o = z_o
        else:
            h_o, h_m = apply(step, h_o), apply(step, h_m)
            a = _moved(plan, i, a, h_m.shape[1])
    h = tf.concat([h_o, h_m], 0)
    return run(steps[len(plan):], h, on_act=rule)


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


class LocalForward:
    """The scorer's local multiplier functions, one ``tf.function`` per window width."""

    def __init__(self, scorer):
        from .targeted import TargetedRows

        self.scorer = scorer
        self._fns: dict = {}
        self.plans: dict = {}
        self.targeted = TargetedRows(scorer)  # rows wanted on their targets only

    def plan(self, width: int) -> list:
        if width not in self.plans:
            s = self.scorer
            self.plans[width] = window_plan(s.model, s.steps, s.model.length, width)
        return self.plans[width]

    def fn(self, width: int):
        """``(x_o, x_m, orig_index, start, ref, task) -> (m_o, m_m)`` multipliers, for changes of ``width``."""
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
                y = tf.reduce_sum(local_logits(steps, plan, x_o, x_m, orig_index, start, width, rule)[:, task])
            return tape.gradient(y, [x_o, x_m])

        spec_x = tf.TensorSpec((None, L, 4), tf.float32)
        spec_i = tf.TensorSpec((None,), tf.int32)
        f = graph_function(multipliers, input_signature=[spec_x, spec_x, spec_i, spec_i,
                                                          tf.TensorSpec((1, L, 4), tf.float32),
                                                          tf.TensorSpec((), tf.int32)])
        self._fns[width] = f
        return f


def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


def pack(orig_of: np.ndarray, rows: int, cost=None, capacity: int | None = None):
    """Batches of originals with their mutants.

    Parameters
    ----------
    orig_of : ``(m,)`` the original (any int id, in the order met) of each mutant.
    rows : rows per call.
    cost, capacity : optional ``(m,)`` size of each mutant's extra work (its number of
        targets) and the most a batch holds of it (at least ``cost.max()``).

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
    cost = np.zeros(m, np.int64) if cost is None else np.asarray(cost, np.int64)
    capacity = int(cost.sum()) if capacity is None else int(capacity)
    if m and cost.max() > capacity:
        raise ValueError(f"a mutant costs {cost.max()}, more than a batch holds ({capacity})")
    batches, cur_o, cur_m, used = [], [], [], 0
    for o, muts in order.items():
        while muts:
            # how many of this original's next mutants fit beside the batch's
            n_fit = int(np.searchsorted(np.cumsum(cost[muts[: B_m - len(cur_m)]]), capacity - used, side="right"))
            if len(cur_o) == B_o or n_fit == 0:
                batches.append((cur_o, cur_m))
                cur_o, cur_m, used = [], [], 0
                continue
            cur_o.append(o)
            take, muts = muts[:n_fit], muts[n_fit:]
            used += int(cost[take].sum())
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
    mutants, whose FIS reads the targets alone). Such rows are carried as windows
    (:mod:`dfim.native.targeted`) and their scores elsewhere are NaN, so that nothing can
    read them by mistake.

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
        t_widths = _target_widths(mut, targets)
        groups = {}
        for w, tw in sorted(set(zip(widths.tolist(), t_widths.tolist()))):
            if not _has_window(scorer, int(w)):
                continue
            rows_w = mut[(widths == w) & (t_widths == tw)]
            if tw and _forward(scorer).targeted.plans(int(w), int(tw)) is None:
                tw = 0  # no windowed prefix for these targets: the whole input gradient
            groups[(w, tw)] = np.concatenate([groups.get((w, tw), np.zeros(0, np.int64)), rows_w])
        if not groups:
            reason = f"no windowable convolution for windows of {sorted(set(widths.tolist()))} bp"
    if reason is not None:
        _note(scorer, "full pass: " + reason)
        return None
    starts = np.zeros(n, np.int64)
    starts[mut] = start
    rows = scorer._rows_per_call(batch_size, 1)
    out = np.empty_like(X)
    done = np.zeros(n, bool)  # rows with local multipliers
    for (w, tw), rows_w in groups.items():
        batches = _targeted_batches if tw else _local_batches
        for origs, mj, m_o, m_m in batches(scorer, X, origin, starts, targets, rows_w, int(w), int(tw), rows, refs,
                                           task):
            origs = np.asarray(origs, np.int64)
            if refs is not None:  # hypothetical scores against the one reference, as hypothetical_from
                m_o = m_o - (m_o * refs[0, 0]).sum(-1, keepdims=True)
            new = ~done[origs]
            out[origs[new]] = m_o[new]
            done[origs[new]] = True
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
    n_t = sum(len(v) for (_, tw), v in groups.items() if tw)
    _note(scorer, f"local forward for mutant rows (windows of {sorted({int(w) for w, _ in groups})} bp; "
                  f"{len(mut) - sum(len(v) for v in groups.values())} mutant(s) on the full pass; "
                  f"{n_t} with the input gradient on their targets only)")
    return out


def _local_batches(scorer, X, origin, starts, targets, rows_w, w: int, tw: int, rows: int, refs, task):
    """The local forward's batches of the mutant rows ``rows_w`` (changes ``w`` wide): ``(originals, mutant
    rows, originals' multipliers, mutants' scores)`` each (``refs`` given: the mutants' hypothetical)."""
    import tensorflow as tf

    L = X.shape[1]
    f = _forward(scorer).fn(w)
    ref = tf.constant(refs[0] if refs is not None else np.zeros((1, L, 4), np.float32))
    B_o, batches = pack(origin[rows_w], rows)
    B_m = rows - B_o
    for origs, muts in batches:
        mj = rows_w[[j for j, _ in muts]]
        oi = np.array([s for _, s in muts], np.int32)
        a = np.clip(starts[mj], 0, L - w).astype(np.int32)  # the window of width w at the change, in the input
        m_o, m_m = f(_pad(X[origs], B_o), _pad(X[mj], B_m), _pad(oi, B_m), _pad(a, B_m), ref,
                     tf.constant(task, tf.int32))
        m_o, m_m = m_o.numpy()[: len(origs)], m_m.numpy()[: len(mj)]
        if refs is not None:
            m_m -= (m_m * refs[0, 0]).sum(-1, keepdims=True)
        yield origs, mj, m_o, m_m


#: pair slots of a targeted batch are rounded up to a multiple of this (a few traced shapes)
PAIR_QUANTUM = 16


def _targeted_batches(scorer, X, origin, starts, targets, rows_w, w: int, tw: int, rows: int, refs, task):
    """:func:`_local_batches` for mutant rows wanted on their targets only (:mod:`dfim.native.targeted`):
    their scores on their targets, NaN elsewhere; no originals' scores (the originals run forward only)."""
    import tensorflow as tf

    from .targeted import pair_windows

    L = X.shape[1]
    f = _forward(scorer).targeted.fn(w, tw)
    ref = tf.constant(refs[0] if refs is not None else np.zeros((1, L, 4), np.float32))
    counts = np.array([len(np.asarray(targets[j]).reshape(-1, 2)) for j in rows_w])
    # a batch's (row, target) pairs: its rows' share of the group's, rounded up
    capacity = max(int(counts.max()), -(-int(np.ceil(rows * counts.mean())) // PAIR_QUANTUM) * PAIR_QUANTUM)
    B_o, batches = pack(origin[rows_w], rows, counts, capacity)
    B_m = rows - B_o
    for origs, muts in batches:
        mj = rows_w[[j for j, _ in muts]]
        oi = np.array([s for _, s in muts], np.int32)
        a = np.clip(starts[mj], 0, L - w).astype(np.int32)
        p_row, p_first, p_a, p_b = pair_windows([targets[j] for j in mj], L, tw)
        m_t = f(_pad(X[origs], B_o), _pad(X[mj], B_m), _pad(oi, B_m), _pad(a, B_m), ref, tf.constant(task, tf.int32),
                _pad(p_row.astype(np.int32), capacity), _pad(p_first.astype(np.int32), capacity)).numpy()[: len(p_row)]
        if refs is not None:
            m_t -= (m_t * refs[0, 0][p_first[:, None] + np.arange(tw)]).sum(-1, keepdims=True)
        m_m = np.full((len(mj), L, 4), np.nan, np.float32)
        for p in range(len(p_row)):  # each target's positions from its pair's window
            m_m[p_row[p], p_a[p]:p_b[p]] = m_t[p, p_a[p] - p_first[p]:p_b[p] - p_first[p]]
        yield [], mj, np.zeros((0, L, 4), np.float32), m_m  # the originals' own scores: the full pass


def _target_widths(mut: np.ndarray, targets) -> np.ndarray:
    """The target window width of each mutant row in ``mut`` (0: its whole input gradient is wanted)."""
    tw = np.zeros(len(mut), np.int64)
    if targets is None:
        return tw
    for i, j in enumerate(mut):
        t = targets[j]
        if t is None or not len(t):
            continue
        t = np.asarray(t).reshape(-1, 2)
        tw[i] = bucket(int((t[:, 1] - t[:, 0]).max()))
    return tw


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

"""Mutant rows wanted on a few targets only, carried as windows (the random-source null's segment mutants).

A segment mutant's FIS reads its scores on its targets and nowhere else. Up to the
first layer that mixes all positions (the end of the *windowed prefix*,
:func:`prefix_plans`), such a row differs from its original only in the cone of its
change, and a target's input gradient depends on that prefix only through the
target's own cone. So, in the prefix, a mutant row is never whole:

* its **change** is run forward as a window per layer (:func:`forward_windows`),
  each convolution reading its original's activations around the window (slices
  only: nothing of the original is copied but what a window reads);
* after the prefix, where tensors are small (Basset: 20 x 200 per row after the
  third pooling), the change's window is laid over its original's activations and
  the rest of the network runs on whole rows, as in the full pass; its gradient
  there is the row's gradient at the end of the prefix;
* each **target** gets its input gradient by pulling that gradient, read on the
  target's window, back through the prefix on the target's windows only
  (:func:`backward_windows`): each step's gradient on the target's window needs the
  mutant's values there, which are its original's with the change laid over them
  (nothing is run forward again), and each convolution's input gradient is computed
  on the window's positions alone (:func:`conv_input_grad`). The DeepLIFT rules'
  multipliers are the full pass's.

A batch holds ``(row, target)`` *pairs*, not rows x the most targets of any row, so a
row with one target costs one target window. The originals in a batch run forward only
(their activations are the mutants' context); their own scores come from the full pass.
The scores equal the full pass's on the targets to float rounding (tests/test_locality.py).
"""

from __future__ import annotations

import numpy as np

from .config import graph_function
from .locality import gather_windows, valid_conv, window_plan


def prefix_plans(model, steps, L: int, width: int, t_width: int):
    """The change's and the targets' window plans over the common windowed prefix, or None.

    Each plan is one :class:`dfim.native.locality.Op` per step of the prefix; the
    prefix runs through convolutions, element-wise steps and pooling (trailing ones
    included: they shrink what the rest of the network runs on) and stops at the first
    other step, or where either window would cover a whole layer.
    """
    plan_c = window_plan(model, steps, L, width, trailing=True)
    plan_t = window_plan(model, steps, L, t_width, trailing=True)
    n = min(len(plan_c), len(plan_t))
    if not any(op.kind == "conv" for op in plan_c[:n]):
        return None
    return plan_c[:n], plan_t[:n]


def forward_windows(steps, plan, lengths, h, a, context):
    """A change's windows run forward through the prefix ``steps`` (values only).

    Parameters
    ----------
    plan : one :class:`dfim.native.locality.Op` per step (its output window's width).
    lengths : each step's output length (whole rows).
    h : ``(n, w, C)`` the window's values at the input, starting at ``a (n,)``.
    context : ``(i, s, width, over) -> (n, width, C_i)``: the row's values at the input of step ``i``
        on ``s + [0, width)``, with the window ``over`` (:func:`gather_windows`) laid over them.

    Returns
    -------
    One ``(h, a)`` per step: the window's values after it and their first position.
    """
    out = []
    for i, (step, op, a_out) in enumerate(zip(steps, plan, window_starts(plan, lengths, a))):
        if op.kind == "conv":
            s = a_out - op.left
            h = valid_conv(op)(context(i, s, op.width + op.k - 1, (h, None, a)))
        elif op.kind == "pool":
            s = a_out * op.size
            h = step.fn(context(i, s, op.width * op.size, (h, None, a)))
        else:
            h = step.fn(h)
        a = a_out
        out.append((h, a))
    return out


def window_starts(plan, lengths, a):
    """First position of a window after each step of ``plan`` (``lengths``: each step's output length),
    from its first position ``a (n,)`` at the input: one ``(n,)`` tensor per step."""
    import tensorflow as tf

    out = []
    for op, L_out in zip(plan, lengths):
        if op.kind == "conv":
            a = tf.clip_by_value(a - (op.k - 1 - op.left), 0, L_out - op.width)
        elif op.kind == "pool":
            a = tf.clip_by_value(a // op.size, 0, L_out - op.width)
        out.append(a)
    return out


def backward_windows(steps, plan, lengths, width: int, a, g, context, fn):
    """A target's input gradient, pulled back through the prefix ``steps`` on its windows only.

    Parameters
    ----------
    plan : one :class:`dfim.native.locality.Op` per step (the target's window after it).
    width, a : the target's window at the input: its width and first positions ``(n,)``.
    g : ``(n, plan[-1].width, C)`` the gradient on the target's window after the last step.
    context : ``(i, s, w) -> (n, w, C_i)``: the row's values at the input of step ``i`` on ``s + [0, w)``.
    fn : ``(step, first) -> op`` the op of an element-wise or pooling step on windows starting at
        ``first`` (with its DeepLIFT rule, whose gradient is the rule's multiplier).

    Returns
    -------
    ``(n, width, C_in)``: the gradient on the target's input window. Only gradients run: the
    forward values each step's gradient needs are read from ``context``, not computed again.
    """
    from .program import vjp

    starts = [a] + window_starts(plan, lengths, a)
    widths = [width] + [op.width for op in plan]
    for i in reversed(range(len(plan))):
        op, b_in, b_out, w_in = plan[i], starts[i], starts[i + 1], widths[i]
        if op.kind == "conv":  # the input gradient on the input window only, from g alone
            g = conv_input_grad(op, g, b_in - (b_out - op.left), w_in)
            continue
        if op.kind == "pool":
            s = b_out * op.size
            d = vjp(fn(steps[i], s), context(i, s, op.width * op.size), g)
        else:
            s = b_in
            d = vjp(fn(steps[i], s), context(i, s, w_in), g)
        g = gather_windows(d, None, b_in - s, w_in)
    return g


def conv_input_grad(op, g, off, w_in: int):
    """The input gradient of ``op``'s convolution on slices, on ``w_in`` input positions only.

    g : ``(n, w_out, C_out)`` the gradient at the output of the convolution of input slices of
    ``w_out + k - 1`` positions; off : ``(n,)`` the first wanted input position in the slice.
    Returns ``(n, w_in, C_in)``: ``dx[u] = sum_d W[d]^T g[u - d]``, as a valid convolution of ``g``
    (zero-padded) with the flipped, transposed kernel, computed on the wanted positions only
    (tape.gradient would run the whole transposed convolution, and the forward one for its shape).
    """
    import tensorflow as tf

    if op._flipped is None:
        with tf.init_scope():
            op._flipped = tf.constant(np.ascontiguousarray(np.transpose(op.kernel[::-1], (0, 2, 1))))
    return tf.nn.conv1d(gather_windows(g, None, off - (op.k - 1), w_in + op.k - 1), op._flipped, 1, "VALID")


class TargetedRows:
    """The scorer's functions for mutant rows wanted on their targets only, one per (change, target) width."""

    def __init__(self, scorer):
        self.scorer = scorer
        self._fns: dict = {}
        self._plans: dict = {}

    def plans(self, width: int, t_width: int):
        """:func:`prefix_plans` for these widths (None: no windowed prefix)."""
        if (width, t_width) not in self._plans:
            s = self.scorer
            self._plans[(width, t_width)] = prefix_plans(s.model, s.steps, s.model.length, width, t_width)
        return self._plans[(width, t_width)]

    def fn(self, width: int, t_width: int):
        """``(x_o, x_m, orig_index, start, ref, task, pair_row, pair_start) -> m_t``.

        x_o : ``(B_o, L, 4)`` originals; x_m : ``(B_m, L, 4)`` mutants, ``orig_index (B_m,)`` the
        row of ``x_o`` each comes from, ``start (B_m,)`` the first position of its
        ``width``-wide change; ref : ``(1, L, 4)``; pair_row, pair_start : ``(P,)`` the mutant
        and the first position of the ``t_width``-wide window of each (row, target) pair.
        m_t : ``(P, t_width, 4)`` each pair's multipliers on its window. The originals are
        run forward only (their activations are the mutants'), so their own multipliers
        are left to the full pass.
        """
        key = (width, t_width)
        if key in self._fns:
            return self._fns[key]
        import tensorflow as tf

        from .program import run
        from .rules import rescale_op, revealcancel_op
        from .scorer import reference_activations

        s = self.scorer
        steps, L = s.steps, s.model.length
        plan_c, plan_t = self.plans(width, t_width)
        n = len(plan_c)
        prefix = steps[:n]
        rules = s.method != "grad_x_input"

        def multipliers(x_o, x_m, orig_index, start, ref, task, pair_row, pair_start):
            z_ref = {}
            if rules:
                z_r = iter(reference_activations(steps, ref))
                z_ref = {id(st): next(z_r) for st in steps if st.kind in ("act", "block")}

            def rule(step, z):
                if not rules or step.kind not in ("act", "block"):
                    return step.fn(z)
                return (rescale_op if step.kind == "act" else revealcancel_op)(step, z, z_ref[id(step)])

            def windowed(step, first):  # a step on windows starting at ``first``: the reference sliced alike
                if not rules or step.kind != "act":
                    return step.fn
                return lambda z: rescale_op(step, z, gather_windows(z_ref[id(step)], tf.zeros_like(first), first,
                                                                    z.shape[1]))

            inputs = [x_o]  # the originals' activations at each step's input: the mutants' context
            for step in prefix:
                inputs.append(step.fn(inputs[-1]))
            lengths = [int(t.shape[1]) for t in inputs[1:]]

            def change_context(i, first, w, over):  # the input is the mutant itself
                return gather_windows(x_m, None, first, w) if i == 0 else gather_windows(inputs[i], orig_index, first,
                                                                                          w, over)

            a0 = tf.clip_by_value(start, 0, L - width)
            change = forward_windows(prefix, plan_c, lengths, gather_windows(x_m, None, a0, width), a0, change_context)
            h_c, a_c = change[-1]
            # the mutants, whole after the prefix
            h_m = gather_windows(inputs[n], orig_index, tf.zeros_like(a_c), lengths[-1], (h_c, None, a_c))
            with tf.GradientTape() as tape:
                tape.watch(h_m)
                y = tf.reduce_sum(run(steps[n:], h_m, on_act=rule)[:, task])
            g_m = tape.gradient(y, h_m)

            pair_orig = tf.gather(orig_index, pair_row)

            def target_context(i, first, w):  # the mutant's values: its original's, with its change laid over
                if i == 0:
                    return gather_windows(x_m, pair_row, first, w)
                h_ci, a_ci = change[i - 1]  # the change's window at step i's input
                return gather_windows(inputs[i], pair_orig, first, w, (h_ci, pair_row, tf.gather(a_ci, pair_row)))

            b_end = window_starts(plan_t, lengths, pair_start)[-1]
            g_t = gather_windows(g_m, pair_row, b_end, plan_t[-1].width)
            return backward_windows(prefix, plan_t, lengths, t_width, pair_start, g_t, target_context, windowed)

        spec_x = tf.TensorSpec((None, L, 4), tf.float32)
        spec_i = tf.TensorSpec((None,), tf.int32)
        f = graph_function(multipliers, input_signature=[spec_x, spec_x, spec_i, spec_i,
                                                          tf.TensorSpec((1, L, 4), tf.float32),
                                                          tf.TensorSpec((), tf.int32), spec_i, spec_i])
        self._fns[key] = f
        return f


def pair_windows(targets: list, L: int, t_width: int):
    """The ``(row, target)`` pairs of mutant rows with ``targets`` (each an ``(n_t, 2)`` array of
    ``[start, end)``): ``(row, first, start, end)`` arrays, ``first`` the ``t_width``-wide window's
    first position (clipped into the input), in row order."""
    rows, first, a, b = [], [], [], []
    for i, t in enumerate(targets):
        t = np.asarray(t).reshape(-1, 2)
        rows.append(np.full(len(t), i))
        first.append(np.clip(t[:, 0], 0, L - t_width))
        a.append(t[:, 0])
        b.append(t[:, 1])
    cat = (lambda v: np.concatenate(v).astype(np.int64)) if rows else (lambda v: np.zeros(0, np.int64))
    return cat(rows), cat(first), cat(a), cat(b)

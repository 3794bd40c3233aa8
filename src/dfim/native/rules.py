"""DeepLIFT's rules as TensorFlow gradients: Rescale (element-wise activations) and RevealCancel (dense blocks).

Each rule is an op whose forward value is the layer's own and whose gradient is the
rule's multiplier against the reference's activations: :func:`rescale_op` for an
activation (or a fused ReLU + max-pool) step, :func:`revealcancel_op` for a
Dense [+ batch normalisation] + activation block. The scorer passes them to
:func:`dfim.native.program.run` as ``on_act``.
"""

from __future__ import annotations

from ..models import ModelError
from .config import compiled

NEAR_ZERO = 1e-7  # deeplift.util.NEAR_ZERO_THRESHOLD


def rescale_factor(f, df, z, z_r):
    """DeepLIFT's Rescale multiplier of activation ``f`` at ``z`` against ``z_r``.

    ``(f(z) - f(z_r)) / (z - z_r)``, or ``f'(z_r)`` where ``|z - z_r| < NEAR_ZERO`` (the
    ``deeplift`` package's threshold).

    Parameters
    ----------
    f : element-wise activation.
    df : its derivative, or None to differentiate ``f`` by autodiff.
    z, z_r : pre-activations of the input and the reference, broadcastable (e.g.
        ``(b, L, C)`` and ``(1, L, C)``).

    Returns
    -------
    Multipliers of ``z``'s broadcast shape.
    """
    import tensorflow as tf

    if df is None:
        with tf.GradientTape() as tape:
            tape.watch(z_r)
            f_r = f(z_r)
        d_r = tape.gradient(f_r, z_r)
    else:
        f_r, d_r = f(z_r), df(z_r)
    dz = z - z_r
    near = tf.abs(dz) < NEAR_ZERO
    return tf.where(near, d_r, (f(z) - f_r) / tf.where(near, tf.ones_like(dz), dz))


def rescale_multiplier(step):
    """``(g, z, z_r) -> g * m`` with ``m`` the Rescale multiplier of ``step``, compiled by XLA into one pass.

    Unfused, the dozen element-wise ops cost more than the ReLU gradient they replace.

    Parameters
    ----------
    step : :class:`~dfim.native.program.Activation`.

    Raises
    ------
    ModelError
        for an activation that is not element-wise (a final softmax).
    """
    if not step.elementwise:
        raise ModelError("the rescale rule is defined for element-wise activations only; a final softmax "
                         "needs model.target: preactivation")
    f, df = step.fn, step.derivative
    return compiled(lambda g, z, z_r: g * rescale_factor(f, df, z, z_r))


def rescale_op(step, z_x, z_r):
    """``step.fn(z_x)`` whose gradient is the DeepLIFT Rescale multiplier against ``z_r``.

    Parameters
    ----------
    step : :class:`~dfim.native.program.Activation` or :class:`~dfim.native.program.ReluMaxPool`;
        its ``mult`` (the compiled gradient) is built on first use and kept.
    z_x : pre-activation of the input ``(b, ...)``.
    z_r : the reference's, broadcastable to ``z_x``.
    """
    import tensorflow as tf

    if step.mult is None:
        step.mult = rescale_multiplier(step)
    mult = step.mult

    @tf.custom_gradient
    def op(z):
        def grad(g):
            return mult(g, z, z_r)

        return step.fn(z), grad

    return op(z_x)


def pseudocount(t):
    """deeplift's ``pseudocount_near_zero``: move |t| < NEAR_ZERO/2 to +-NEAR_ZERO (sign kept, 0 -> +)."""
    import tensorflow as tf

    small = tf.abs(t) < 0.5 * NEAR_ZERO
    return t + tf.where(small, tf.where(t >= 0, NEAR_ZERO, -NEAR_ZERO), 0.0)


def revealcancel_grad(block, g, x, x_r):
    """Multipliers of a Dense [+ BN] + activation block's input under RevealCancel (deeplift 0.6.13).

    The dense layer splits the change of each unit, ``z - z_r``, into the part
    coming from positive and from negative input contributions:
    ``dz+ = [dx]+ W+ + [dx]- W-``, ``dz- = [dx]+ W- + [dx]- W+`` (batch normalisation
    scales both, swapping them where its scale is negative). The activation gives
    each part the average of its effect added first and added second:
    ``dy+ = ((f(z_r + dz+) - f(z_r)) + (f(z_r + dz- + dz+) - f(z_r + dz-))) / 2``, and
    likewise ``dy-``; the multipliers are ``g dy+ / dz+`` and ``g dy- / dz-``. Back
    through the dense layer, an input that rose takes ``m+ W+^T + m- W-^T``, one
    that fell ``m+ W-^T + m- W+^T``, one unchanged the mean of both through ``W^T``.
    The forward part repeats deeplift's operations exactly (see below); the backward
    part is the same linear map computed with fewer products.

    Parameters
    ----------
    block : :class:`~dfim.native.program.RevealCancelBlock`.
    g : upstream gradient ``(b, n_out)``.
    x, x_r : the block's input and the reference's, ``(b, n_in)`` and ``(b or 1, n_in)``.

    Returns
    -------
    Multipliers of ``x``, ``(b, n_in)``.
    """
    import tensorflow as tf

    W, b, f = block.dense.kernel, block.dense.bias, block.act.fn
    Wp, Wn = tf.nn.relu(W), -tf.nn.relu(-W)
    dx = x - x_r
    xp, xn = tf.nn.relu(dx), -tf.nn.relu(-dx)
    zp = tf.matmul(xp, Wp) + tf.matmul(xn, Wn)
    zn = tf.matmul(xp, Wn) + tf.matmul(xn, Wp)
    z_r = tf.matmul(x_r, W)
    z_r = z_r if b is None else z_r + b
    if block.bn is not None:
        scale, shift = block.bn.scale, block.bn.shift
        z_r = z_r * scale + shift
        zp, zn = tf.where(scale > 0, zp * scale, zn * scale), tf.where(scale > 0, zn * scale, zp * scale)
    # deeplift's operations in deeplift's order: where a part is exactly zero, its
    # pseudocount makes the multiplier a float32 rounding of 1e-7, which only the same
    # additions reproduce
    zp, zn = pseudocount(zp), pseudocount(zn)
    f_r, z_rp, z_rn = f(z_r), z_r + zp, z_r + zn
    yp = 0.5 * ((f(z_rp) - f_r) + (f(z_rn + zp) - f(z_rn)))
    yn = 0.5 * ((f(z_rn) - f_r) + (f(z_rp + zn) - f(z_rp)))
    mp, mn = g * (yp / zp), g * (yn / zn)
    if block.bn is not None:
        pos, neg = tf.nn.relu(scale), -tf.nn.relu(-scale)
        mp, mn = mp * pos + mn * neg, mp * neg + mn * pos
    # rose = m+ W+^T + m- W-^T and fell = m+ W-^T + m- W+^T are (S + D) / 2 and (S - D) / 2
    # with S = (m+ + m-) W^T and D = (m+ - m-) |W|^T: two products instead of five (the
    # masks depend on dx alone, so this changes rounding only)
    S = tf.matmul(mp + mn, W, transpose_b=True)
    D = tf.matmul(mp - mn, tf.abs(W), transpose_b=True)
    return 0.5 * tf.where(dx > 0, S + D, tf.where(dx < 0, S - D, S))


def revealcancel_op(block, x, x_r):
    """The block's output ``block.fn(x)``, with the RevealCancel multipliers (against ``x_r``) as its gradient."""
    import tensorflow as tf

    @tf.custom_gradient
    def op(v):
        def grad(g):
            return revealcancel_grad(block, g, v, x_r)

        return block.fn(v), grad

    return op(x)

"""Custom TensorFlow kernels of the native scorer: im2col and FFT-gradient convolutions, fused ReLU + max-pool.

Each kernel computes the same values as TensorFlow's own ops (bit for bit where the
docstrings say so; tests/test_native_kernels.py checks them) with fewer passes over
memory or fewer multiply-adds. The shape rules that choose them (:func:`fft_pays`,
``IM2COL_MAX_CHANNELS``) depend only on shapes, so a model always runs the same arithmetic.
"""

from __future__ import annotations

import numpy as np

from .rules import rescale_factor
from .config import compiled

IM2COL_MAX_CHANNELS = 8  # Conv1D layers with at most this many input channels run as one matmul
FFT_MIN_CHANNELS = 64  # wide convolutions take their input gradient through the FFT when that
FFT_MAX_COST = 0.5  # needs at most this fraction of the direct gradient's multiply-adds


def im2col_conv(kernel, bias, padding: str):
    """Conv1D on few input channels (one-hot DNA) as one matrix product, with its input gradient too.

    TensorFlow's convolution kernels reach about half the machine's matmul rate when
    the input has 4 channels, and a quarter for the input gradient; copying the ``k``
    shifted windows side by side (``(n L, k*4)``, one XLA pass) turns both into plain
    matrix products. The result is the same convolution, bit for bit (the bias is
    added to the product's 2-D result, where TensorFlow fuses it into the matmul). The
    gradient sums the ``k`` windows' gradients back (col2im), also one XLA pass.

    Parameters
    ----------
    kernel : ``(k, cin, cout)`` tensor; bias : ``(cout,)`` tensor or None.
    padding : ``"same"``, ``"valid"`` or ``"causal"`` (stride 1, no dilation).

    Returns
    -------
    conv : ``h (b, L, cin) -> (b, L_out, cout)``, with its custom input gradient.
    """
    import tensorflow as tf

    k, cin, cout = (int(d) for d in kernel.shape)
    W = tf.reshape(kernel, (k * cin, cout))
    Wt = tf.constant(tf.transpose(W).numpy())  # the gradient's product runs faster on a stored transpose
    left, right = pads(k, padding)

    def im2col(h):
        L = h.shape[1]
        p = tf.pad(h, [[0, 0], [left, right], [0, 0]])
        return tf.reshape(tf.concat([p[:, i : i + L + left + right - k + 1] for i in range(k)], -1), (-1, k * cin))

    def col2im(gc, L):
        Lp = L + left + right
        gc = tf.reshape(gc, (-1, Lp - k + 1, k, cin))
        gp = tf.add_n([tf.pad(gc[:, :, i], [[0, 0], [i, k - 1 - i], [0, 0]]) for i in range(k)])
        return gp[:, left : left + L]

    im2col, col2im = compiled(im2col), compiled(col2im)

    @tf.custom_gradient
    def conv(h):
        z = tf.matmul(im2col(h), W)
        z = tf.reshape(z if bias is None else tf.nn.bias_add(z, bias), (-1, h.shape[1] + left + right - k + 1, cout))

        def grad(g):
            return col2im(tf.matmul(tf.reshape(g, (-1, cout)), Wt), L=h.shape[1])

        return z, grad

    return conv


def pads(k: int, padding: str) -> tuple[int, int]:
    """Zeros added left and right of the input by a stride-1 Conv1D (TensorFlow's convention)."""
    left = {"same": (k - 1) // 2, "valid": 0, "causal": k - 1}[padding]
    return left, {"same": k - 1 - (k - 1) // 2, "valid": 0, "causal": 0}[padding]


def fft_length(n: int) -> int:
    """The smallest 5-smooth length >= n (fast for every FFT library)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def fft_pays(L: int, shape, padding: str) -> bool:
    """Whether the FFT input gradient needs well under the direct one's multiply-adds.

    Direct: ``L_out * k * cin * cout``; FFT: a complex ``cin x cout`` product per
    frequency, ``4 * F * cin * cout`` real multiply-adds, plus the transforms (linear
    in the channels, negligible for wide layers). A rule on the shapes, not a timing,
    so the same model always runs the same arithmetic.
    """
    k, cin, cout = (int(d) for d in shape)
    if min(cin, cout) < FFT_MIN_CHANNELS or k < 3:
        return False
    left, right = pads(k, padding)
    L_out = L + left + right - k + 1
    F = fft_length(L + left + right) // 2 + 1
    return 4 * F <= FFT_MAX_COST * L_out * k


def conv_fft_grad(kernel: np.ndarray, bias, padding: str, L: int):
    """Stride-1 Conv1D computed directly, with its input gradient through the real FFT.

    Keras convolutions are cross-correlations, ``z[t] = sum_i h[t + i - left] W[i]``.
    Their input gradient is the adjoint: the upstream gradient placed at offset
    ``k - 1 - left`` in a length ``P >= L + left + right`` (so nothing wraps around),
    multiplied per frequency by the conjugate spectrum of the flipped kernel, cropped
    to the input. Per frequency the channels mix through one complex ``cout x cin``
    product, written as one real matmul of ``[Re Y, Im Y]`` (the spectrum's real and
    imaginary parts side by side) with ``[[Re G^T, -Im G^T], [Im G^T, Re G^T]]``, batched
    over the frequencies; its columns are ordered so that each input channel's real and
    imaginary parts come out adjacent, the complex layout the inverse FFT reads, so
    the spectra change type without copies. For Basset's second layer (333 x 300 ->
    200, width 11) that is 5x fewer multiply-adds than the direct gradient; it agrees
    with it to float32 rounding (about 1e-6 relative).

    Only the gradient: the forward values decide ReLU signs and max-pool arg-maxes,
    discontinuities where the FFT's larger rounding error (relative to the whole
    signal, not to each output) would move a near-tie and change the scores locally.
    The gradient is linear in its input, so its rounding stays rounding.

    Parameters
    ----------
    kernel : ``(k, cin, cout)`` float32 array; bias : ``(cout,)`` tensor or None.
    padding : ``"same"``, ``"valid"`` or ``"causal"``.
    L : input length the FFT size is chosen for.

    Returns
    -------
    conv : ``h (b, L, cin) -> (b, L_out, cout)``, with the FFT input gradient.
    """
    import tensorflow as tf

    k, cin, cout = kernel.shape
    left, right = pads(k, padding)
    P = fft_length(L + left + right)
    F = P // 2 + 1
    L_out = L + left + right - k + 1
    off = k - 1 - left
    G = np.fft.rfft(np.pad(kernel[::-1].astype(np.float64), [(0, P - k), (0, 0), (0, 0)]), axis=0)  # (F, cin, cout)
    # Y conj(G)^T: real part Re Y Re G^T + Im Y Im G^T, imaginary Im Y Re G^T - Re Y Im G^T
    Gt = np.transpose(G, (0, 2, 1))  # (F, cout, cin)
    # [[Re, -Im], [Im, Re]] written straight into float32 (stacking it in float64 first took
    # about a second per Basset layer at every job's start)
    M = np.empty((F, 2 * cout, cin, 2), np.float32)
    M[:, :cout, :, 0], M[:, cout:, :, 0] = Gt.real, Gt.imag
    M[:, :cout, :, 1], M[:, cout:, :, 1] = -Gt.imag, Gt.real
    with tf.init_scope():  # eager constants: built while tracing one graph, used by every later one
        M = tf.constant(M.reshape(F, 2 * cout, 2 * cin))
        W = tf.constant(kernel)

    # channels-first for the FFT and back, each transpose with its pad or crop in one XLA pass
    to_signal = compiled(lambda g: tf.pad(tf.transpose(g, (0, 2, 1)), [[0, 0], [0, 0], [off, P - off - L_out]]))
    from_signal = compiled(lambda y: tf.transpose(y[:, :, :L], (0, 2, 1)))

    @tf.custom_gradient
    def conv(h):
        # exactly the ops of the plain path (bias inside, where TensorFlow fuses it into the
        # convolution), so the forward values are bit for bit those of tf.nn.conv1d
        if padding == "causal":
            z = tf.nn.conv1d(tf.pad(h, [[0, 0], [left, 0], [0, 0]]), W, 1, "VALID")
        else:
            z = tf.nn.conv1d(h, W, 1, padding.upper())
        z = z if bias is None else tf.nn.bias_add(z, bias)

        def grad(g):
            s = tf.bitcast(tf.signal.rfft(to_signal(g), fft_length=[P]), tf.float32)  # (b, cout, F, re/im)
            s = tf.reshape(tf.transpose(s, (2, 0, 3, 1)), (F, -1, 2 * cout))  # (F, b, [Re; Im] cout)
            y = tf.reshape(tf.matmul(s, M), (F, -1, cin, 2))  # (F, b, cin, re/im)
            y = tf.signal.irfft(tf.bitcast(tf.transpose(y, (1, 2, 0, 3)), tf.complex64), fft_length=[P])
            return from_signal(y)

        return z, grad

    return conv



def relu_pool(size: int):
    """``maxpool(relu(z))`` with its gradient, each an XLA-compiled pass (see :func:`dfim.native.passes.fuse_relu_pool`).

    Parameters
    ----------
    size : window size (= stride; valid padding).

    Returns
    -------
    op : ``z (b, L, C) -> (b, L // size, C)`` with the max-pool gradient (to the first arg-max).
    mult : ``(g, z, z_r) -> (b, L, C)``, the Rescale version's gradient: ``g`` times the
        Rescale multiplier against ``z_r`` at each window's arg-max (used by
        :func:`dfim.native.rules.rescale_op`).
    """
    import tensorflow as tf

    def forward(z):
        """The pooled ReLU and, for its gradient, each window's arg-max (``size`` where the max is 0)."""
        a = tf.nn.relu(pool_windows(z, size))
        top = tf.reduce_max(a, axis=2)
        return top, tf.cast(tf.where(top > 0, first_argmax(a), size), tf.uint8 if size < 255 else tf.int32)

    def grad(g, where, L):
        return unpool(pool_route(where, g, size), L)

    def rescale_grad(g, z, z_r):
        w, w_r = pool_windows(z, size), pool_windows(z_r, size)
        return unpool(rescale_factor(tf.nn.relu, lambda v: tf.cast(v > 0, v.dtype), w, w_r)
                      * pool_route(first_argmax(tf.nn.relu(w)), g, size), z.shape[1])

    forward, grad, mult = compiled(forward), compiled(grad), compiled(rescale_grad)

    @tf.custom_gradient
    def op(z):
        top, where = forward(z)
        # the gradient reads the arg-maxes (a byte per window), not z again
        return top, lambda g: grad(g, where, L=z.shape[1])

    return op, mult


def pool_windows(z, size: int):
    """(b, L, C) -> (b, L // size, size, C): the windows of a valid max-pool with stride = size."""
    import tensorflow as tf

    n = z.shape[1] // size
    return tf.reshape(z[:, : n * size], (-1, n, size, z.shape[2]))


def first_argmax(a):
    """Each window's arg-max in ``a (b, n, size, C)``: the first among equal values (often: ReLU
    outputs of 0), as TensorFlow's MaxPoolGrad (and so the ``deeplift`` package) routes; ArgMax
    picks the smallest index, in XLA as in TensorFlow's kernel."""
    import tensorflow as tf

    return tf.argmax(a, axis=2, output_type=tf.int32)


def pool_route(index, g, size: int):
    """``g (b, n, C)`` placed at position ``index (b, n, C)`` of each window -> (b, n, size, C);
    an index of ``size`` places nothing."""
    import tensorflow as tf

    j = tf.reshape(tf.cast(tf.range(size), index.dtype), (1, 1, size, 1))
    return tf.where(tf.equal(j, index[:, :, None]), g[:, :, None], tf.zeros_like(g)[:, :, None])


def unpool(gw, L: int):
    """Window gradients (b, n, size, C) back to (b, L, C); inputs past the last window get 0."""
    import tensorflow as tf

    n, size, C = gw.shape[1:]
    return tf.pad(tf.reshape(gw, (-1, n * size, C)), [[0, 0], [0, L - n * size], [0, 0]])



"""Native TensorFlow 2 multipliers: compiled, batched ``GradientTape`` passes.

Three methods, all returning *multipliers* ``m(x, r)`` of the target output with respect
to the input (see :mod:`dfim.importance` for how they become hypothetical and actual
scores):

``grad_x_input``
    the gradient at ``x``; it does not depend on the reference.
``integrated_gradients``
    the mean gradient along the straight path from the reference ``r`` to ``x``
    (midpoint Riemann sum with ``ig_steps`` points), so ``sum m * (x - r) ≈ f(x) - f(r)``.
``rescale``
    DeepLIFT's Rescale rule, DeepSHAP-style: the reference is run through the network,
    and the gradient of every element-wise non-linearity (relu, sigmoid, tanh, softplus,
    elu, ...) is replaced by ``(f(z_x) - f(z_r)) / (z_x - z_r)``, or by the gradient at
    ``z_r`` where ``|z_x - z_r| < 1e-7`` (the ``deeplift`` package's threshold). Max
    pooling passes the gradient to the arg-max of the *input's* activations (the
    ``deeplift`` package's default ``gradient`` max-pool mode); convolutions, dense
    layers and batch normalisation (inference mode) are linear, so plain gradients
    already are their DeepLIFT multipliers.

``deeplift``
    DeepLIFT's genomics default, as the ``deeplift`` package computes it: Rescale after
    convolutions, RevealCancel after dense layers (:func:`_revealcancel_grad`, batch
    normalisation between them allowed).

Gradients and integrated gradients work on any Keras model the package can load
(tf_keras or Keras 3), including layers the ``deeplift`` package cannot convert (e.g.
a ``Multiply`` of two motif detectors). ``rescale`` and ``deeplift`` need a chain of
layers (Sequential, or a functional model without branches) made of the layer types in
``_LINEAR_LAYERS``/activations; the model is translated once into a list of TensorFlow
ops read from each layer's config and weights, so tf_keras ``.h5`` and Keras 3
``.keras`` files give the same program. The translation is checked against the Keras
model's own output when the scorer is built.

Speed: every pass is a ``tf.function`` with a fixed input signature (no retracing per
batch size). A reference shared by every sequence (``gc``, ``zero``) is run through
the network once per batch, not once per sequence, so ``rescale`` against a shared
reference costs one forward and one backward pass per sequence, like a gradient; with
K references per sequence, its convolutions and dense layers still run forward once
(only the backward pass depends on the reference). Convolutions on one-hot input run
as one matrix product (im2col); wide convolutions take their input gradient through
the FFT where that needs at most half the multiply-adds (:func:`_conv_fft_grad`),
their forward values staying TensorFlow's own. A ReLU followed by non-overlapping
max-pooling is one step, one XLA-compiled pass over memory each way
(:func:`_fuse_relu_pool`). Every call has the same batch shape
(the last batch is padded), because TensorFlow's kernels round differently for
different batch sizes and a sequence's scores must not depend on its shard.
"""

from __future__ import annotations

import numpy as np

from .models import ModelError, SequenceModel

NATIVE_METHODS = ("grad_x_input", "integrated_gradients", "rescale", "deeplift")
_DEEPLIFT_RULES = ("rescale", "deeplift")  # methods that run the reference through the network
NEAR_ZERO = 1e-7  # deeplift.util.NEAR_ZERO_THRESHOLD
IG_STEPS = 32
_IM2COL_MAX_CHANNELS = 8  # Conv1D layers with at most this many input channels run as one matmul
_FFT_MIN_CHANNELS = 64  # wide convolutions take their input gradient through the FFT when that
_FFT_MAX_COST = 0.5  # needs at most this fraction of the direct gradient's multiply-adds

# layers that pass values through unchanged at inference time
_IDENTITY_LAYERS = {"Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                    "ActivityRegularization", "InputLayer"}
_LINEAR_LAYERS = {"Conv1D", "Dense", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
                  "GlobalAveragePooling1D", "BatchNormalization", "Flatten"}
_ACTIVATION_LAYERS = {"Activation", "ReLU", "LeakyReLU"}


def _activation_fns():
    """name -> (f, f' or None); f' None means: differentiate f with autodiff."""
    import tensorflow as tf

    def d_sigmoid(z):
        s = tf.sigmoid(z)
        return s * (1.0 - s)

    def d_tanh(z):
        t = tf.tanh(z)
        return 1.0 - t * t

    return {
        "relu": (tf.nn.relu, lambda z: tf.cast(z > 0, z.dtype)),
        "sigmoid": (tf.sigmoid, d_sigmoid),
        "tanh": (tf.tanh, d_tanh),
        "softplus": (tf.nn.softplus, tf.sigmoid),
        "softsign": (tf.nn.softsign, None),
        "elu": (tf.nn.elu, None),
        "selu": (tf.nn.selu, None),
        "swish": (tf.nn.silu, None),
        "silu": (tf.nn.silu, None),
        "gelu": (lambda z: tf.nn.gelu(z, approximate=False), None),
        "exponential": (tf.exp, tf.exp),
    }


class _Step:
    """One op of the translated model: ``kind`` is ``"linear"``, ``"act"`` or ``"block"``.

    ``layer``: the Keras layer class it came from (``"ReLUMaxPool"``, ``"block"`` for the
    fused steps); ``params``: a Dense layer's ``(kernel, bias)`` or a batch normalisation's
    ``(scale, shift)`` (for the RevealCancel block, :func:`_genomics_default`), a pooling
    layer's ``(size, stride, padding)``, a fused ReLU + max-pool's ``(size,)``.
    """

    __slots__ = ("dfn", "fn", "kind", "layer", "mult", "name", "params")

    def __init__(self, kind, fn, name, dfn=None, params=None):
        self.kind, self.fn, self.name, self.dfn, self.mult = kind, fn, name, dfn, None
        self.layer, self.params = None, params


def _tuple1(v, what, layer):
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ModelError(f"layer {layer.name!r}: {what}={v} is not 1-D")
        v = v[0]
    return None if v is None else int(v)


def _weights_by_name(layer) -> dict:
    return {v.name.split("/")[-1].split(":")[0]: np.asarray(w, np.float32)
            for v, w in zip(layer.weights, layer.get_weights())}


def _act_step(name: str, layer_name: str, final: bool) -> _Step | None:
    """Step for activation ``name``; None for linear."""
    if name in ("linear", None):
        return None
    fns = _activation_fns()
    if name == "softmax" and final:
        import tensorflow as tf

        return _Step("act", tf.nn.softmax, name, dfn="not-elementwise")
    if name not in fns:
        raise ModelError(
            f"layer {layer_name!r}: activation {name!r} is not supported by the native rescale rule "
            f"(supported: {sorted(fns)}); use method grad_x_input or integrated_gradients"
        )
    f, df = fns[name]
    return _Step("act", f, name, dfn=df)


def _chain_layers(km) -> list:
    """The model's layers in order; raises ModelError when the model is not a chain."""
    layers = [layer for layer in km.layers if layer.__class__.__name__ != "InputLayer"]
    if km.__class__.__name__ == "Sequential":
        return layers
    prev = km.inputs[0]
    for layer in layers:
        try:
            inp, out = layer.input, layer.output
        except Exception as exc:  # noqa: BLE001 - shared layers raise here
            raise ModelError(f"layer {layer.name!r} is used more than once ({exc})") from None
        if isinstance(inp, (list, tuple)) or inp is not prev:
            raise ModelError(
                f"layer {layer.name!r} ({layer.__class__.__name__}) does not simply follow the previous "
                "layer; the native rescale rule needs a chain of layers (Sequential or a functional "
                "model without branches); use method grad_x_input or integrated_gradients"
            )
        prev = out
    if prev is not km.outputs[0]:
        raise ModelError("the model's output is not its last layer; rescale needs a chain of layers")
    return layers


def _translate(model: SequenceModel, target: str) -> list[_Step]:
    """The model as a list of TensorFlow ops (see module docstring)."""
    import tensorflow as tf

    layers = _chain_layers(model.keras_model)
    steps: list[_Step] = []
    for li, layer in enumerate(layers):
        kind = layer.__class__.__name__
        cfg = layer.get_config()
        final = li == len(layers) - 1
        if cfg.get("data_format", "channels_last") not in ("channels_last", None):
            raise ModelError(f"layer {layer.name!r}: only channels_last data is supported")
        act_name = None
        if kind in _IDENTITY_LAYERS:
            continue
        if kind == "Conv1D":
            w = layer.get_weights()
            kernel = tf.constant(np.asarray(w[0], np.float32))
            bias = tf.constant(np.asarray(w[1], np.float32)) if len(w) > 1 else None
            stride = _tuple1(cfg.get("strides", 1), "strides", layer)
            dil = _tuple1(cfg.get("dilation_rate", 1), "dilation_rate", layer)
            if int(cfg.get("groups", 1) or 1) != 1:
                raise ModelError(f"layer {layer.name!r}: grouped convolutions are not supported")
            pad = cfg.get("padding", "valid")
            k, cin = int(kernel.shape[0]), int(kernel.shape[1])
            if cin <= _IM2COL_MAX_CHANNELS and stride == 1 and dil == 1:
                conv = _im2col_conv(kernel, bias, pad)
            else:
                fft = {}  # input length -> convolution with an FFT gradient, chosen at tracing

                def conv(h, kernel=kernel, bias=bias, stride=stride, dil=dil, pad=pad, k=k, fft=fft):
                    L = h.shape[1]
                    if stride == 1 and dil == 1 and L is not None and _fft_pays(L, kernel.shape, pad):
                        if L not in fft:
                            fft[L] = _conv_fft_grad(kernel.numpy(), bias, pad, L)
                        return fft[L](h)
                    if pad == "causal":
                        h = tf.pad(h, [[0, 0], [dil * (k - 1), 0], [0, 0]])
                        pad = "valid"
                    z = tf.nn.conv1d(h, kernel, stride, pad.upper(), dilations=dil)
                    return z if bias is None else tf.nn.bias_add(z, bias)

            steps.append(_Step("linear", conv, layer.name))
            act_name = _activation_name(layer)
        elif kind == "Dense":
            w = layer.get_weights()
            kernel = tf.constant(np.asarray(w[0], np.float32))
            bias = tf.constant(np.asarray(w[1], np.float32)) if len(w) > 1 else None

            def dense(h, kernel=kernel, bias=bias):
                z = tf.matmul(h, kernel) if h.shape.rank == 2 else tf.tensordot(h, kernel, [[h.shape.rank - 1], [0]])
                return z if bias is None else tf.nn.bias_add(z, bias)

            steps.append(_Step("linear", dense, layer.name, params=(kernel, bias)))
            act_name = _activation_name(layer)
        elif kind in ("MaxPooling1D", "AveragePooling1D"):
            size = _tuple1(cfg["pool_size"], "pool_size", layer)
            stride = _tuple1(cfg.get("strides"), "strides", layer) or size
            pad = cfg.get("padding", "valid").upper()
            op = tf.nn.max_pool1d if kind == "MaxPooling1D" else tf.nn.avg_pool1d
            steps.append(_Step("linear", lambda h, op=op, size=size, stride=stride, pad=pad: op(h, size, stride, pad),
                               layer.name, params=(size, stride, pad)))
        elif kind in ("GlobalMaxPooling1D", "GlobalAveragePooling1D"):
            keep = bool(cfg.get("keepdims", False))
            op = tf.reduce_max if kind == "GlobalMaxPooling1D" else tf.reduce_mean
            steps.append(_Step("linear", lambda h, op=op, keep=keep: op(h, axis=1, keepdims=keep), layer.name))
        elif kind == "BatchNormalization":
            axis = cfg.get("axis", -1)
            axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
            rank = len(layer.input.shape)
            if not isinstance(axis, int) or axis not in (-1, rank - 1):
                raise ModelError(f"layer {layer.name!r}: batch normalisation over axis {axis} (only the last "
                                 "axis, the channels, is supported)")
            by = _weights_by_name(layer)
            var = by["moving_variance"]
            gamma = by.get("gamma", np.ones_like(var))
            beta = by.get("beta", np.zeros_like(var))
            scale = gamma / np.sqrt(var + np.float32(cfg.get("epsilon", 1e-3)))
            shift = beta - by["moving_mean"] * scale
            scale, shift = tf.constant(scale.astype(np.float32)), tf.constant(shift.astype(np.float32))
            steps.append(_Step("linear", lambda h, s=scale, b=shift: h * s + b, layer.name, params=(scale, shift)))
        elif kind == "Flatten":
            steps.append(_Step("linear", lambda h: tf.reshape(h, (tf.shape(h)[0], -1)), layer.name))
        elif kind == "Activation":
            act_name = _activation_name(layer)
        elif kind == "ReLU":
            if cfg.get("max_value") is not None or float(cfg.get("threshold", 0) or 0) != 0:
                raise ModelError(f"layer {layer.name!r}: ReLU with max_value/threshold is not supported")
            slope = float(cfg.get("negative_slope", 0) or 0)
            act_name = "relu" if slope == 0 else ("leaky", slope)
        elif kind == "LeakyReLU":
            act_name = ("leaky", float(cfg.get("negative_slope", cfg.get("alpha", 0.3))))
        else:
            raise ModelError(
                f"{model.path}: layer {layer.name!r} of type {kind} is not supported by the native rescale "
                f"rule (supported: {sorted(_LINEAR_LAYERS | _ACTIVATION_LAYERS | _IDENTITY_LAYERS)}); use "
                "method grad_x_input or integrated_gradients, which work on any model"
            )
        if final and target == "preactivation" and kind in ("Dense", "Activation"):
            act_name = None  # the logit: the final activation is left out, as in SequenceModel.output_fn
        elif final and target == "preactivation" and act_name not in (None, "linear"):
            raise ModelError(
                f"{model.path}: the last layer is {kind} with activation {act_name!r}; DFIM can take the "
                "pre-activation only of a final Dense or Activation layer. Set model.target: output"
            )
        if isinstance(act_name, tuple):
            slope = act_name[1]
            steps.append(_Step("act", lambda z, a=slope: tf.nn.leaky_relu(z, a), "leaky_relu", dfn=None))
        else:
            step = _act_step(act_name, layer.name, final)
            if step is not None:
                steps.append(step)
    kinds = {layer.name: layer.__class__.__name__ for layer in layers}
    for step in steps:
        if step.kind == "linear":
            step.layer = kinds[step.name]
    return steps


def _pool_before_relu(steps: list[_Step]) -> list[_Step]:
    """Each ReLU followed by max-pooling swapped with it: the same values and input gradient, cheaper.

    ReLU is monotone, so ``maxpool(relu(z)) == relu(maxpool(z))``; the gradient goes to
    the same arg-max (where the window's maximum is not positive, ReLU's gradient is 0
    either way). Pooling first runs the ReLU and its gradient on a ``pool`` times
    smaller tensor. For gradients only: a Rescale multiplier pairs the input's and the
    reference's values at the same position, which pooling first would break.
    """
    out = list(steps)
    i = 0
    while i < len(out) - 1:
        if out[i].kind == "act" and out[i].name == "relu" and out[i + 1].layer == "MaxPooling1D":
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 1
        i += 1
    return out


def _fuse_relu_pool(steps: list[_Step]) -> list[_Step]:
    """Each ReLU followed by non-overlapping max-pooling (stride = size, valid) made one step.

    The largest tensors of a genomics CNN are its first convolution's output
    (Basset: 1000 x 300 floats per sequence); TensorFlow's ReLU, max-pool and their
    gradients each pass over them in memory. As one step (:func:`_relu_pool`), the
    forward pass and each gradient (plain, or Rescale against a reference) are one
    XLA-compiled pass. Same values and gradients, bit for bit; kind ``"act"``, so
    Rescale still sees the pre-activation of every ReLU.
    """
    out: list[_Step] = []
    for step in steps:
        prev = out[-1] if out else None
        if (step.layer == "MaxPooling1D" and step.params[0] == step.params[1] and step.params[2] == "VALID"
                and prev is not None and prev.kind == "act" and prev.name == "relu"):
            fused = _Step("act", None, f"relu+{step.name}", params=(step.params[0],))
            fused.layer = "ReLUMaxPool"
            fused.fn = _relu_pool(fused)
            out[-1] = fused
        else:
            out.append(step)
    return out


def _pool_windows(z, size: int):
    """(b, L, C) -> (b, L // size, size, C): the windows of a valid max-pool with stride = size."""
    import tensorflow as tf

    n = z.shape[1] // size
    return tf.reshape(z[:, : n * size], (-1, n, size, z.shape[2]))


def _first_argmax(a):
    """Each window's arg-max in ``a (b, n, size, C)``: the first among equal values (often: ReLU
    outputs of 0), as TensorFlow's MaxPoolGrad (and so the ``deeplift`` package) routes; ArgMax
    picks the smallest index, in XLA as in TensorFlow's kernel."""
    import tensorflow as tf

    return tf.argmax(a, axis=2, output_type=tf.int32)


def _pool_route(index, g, size: int):
    """``g (b, n, C)`` placed at position ``index (b, n, C)`` of each window -> (b, n, size, C);
    an index of ``size`` places nothing."""
    import tensorflow as tf

    j = tf.reshape(tf.cast(tf.range(size), index.dtype), (1, 1, size, 1))
    return tf.where(tf.equal(j, index[:, :, None]), g[:, :, None], tf.zeros_like(g)[:, :, None])


def _unpool(gw, L: int):
    """Window gradients (b, n, size, C) back to (b, L, C); inputs past the last window get 0."""
    import tensorflow as tf

    n, size, C = gw.shape[1:]
    return tf.pad(tf.reshape(gw, (-1, n * size, C)), [[0, 0], [0, L - n * size], [0, 0]])


def _relu_pool(step: _Step):
    """``maxpool(relu(z))`` with its gradient, each an XLA-compiled pass (see :func:`_fuse_relu_pool`).

    Sets ``step.mult``: the Rescale version's gradient, ``g`` times the Rescale
    multiplier against ``z_r`` at each window's arg-max (used by :func:`_rescale_op`).
    """
    import tensorflow as tf

    size = step.params[0]

    def forward(z):
        """The pooled ReLU and, for its gradient, each window's arg-max (``size`` where the max is 0)."""
        a = tf.nn.relu(_pool_windows(z, size))
        top = tf.reduce_max(a, axis=2)
        return top, tf.cast(tf.where(top > 0, _first_argmax(a), size), tf.uint8 if size < 255 else tf.int32)

    def grad(g, where, L):
        return _unpool(_pool_route(where, g, size), L)

    def rescale_grad(g, z, z_r):
        w, w_r = _pool_windows(z, size), _pool_windows(z_r, size)
        return _unpool(_rescale_factor(tf.nn.relu, lambda v: tf.cast(v > 0, v.dtype), w, w_r)
                       * _pool_route(_first_argmax(tf.nn.relu(w)), g, size), z.shape[1])

    forward, grad, step.mult = _compiled(forward), _compiled(grad), _compiled(rescale_grad)

    @tf.custom_gradient
    def op(z):
        top, where = forward(z)
        # the gradient reads the arg-maxes (a byte per window), not z again
        return top, lambda g: grad(g, where, L=z.shape[1])

    return op


def _genomics_default(steps: list[_Step]) -> list[_Step]:
    """DeepLIFT's genomics default: Rescale after convolutions, RevealCancel after dense layers.

    As in the ``deeplift`` package, the rule of an activation is chosen by the
    linear layer before it (batch normalisation skipped). Each Dense [+ batch
    normalisation] + activation after a Dense becomes one ``"block"`` step whose
    gradient is the RevealCancel multiplier (:func:`_revealcancel_grad`).
    """
    out: list[_Step] = []
    for step in steps:
        if step.kind != "act":
            out.append(step)
            continue
        j = len(out) - 1
        while j >= 0 and out[j].layer == "BatchNormalization":
            j -= 1
        before = (out[j].layer or out[j].name) if j >= 0 else None
        if before == "Conv1D":
            out.append(step)
        elif before == "Dense":
            if len(out) - j > 2:
                raise ModelError(f"activation {step.name!r}: more than one batch normalisation after a dense "
                                 "layer is not supported by the native genomics default; use backend deeplift")
            if step.dfn == "not-elementwise":
                raise ModelError("DeepLIFT's RevealCancel rule is defined for element-wise activations only; a "
                                 "final softmax needs model.target: preactivation")
            parts = out[j:] + [step]
            del out[j:]
            out.append(_block(parts))
        else:
            raise ModelError(
                f"activation {step.name!r} follows {before or 'the input'}, not a convolution or dense layer; "
                "DeepLIFT's genomics default does not say which rule to use there (neither does the deeplift "
                "package); use method rescale"
            )
    return out


def _block(parts: list[_Step]) -> _Step:
    """Dense [+ batch normalisation] + activation as one step carrying the RevealCancel gradient."""
    dense, act = parts[0], parts[-1]
    bn = parts[1].params if len(parts) == 3 else None

    def fn(h):
        for part in parts:
            h = part.fn(h)
        return h

    step = _Step("block", fn, f"{dense.name}+{act.name}", params=(dense.params, bn, act.fn))
    step.layer = "block"
    return step


def _pseudocount(t):
    """deeplift's ``pseudocount_near_zero``: move |t| < NEAR_ZERO/2 to +-NEAR_ZERO (sign kept, 0 -> +)."""
    import tensorflow as tf

    small = tf.abs(t) < 0.5 * NEAR_ZERO
    return t + tf.where(small, tf.where(t >= 0, NEAR_ZERO, -NEAR_ZERO), 0.0)


def _revealcancel_grad(params, g, x, x_r):
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
    """
    import tensorflow as tf

    (W, b), bn, f = params
    Wp, Wn = tf.nn.relu(W), -tf.nn.relu(-W)
    dx = x - x_r
    xp, xn = tf.nn.relu(dx), -tf.nn.relu(-dx)
    zp = tf.matmul(xp, Wp) + tf.matmul(xn, Wn)
    zn = tf.matmul(xp, Wn) + tf.matmul(xn, Wp)
    z_r = tf.matmul(x_r, W)
    z_r = z_r if b is None else z_r + b
    if bn is not None:
        scale, shift = bn
        z_r = z_r * scale + shift
        zp, zn = tf.where(scale > 0, zp * scale, zn * scale), tf.where(scale > 0, zn * scale, zp * scale)
    # deeplift's operations in deeplift's order: where a part is exactly zero, its
    # pseudocount makes the multiplier a float32 rounding of 1e-7, which only the same
    # additions reproduce
    zp, zn = _pseudocount(zp), _pseudocount(zn)
    f_r, z_rp, z_rn = f(z_r), z_r + zp, z_r + zn
    yp = 0.5 * ((f(z_rp) - f_r) + (f(z_rn + zp) - f(z_rn)))
    yn = 0.5 * ((f(z_rn) - f_r) + (f(z_rp + zn) - f(z_rp)))
    mp, mn = g * (yp / zp), g * (yn / zn)
    if bn is not None:
        pos, neg = tf.nn.relu(scale), -tf.nn.relu(-scale)
        mp, mn = mp * pos + mn * neg, mp * neg + mn * pos
    # rose = m+ W+^T + m- W-^T and fell = m+ W-^T + m- W+^T are (S + D) / 2 and (S - D) / 2
    # with S = (m+ + m-) W^T and D = (m+ - m-) |W|^T: two products instead of five (the
    # masks depend on dx alone, so this changes rounding only)
    S = tf.matmul(mp + mn, W, transpose_b=True)
    D = tf.matmul(mp - mn, tf.abs(W), transpose_b=True)
    return 0.5 * tf.where(dx > 0, S + D, tf.where(dx < 0, S - D, S))


def _revealcancel_op(step, x, x_r):
    """The block's output, with the RevealCancel multipliers (against ``x_r``) as its gradient."""
    import tensorflow as tf

    @tf.custom_gradient
    def op(v):
        def grad(g):
            return _revealcancel_grad(step.params, g, v, x_r)

        return step.fn(v), grad

    return op(x)


def _im2col_conv(kernel, bias, padding: str):
    """Conv1D on few input channels (one-hot DNA) as one matrix product, with its input gradient too.

    TensorFlow's convolution kernels reach about half the machine's matmul rate when
    the input has 4 channels, and a quarter for the input gradient; copying the ``k``
    shifted windows side by side (``(n L, k*4)``, one XLA pass) turns both into plain
    matrix products. The result is the same convolution, bit for bit (the bias is
    added to the product's 2-D result, where TensorFlow fuses it into the matmul). The
    gradient sums the ``k`` windows' gradients back (col2im), also one XLA pass.
    """
    import tensorflow as tf

    k, cin, cout = (int(d) for d in kernel.shape)
    W = tf.reshape(kernel, (k * cin, cout))
    Wt = tf.constant(tf.transpose(W).numpy())  # the gradient's product runs faster on a stored transpose
    left, right = _pads(k, padding)

    def im2col(h):
        L = h.shape[1]
        p = tf.pad(h, [[0, 0], [left, right], [0, 0]])
        return tf.reshape(tf.concat([p[:, i : i + L + left + right - k + 1] for i in range(k)], -1), (-1, k * cin))

    def col2im(gc, L):
        Lp = L + left + right
        gc = tf.reshape(gc, (-1, Lp - k + 1, k, cin))
        gp = tf.add_n([tf.pad(gc[:, :, i], [[0, 0], [i, k - 1 - i], [0, 0]]) for i in range(k)])
        return gp[:, left : left + L]

    im2col, col2im = _compiled(im2col), _compiled(col2im)

    @tf.custom_gradient
    def conv(h):
        z = tf.matmul(im2col(h), W)
        z = tf.reshape(z if bias is None else tf.nn.bias_add(z, bias), (-1, h.shape[1] + left + right - k + 1, cout))

        def grad(g):
            return col2im(tf.matmul(tf.reshape(g, (-1, cout)), Wt), L=h.shape[1])

        return z, grad

    return conv


def _pads(k: int, padding: str) -> tuple[int, int]:
    """Zeros added left and right of the input by a stride-1 Conv1D (TensorFlow's convention)."""
    left = {"same": (k - 1) // 2, "valid": 0, "causal": k - 1}[padding]
    return left, {"same": k - 1 - (k - 1) // 2, "valid": 0, "causal": 0}[padding]


def _fft_length(n: int) -> int:
    """The smallest 5-smooth length >= n (fast for every FFT library)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def _fft_pays(L: int, shape, padding: str) -> bool:
    """Whether the FFT input gradient needs well under the direct one's multiply-adds.

    Direct: ``L_out * k * cin * cout``; FFT: a complex ``cin x cout`` product per
    frequency, ``4 * F * cin * cout`` real multiply-adds, plus the transforms (linear
    in the channels, negligible for wide layers). A rule on the shapes, not a timing,
    so the same model always runs the same arithmetic.
    """
    k, cin, cout = (int(d) for d in shape)
    if min(cin, cout) < _FFT_MIN_CHANNELS or k < 3:
        return False
    left, right = _pads(k, padding)
    L_out = L + left + right - k + 1
    F = _fft_length(L + left + right) // 2 + 1
    return 4 * F <= _FFT_MAX_COST * L_out * k


def _conv_fft_grad(kernel: np.ndarray, bias, padding: str, L: int):
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
    """
    import tensorflow as tf

    k, cin, cout = kernel.shape
    left, right = _pads(k, padding)
    P = _fft_length(L + left + right)
    F = P // 2 + 1
    L_out = L + left + right - k + 1
    off = k - 1 - left
    G = np.fft.rfft(np.pad(kernel[::-1].astype(np.float64), [(0, P - k), (0, 0), (0, 0)]), axis=0)  # (F, cin, cout)
    # Y conj(G)^T: real part Re Y Re G^T + Im Y Im G^T, imaginary Im Y Re G^T - Re Y Im G^T
    Gt = np.transpose(G, (0, 2, 1))  # (F, cout, cin)
    M = np.stack([np.concatenate([Gt.real, Gt.imag], 1), np.concatenate([-Gt.imag, Gt.real], 1)], -1)
    with tf.init_scope():  # eager constants: built while tracing one graph, used by every later one
        M = tf.constant(M.reshape(F, 2 * cout, 2 * cin).astype(np.float32))
        W = tf.constant(kernel)

    # channels-first for the FFT and back, each transpose with its pad or crop in one XLA pass
    to_signal = _compiled(lambda g: tf.pad(tf.transpose(g, (0, 2, 1)), [[0, 0], [0, 0], [off, P - off - L_out]]))
    from_signal = _compiled(lambda y: tf.transpose(y[:, :, :L], (0, 2, 1)))

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


def _activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    return "linear" if act is None else getattr(act, "__name__", str(act))


def _run(steps, h, on_act=None, group=None):
    """Forward pass of a translated model; ``on_act(step, z)`` replaces each activation.

    ``group`` (an int or a scalar tensor) says that rows come in runs of ``group``
    equal rows (a sequence repeated once per reference): convolutions and dense layers
    then compute each run once (:func:`_once_per_group`).
    """
    import tensorflow as tf

    for step in steps:
        if step.kind in ("act", "block") and on_act is not None:
            h = on_act(step, h)
        elif group is not None and step.layer in ("Conv1D", "Dense"):  # the layers worth computing once
            h = _once_per_group(step.fn, h, group)
        else:
            h = step.fn(h)
    return tf.reshape(h, (tf.shape(h)[0], -1))


def _once_per_group(fn, h, group):
    """``fn(h)`` for rows in runs of ``group`` equal rows: computed on one row per run, repeated.

    With K references, Rescale needs K backward passes per sequence (the multipliers
    depend on the reference) but only one forward pass: the activations of the
    sequence are the same K times. The gradient is still taken for every row, through
    ``fn`` itself, whose forward values on the repeated rows are then unused and never
    computed (graph pruning); ``fn`` is linear here, so its gradient does not depend on
    them.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def op(v):
        first = v[::group]
        first.set_shape([None] + v.shape[1:])  # a tensor stride hides the static shape
        z = tf.repeat(fn(first), group, axis=0)

        return z, lambda g: _vjp(fn, v, g)

    return op(h)


def _vjp(fn, v, g):
    """``g`` pulled back through ``fn`` at ``v``: ``(d fn / d v)^T g``.

    ``fn``'s own forward values are not used, so in a graph they are never computed
    (pruned), only its gradient ops run.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(v)
        out = fn(v)
    return tape.gradient(out, v, output_gradients=g)


def _rescale_multiplier(step):
    """``g * m`` with ``m`` the Rescale multiplier, compiled by XLA into one pass over memory.

    Unfused, the dozen element-wise ops cost more than the ReLU gradient they replace.
    """
    if step.dfn == "not-elementwise":
        raise ModelError("the rescale rule is defined for element-wise activations only; a final softmax "
                         "needs model.target: preactivation")
    f, df = step.fn, step.dfn
    return _compiled(lambda g, z, z_r: g * _rescale_factor(f, df, z, z_r))


def _rescale_factor(f, df, z, z_r):
    """DeepLIFT's Rescale multiplier of activation ``f`` at ``z`` against ``z_r`` (``df``: f', None = autodiff)."""
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


_XLA = [True]  # set to False to run the Rescale multipliers and fused ReLU + max-pool steps without XLA


def _compiled(fn):
    """``fn`` compiled by XLA (where available), traced once per shape of its arguments' rows.

    A plain ``tf.function`` is traced again inside every graph that calls it (each
    scoring function, each batch shape); a signature with a free batch dimension makes
    one trace serve them all. Keyword arguments are Python constants of the trace.
    """
    import functools

    import tensorflow as tf

    traced = {}

    def call(*args, **static):
        key = tuple((tuple(a.shape[1:]), a.dtype) for a in args) + tuple(sorted(static.items()))
        if key not in traced:
            sig = [tf.TensorSpec((None,) + tuple(a.shape[1:]), a.dtype) for a in args]
            traced[key] = tf.function(functools.partial(fn, **static), jit_compile=_XLA[0], input_signature=sig)
        return traced[key](*args)

    return call


def _check_xla() -> None:
    """Fall back to plain TensorFlow ops (slower; the same numbers up to rounding) where this build has no XLA."""
    import tensorflow as tf

    if len(_XLA) > 1 or not tf.executing_eagerly():
        return
    try:
        tf.function(lambda v: v * 2.0, jit_compile=True)(tf.ones(2)).numpy()
    except Exception:  # noqa: BLE001 - any failure means: no usable XLA here
        _XLA[0] = False
    _XLA.append("checked")


def _rescale_op(step, z_x, z_r):
    """``f(z_x)`` whose gradient is the DeepLIFT Rescale multiplier against ``z_r``."""
    import tensorflow as tf

    if step.mult is None:
        step.mult = _rescale_multiplier(step)
    mult = step.mult

    @tf.custom_gradient
    def op(z):
        def grad(g):
            return mult(g, z, z_r)

        return step.fn(z), grad

    return op(z_x)


class NativeScorer:
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
    """

    def __init__(self, model: SequenceModel, method: str = "grad_x_input", target: str = "preactivation",
                 threads=None, ig_steps: int = IG_STEPS):
        if method not in NATIVE_METHODS:
            raise ValueError(f"unknown native method {method!r}; choose one of {list(NATIVE_METHODS)}")
        if int(ig_steps) < 1:
            raise ValueError(f"ig_steps must be >= 1, got {ig_steps}")
        import tensorflow as tf

        if threads:
            _set_threads(int(threads))
        self.model = model
        self.method = method
        self.ig_steps = int(ig_steps)
        self.reference_free = method == "grad_x_input"
        _check_xla()  # now, eagerly: the compiled steps are built while tracing
        try:
            self._steps = _translate(model, target)
            if method == "deeplift":
                self._steps = _genomics_default(self._steps)
            self._steps = _fuse_relu_pool(self._steps)
            if method not in _DEEPLIFT_RULES:
                self._steps = _pool_before_relu(self._steps)
            self._check_translation(model.output_fn(target))
        except Exception as exc:
            if method in _DEEPLIFT_RULES:
                if isinstance(exc, ModelError):
                    raise
                raise ModelError(f"{model.path}: cannot translate the model for the {method} rule "
                                 f"({type(exc).__name__}: {exc}); use backend deeplift") from exc
            self._steps = None  # gradients still work through the Keras model itself
        if self._steps is not None:
            steps = self._steps
            logits = lambda x: _run(steps, x)
        else:
            logits = model.output_fn(target)
        L = model.length
        spec_x = tf.TensorSpec((None, L, 4), tf.float32)
        spec_task = tf.TensorSpec((), tf.int32)

        def grad(x, task):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(logits(x)[:, task])
            return tape.gradient(y, x)

        def ig(x, r, task):
            """x (m, L, 4), r (m or 1, L, 4) -> mean gradient on the path (m, L, 4)."""
            S = self.ig_steps
            alphas = (tf.range(S, dtype=tf.float32) + 0.5) / S
            pts = r[:, None] + alphas[None, :, None, None] * (x - r)[:, None]
            g = grad(tf.reshape(pts, (-1, L, 4)), task)
            return tf.reduce_mean(tf.reshape(g, (-1, S, L, 4)), axis=1)

        def reference_acts(r):
            """The inputs of every activation/block step for references r (n, L, 4)."""
            z_r = []
            _run(self._steps, r, on_act=lambda s, z: (z_r.append(z), s.fn(z))[1])
            return z_r

        n_acts = sum(step.kind in ("act", "block") for step in (self._steps or []))

        def rescale(x, r, task, expand=None, group=None):
            """x (m, L, 4); r (m or 1, L, 4), the reference activations broadcast over rows.

            ``expand`` maps each reference activation to ``x``'s rows, when ``r`` holds
            only the distinct references (each is run through the network once); with
            ``r`` of shape (u, K, L, 4), each of the u sets runs on its own, so its
            activations do not depend on which other sets share the batch (TensorFlow's
            kernels round differently for different batch sizes).
            ``group``: x's rows come in runs of that many equal rows (see ``_run``).
            """
            if r.shape.rank == 4:
                z_r = tf.map_fn(reference_acts, r, fn_output_signature=[tf.float32] * n_acts)
                z_r = [tf.reshape(z, tf.concat([[-1], tf.shape(z)[2:]], 0)) for z in z_r]
            else:
                z_r = reference_acts(r)
            if expand is not None:
                z_r = [expand(z) for z in z_r]
            it = iter(z_r)
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = _run(self._steps, x, group=group, on_act=lambda s, z: (
                    _rescale_op if s.kind == "act" else _revealcancel_op)(s, z, next(it)))
                y = tf.reduce_sum(y[:, task])
            return tape.gradient(y, x)

        self._grad = tf.function(grad, input_signature=[spec_x, spec_task])
        mult = {"grad_x_input": lambda x, r, t: grad(x, t), "integrated_gradients": ig, "rescale": rescale,
                "deeplift": rescale}[method]
        self._mult_fn = mult
        self._rows = tf.function(mult, input_signature=[spec_x, spec_x, spec_task])

        def tile_rows(z, b):
            """(K, ...) -> (b*K, ...): row j is z[j % K]."""
            return tf.tile(z, tf.concat([[b], tf.ones([z.shape.rank - 1], tf.int32)], 0))

        def gather_rows(z, index, K):
            """(u*K, ...) -> (b*K, ...): rows of the reference sets ``index`` (b,)."""
            z = tf.reshape(z, tf.concat([[-1, K], tf.shape(z)[1:]], 0))
            z = tf.gather(z, index)
            return tf.reshape(z, tf.concat([[-1], tf.shape(z)[2:]], 0))

        def hyp_from(m, r, b):
            h = m - tf.reduce_sum(m * r, axis=-1, keepdims=True)
            return tf.reduce_mean(tf.reshape(h, (b, -1, L, 4)), axis=1)

        def hyp_shared(x, refs, task):
            """x (b, L, 4); refs (K, L, 4) shared by every row -> hyp (b, L, 4)."""
            K = tf.shape(refs)[0]
            b = tf.shape(x)[0]
            if refs.shape[0] == 1:
                return hyp_from(mult(x, refs, task), refs, b)
            r = tile_rows(refs, b)
            if method in _DEEPLIFT_RULES:
                m = rescale(tf.repeat(x, K, axis=0), refs, task, expand=lambda z: tile_rows(z, b), group=K)
            else:
                m = mult(tf.repeat(x, K, axis=0), r, task)
            return hyp_from(m, r, b)

        def hyp_each(x, refs, index, task):
            """x (b, L, 4); refs (u, K, L, 4) distinct reference sets; index (b,) -> hyp (b, L, 4)."""
            K = tf.shape(refs)[1]
            b = tf.shape(x)[0]
            flat = tf.reshape(refs, (-1, L, 4))
            r = gather_rows(flat, index, K)
            xt = tf.repeat(x, K, axis=0)
            if method in _DEEPLIFT_RULES:
                m = rescale(xt, refs, task, expand=lambda z: gather_rows(z, index, K), group=K)
            else:
                m = mult(xt, r, task)
            return hyp_from(m, r, b)

        self._hyp_one = tf.function(hyp_shared, input_signature=[spec_x, tf.TensorSpec((1, L, 4), tf.float32),
                                                                 spec_task])
        self._hyp_shared = tf.function(hyp_shared, input_signature=[spec_x, spec_x, spec_task])
        self._hyp_each = tf.function(hyp_each, input_signature=[
            spec_x, tf.TensorSpec((None, None, L, 4), tf.float32), tf.TensorSpec((None,), tf.int32), spec_task])

    def _check_translation(self, keras_fn):
        """The translated ops must reproduce the Keras model's target output."""
        rng = np.random.default_rng(0)
        x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (2, self.model.length))]
        import tensorflow as tf

        x = tf.constant(x)
        # in a graph, as scoring runs it (eagerly, each compiled step would be traced for this call alone)
        a = tf.function(lambda v: _run(self._steps, v))(x).numpy()
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

    def multipliers(self, X: np.ndarray, R: np.ndarray | None, task: int, batch_size: int = 256) -> np.ndarray:
        """Multipliers of ``task`` at ``X (m, L, 4)`` against references ``R (m, L, 4)``.

        ``R`` may be None for ``grad_x_input``. Returns ``(m, L, 4)`` float32.
        """
        import tensorflow as tf

        X = np.asarray(X, np.float32)
        t = tf.constant(int(task), tf.int32)
        if self.reference_free:
            parts = [self._grad(_padded(X[i : i + batch_size], batch_size), t).numpy()[: len(X[i : i + batch_size])]
                     for i in range(0, len(X), batch_size)]
        else:
            if R is None:
                raise ValueError(f"method {self.method} needs references")
            R = np.asarray(R, np.float32)
            step = self._rows_per_call(batch_size, 1)
            parts = [self._rows(_padded(X[i : i + step], step), _padded(R[i : i + step], step), t).numpy()[
                : len(X[i : i + step])] for i in range(0, len(X), step)]
        return np.concatenate(parts) if parts else np.zeros_like(X)

    def hypothetical(self, X: np.ndarray, refs: np.ndarray, ref_index: np.ndarray, task: int,
                     batch_size: int = 256) -> np.ndarray:
        """Hypothetical scores ``(n, L, 4)``, averaged over each sequence's ``K`` references.

        X : ``(n, L, 4)``; refs : ``(n_r, K, L, 4)``; ref_index : ``(n,)`` row of ``refs``
        for each sequence. A single reference set (``n_r == 1``) is run through the
        network once per batch rather than once per sequence.

        Every call runs the same number of rows (the last batch is padded): TensorFlow's
        kernels round differently for different batch sizes, and a sequence's scores
        must not depend on how many others share its shard.
        """
        import tensorflow as tf

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
                out[i : i + m] = fn(_padded(X[i : i + step], step), shared, t).numpy()[:m]
            return out
        for i in range(0, n, step):
            # mutants share their original's references: run each distinct set through the network once
            sets, index = np.unique(ref_index[i : i + step], return_inverse=True)
            m = len(index)
            out[i : i + m] = self._hyp_each(_padded(X[i : i + step], step), tf.constant(refs[sets]),
                                            _padded(index.astype(np.int32), step), t).numpy()[:m]
        return out

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _padded(a: np.ndarray, n: int):
    """``a`` padded with zero rows to ``n`` rows, as a tensor (a fixed batch shape for every call)."""
    import tensorflow as tf

    if len(a) < n:
        a = np.concatenate([a, np.zeros((n - len(a),) + a.shape[1:], a.dtype)])
    return tf.constant(a)


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

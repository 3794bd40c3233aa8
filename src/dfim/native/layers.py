"""One translator per Keras layer class: a layer's config and weights → linear steps.

Each translator ``(layer, cfg: dict) -> LayerOps`` is registered in ``REGISTRY`` for
the Keras class names it reads (:func:`register`); :mod:`dfim.native.translate` walks
the model and calls them. Adding a layer kind is one function here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..models import ModelError, activation_name
from .kernels import IM2COL_MAX_CHANNELS, conv_fft_grad, fft_pays, im2col_conv
from .program import BatchNorm, Dense, Linear, Merge, Pool

# layers that pass values through unchanged at inference time
IDENTITY_LAYERS = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                   "ActivityRegularization", "InputLayer")


@dataclass
class LayerOps:
    """What one Keras layer becomes.

    Attributes
    ----------
    steps : linear steps, in order (may be empty).
    activation : the activation applied after them: a Keras activation name
        (``"linear"`` or None for none), or ``("leaky", slope)`` for a leaky ReLU.
    """

    steps: list = field(default_factory=list)
    activation: str | tuple | None = None


REGISTRY: dict = {}  # Keras layer class name -> translator(layer, cfg) -> LayerOps


def register(*kinds: str):
    """Decorator: register a translator ``(layer, cfg: dict) -> LayerOps`` for Keras classes ``kinds``."""

    def deco(fn):
        for kind in kinds:
            REGISTRY[kind] = fn
        return fn

    return deco


# --- per-layer translators -------------------------------------------------------------


def _tuple1(v, what, layer):
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ModelError(f"layer {layer.name!r}: {what}={v} is not 1-D")
        v = v[0]
    return None if v is None else int(v)


def _weights_by_name(layer) -> dict:
    return {v.name.split("/")[-1].split(":")[0]: np.asarray(w, np.float32)
            for v, w in zip(layer.weights, layer.get_weights())}


def _kernel_bias(layer):
    import tensorflow as tf

    w = layer.get_weights()
    kernel = tf.constant(np.asarray(w[0], np.float32))
    bias = tf.constant(np.asarray(w[1], np.float32)) if len(w) > 1 else None
    return kernel, bias


@register(*IDENTITY_LAYERS)
def identity(layer, cfg) -> LayerOps:
    """Layers that pass values through unchanged at inference time: no steps."""
    return LayerOps()


@register("Conv1D")
def conv1d(layer, cfg) -> LayerOps:
    """Conv1D: im2col on few input channels, an FFT input gradient where it pays, else ``tf.nn.conv1d``."""
    import tensorflow as tf

    kernel, bias = _kernel_bias(layer)
    stride = _tuple1(cfg.get("strides", 1), "strides", layer)
    dil = _tuple1(cfg.get("dilation_rate", 1), "dilation_rate", layer)
    if int(cfg.get("groups", 1) or 1) != 1:
        raise ModelError(f"layer {layer.name!r}: grouped convolutions are not supported")
    pad = cfg.get("padding", "valid")
    k, cin = int(kernel.shape[0]), int(kernel.shape[1])
    if cin <= IM2COL_MAX_CHANNELS and stride == 1 and dil == 1:
        conv = im2col_conv(kernel, bias, pad)
    else:
        fft = {}  # input length -> convolution with an FFT gradient, chosen at tracing

        def conv(h, kernel=kernel, bias=bias, stride=stride, dil=dil, pad=pad, k=k, fft=fft):
            L = h.shape[1]
            if stride == 1 and dil == 1 and L is not None and fft_pays(L, kernel.shape, pad):
                if L not in fft:
                    fft[L] = conv_fft_grad(kernel.numpy(), bias, pad, L)
                return fft[L](h)
            if pad == "causal":
                h = tf.pad(h, [[0, 0], [dil * (k - 1), 0], [0, 0]])
                pad = "valid"
            if dil == 1:
                z = tf.nn.conv1d(h, kernel, stride, pad.upper())
            else:  # TensorFlow's CPU kernel has no dilated input gradient without oneDNN (AMD CPUs):
                # tf.nn.convolution runs a dilated convolution as a plain one on space-to-batch rows
                z = tf.nn.convolution(h, kernel, strides=stride, padding=pad.upper(), dilations=dil)
            return z if bias is None else tf.nn.bias_add(z, bias)

    return LayerOps([Linear(layer.name, "Conv1D", conv)], activation_name(layer))


@register("Dense")
def dense(layer, cfg) -> LayerOps:
    """Dense, on the last axis of any rank."""
    import tensorflow as tf

    kernel, bias = _kernel_bias(layer)

    def fn(h, kernel=kernel, bias=bias):
        z = tf.matmul(h, kernel) if h.shape.rank == 2 else tf.tensordot(h, kernel, [[h.shape.rank - 1], [0]])
        return z if bias is None else tf.nn.bias_add(z, bias)

    return LayerOps([Dense(layer.name, "Dense", fn, kernel=kernel, bias=bias)], activation_name(layer))


@register("MaxPooling1D", "AveragePooling1D")
def pooling(layer, cfg) -> LayerOps:
    import tensorflow as tf

    kind = layer.__class__.__name__
    size = _tuple1(cfg["pool_size"], "pool_size", layer)
    stride = _tuple1(cfg.get("strides"), "strides", layer) or size
    pad = cfg.get("padding", "valid").upper()
    op = tf.nn.max_pool1d if kind == "MaxPooling1D" else tf.nn.avg_pool1d
    fn = lambda h, op=op, size=size, stride=stride, pad=pad: op(h, size, stride, pad)  # noqa: E731
    return LayerOps([Pool(layer.name, kind, fn, size=size, stride=stride, padding=pad)])


@register("GlobalMaxPooling1D", "GlobalAveragePooling1D")
def global_pooling(layer, cfg) -> LayerOps:
    import tensorflow as tf

    kind = layer.__class__.__name__
    keep = bool(cfg.get("keepdims", False))
    op = tf.reduce_max if kind == "GlobalMaxPooling1D" else tf.reduce_mean
    return LayerOps([Linear(layer.name, kind, lambda h, op=op, keep=keep: op(h, axis=1, keepdims=keep))])


@register("BatchNormalization")
def batch_normalization(layer, cfg) -> LayerOps:
    """Batch normalisation in inference mode over the channels, folded to ``h * scale + shift``."""
    import tensorflow as tf

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
    return LayerOps([BatchNorm(layer.name, "BatchNormalization", lambda h, s=scale, b=shift: h * s + b,
                               scale=scale, shift=shift)])


@register("Flatten")
def flatten(layer, cfg) -> LayerOps:
    import tensorflow as tf

    return LayerOps([Linear(layer.name, "Flatten", lambda h: tf.reshape(h, (tf.shape(h)[0], -1)))])


@register("Activation")
def activation(layer, cfg) -> LayerOps:
    return LayerOps([], activation_name(layer))


@register("ReLU")
def relu(layer, cfg) -> LayerOps:
    if cfg.get("max_value") is not None or float(cfg.get("threshold", 0) or 0) != 0:
        raise ModelError(f"layer {layer.name!r}: ReLU with max_value/threshold is not supported")
    slope = float(cfg.get("negative_slope", 0) or 0)
    return LayerOps([], "relu" if slope == 0 else ("leaky", slope))


@register("LeakyReLU")
def leaky_relu(layer, cfg) -> LayerOps:
    return LayerOps([], ("leaky", float(cfg.get("negative_slope", cfg.get("alpha", 0.3)))))


# --- layers of graphs: merges, cropping, reshaping ----------------------------------------


@register("Add", "Average", "Subtract")
def add(layer, cfg) -> LayerOps:
    """Element-wise sum, mean or difference of the inputs (linear)."""
    import tensorflow as tf

    kind = layer.__class__.__name__

    def fn(*hs, kind=kind):
        if kind == "Subtract":
            return hs[0] - hs[1]
        total = tf.add_n(list(hs))
        return total / len(hs) if kind == "Average" else total

    return LayerOps([Merge(layer.name, kind, fn)])


@register("Concatenate")
def concatenate(layer, cfg) -> LayerOps:
    import tensorflow as tf

    axis = int(cfg.get("axis", -1))
    return LayerOps([Merge(layer.name, "Concatenate", lambda *hs, axis=axis: tf.concat(list(hs), axis=axis))])


@register("Cropping1D")
def cropping1d(layer, cfg) -> LayerOps:
    crop = cfg.get("cropping", (1, 1))
    a, b = (int(crop), int(crop)) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))
    return LayerOps([Linear(layer.name, "Cropping1D", lambda h, a=a, b=b: h[:, a : h.shape[1] - b])])


@register("Reshape")
def reshape(layer, cfg) -> LayerOps:
    import tensorflow as tf

    shape = tuple(int(d) for d in cfg["target_shape"])
    return LayerOps([Linear(layer.name, "Reshape", lambda h, shape=shape: tf.reshape(h, (tf.shape(h)[0],) + shape))])

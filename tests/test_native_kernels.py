"""The native scorer's kernels (im2col and FFT-gradient convolutions, fused ReLU + max-pool) against TensorFlow's ops."""

import numpy as np
import pytest
from conftest import assert_close, random_onehot

from dfim.native import settings
from dfim.native.kernels import conv_fft_grad, fft_pays, im2col_conv
from dfim.native.passes import fuse_relu_pool
from dfim.native.program import Pool
from dfim.native.rules import rescale_op
from dfim.native.translate import act_step


def test_wide_model_takes_the_fft_gradient_path():
    """The wide test model's second and third convolutions do go through the FFT gradient."""
    assert fft_pays(64, (9, 64, 64), "valid") and fft_pays(28, (8, 64, 64), "same")
    assert not fft_pays(50, (5, 32, 32), "same")  # the demo model's second layer: too narrow to pay
    assert not fft_pays(1000, (19, 4, 300), "same")  # one-hot input: im2col instead
    assert fft_pays(333, (11, 300, 200), "same")  # Basset's second layer


@pytest.mark.parametrize("k, padding", [(11, "same"), (8, "same"), (9, "valid"), (5, "causal")])
def test_fft_gradient_convolution_equals_the_direct_one(rng, k, padding):
    """Forward bit for bit tf.nn.conv1d (+ bias); input gradient equal to autodiff's up to rounding."""
    import tensorflow as tf

    n, length, cin, cout = 3, 50, 64, 70
    W = rng.normal(0, 1, (k, cin, cout)).astype(np.float32)
    b = tf.constant(rng.normal(0, 1, cout).astype(np.float32))
    h = tf.constant(rng.normal(0, 1, (n, length, cin)).astype(np.float32))

    def direct(v):
        if padding == "causal":
            return tf.nn.bias_add(tf.nn.conv1d(tf.pad(v, [[0, 0], [k - 1, 0], [0, 0]]), W, 1, "VALID"), b)
        return tf.nn.bias_add(tf.nn.conv1d(v, W, 1, padding.upper()), b)

    fft = conv_fft_grad(W, b, padding, length)
    g = tf.constant(rng.normal(0, 1, direct(h).shape).astype(np.float32))
    out = {}
    for name, fn in (("direct", direct), ("fft", fft)):
        with tf.GradientTape() as tape:
            tape.watch(h)
            z = fn(h)
        out[name] = z.numpy(), tape.gradient(z, h, output_gradients=g).numpy()
    np.testing.assert_array_equal(out["fft"][0], out["direct"][0])
    assert_close(out["fft"][1], out["direct"][1], rel=1e-5)


@pytest.mark.parametrize("padding", ["same", "valid", "causal"])
def test_im2col_convolution_equals_tensorflows(rng, padding):
    """One-hot input: forward bit for bit tf.nn.conv1d (+ bias), input gradient equal to autodiff's."""
    import tensorflow as tf

    k, cout = 19, 30
    W = tf.constant(rng.normal(0, 1, (k, 4, cout)).astype(np.float32))
    b = tf.constant(rng.normal(0, 1, cout).astype(np.float32))
    h = tf.constant(random_onehot(rng, 3, 50))

    def direct(v):
        if padding == "causal":
            return tf.nn.bias_add(tf.nn.conv1d(tf.pad(v, [[0, 0], [k - 1, 0], [0, 0]]), W, 1, "VALID"), b)
        return tf.nn.bias_add(tf.nn.conv1d(v, W, 1, padding.upper()), b)

    out = {}
    for name, fn in (("direct", direct), ("im2col", im2col_conv(W, b, padding))):
        with tf.GradientTape() as tape:
            tape.watch(h)
            z = fn(h)
        out[name] = z.numpy(), tape.gradient(z, h, output_gradients=tf.ones_like(z) + z).numpy()
    np.testing.assert_array_equal(out["im2col"][0], out["direct"][0])
    assert_close(out["im2col"][1], out["direct"][1], rel=1e-6)


@pytest.mark.parametrize("xla", [True, False])
@pytest.mark.parametrize("size, length", [(3, 40), (4, 37), (2, 9)])
def test_fused_relu_maxpool_equals_tensorflows_ops(rng, monkeypatch, size, length, xla):
    """ReLU + max-pool as one XLA step: values, gradient and Rescale gradient bit for bit those of
    TensorFlow's ReLU and MaxPool ops, with ties (equal values, all-negative windows) in the input
    and a length that leaves inputs past the last window; compiled by XLA or, where a build has
    none, as plain TensorFlow ops."""
    import tensorflow as tf

    monkeypatch.setattr(settings, "xla", xla)
    monkeypatch.setattr(settings, "xla_checked", True)

    relu = act_step("relu", "conv", False)
    pool = Pool("pool", "MaxPooling1D", lambda h: tf.nn.max_pool1d(h, size, size, "VALID"), size=size, stride=size,
                padding="VALID")
    (fused,) = fuse_relu_pool([relu, pool])
    assert fused.layer == "ReLUMaxPool" and fused.kind == "act"

    z = tf.constant(np.round(rng.normal(0, 1, (5, length, 6)), 1).astype(np.float32))  # rounding makes ties
    z_r = tf.constant(np.round(rng.normal(0, 1, (1, length, 6)), 1).astype(np.float32))
    g = tf.constant(rng.normal(0, 1, (5, length // size, 6)).astype(np.float32))
    out = {}
    for name, plain, rescale in (
        ("ops", lambda v: pool.fn(tf.nn.relu(v)), lambda v: pool.fn(rescale_op(relu, v, z_r))),
        ("fused", fused.fn, lambda v: rescale_op(fused, v, z_r)),
    ):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(z)
            y, y_res = plain(z), rescale(z)
        out[name] = [t.numpy() for t in (y, y_res, tape.gradient(y, z, output_gradients=g),
                                         tape.gradient(y_res, z, output_gradients=g))]
    for a, b in zip(out["fused"], out["ops"]):
        np.testing.assert_array_equal(a, b)
    assert (out["ops"][2] == 0).mean() > 0.5 and np.abs(out["ops"][3]).max() > 0

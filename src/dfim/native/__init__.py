"""Native TensorFlow 2 multipliers: compiled, batched ``GradientTape`` passes.

Four methods, all returning *multipliers* ``m(x, r)`` of the target output with respect
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
    convolutions, RevealCancel after dense layers (:func:`dfim.native.rules.revealcancel_grad`,
    batch normalisation between them allowed).

Gradients and integrated gradients work on any Keras model the package can load
(tf_keras or Keras 3), including layers the ``deeplift`` package cannot convert (e.g.
a ``Multiply`` of two motif detectors). ``rescale`` and ``deeplift`` work on directed
acyclic models (Sequential, functional chains, and functional graphs: residual
``Add``, ``Concatenate``, ``Cropping1D``, several heads as in BPNet/ChromBPNet) made of
the layer types in ``dfim.native.layers.REGISTRY``; any other layer stops with an
error naming it (use ``grad_x_input`` or ``integrated_gradients`` there). On a graph
the Rescale rule is the same: each element-wise activation's gradient is the secant
against the reference's activations, computed through the same graph; merges,
cropping and reshaping are linear. The genomics default's RevealCancel applies, as on
a chain, to an activation after a Dense layer [+ batch normalisation] that nothing
else reads; every other activation of a graph takes Rescale (on a chain, an
activation after anything but a convolution or dense layer is refused, as by the
``deeplift`` package). The model is translated once into TensorFlow ops read from
each layer's config and weights (:mod:`~dfim.native.translate`), so tf_keras ``.h5``
and Keras 3 ``.keras`` files give the same program; chains keep their list form and
fast paths exactly. The translation is checked against the Keras model's own output
when the scorer is built.

Speed: every pass is a ``tf.function`` with a fixed input signature (no retracing per
batch size). A reference shared by every sequence (``gc``, ``zero``) is run through
the network once per batch, not once per sequence, so ``rescale`` against a shared
reference costs one forward and one backward pass per sequence, like a gradient; with
K references per sequence, its convolutions and dense layers still run forward once
(only the backward pass depends on the reference). Convolutions on one-hot input run
as one matrix product (im2col); wide convolutions take their input gradient through
the FFT where that needs at most half the multiply-adds (:func:`dfim.native.kernels.conv_fft_grad`),
their forward values staying TensorFlow's own. A ReLU followed by non-overlapping
max-pooling is one step, one XLA-compiled pass over memory each way
(:func:`dfim.native.passes.fuse_relu_pool`). Every call has the same batch shape
(the last batch is padded), because TensorFlow's kernels round differently for
different batch sizes and a sequence's scores must not depend on its shard.

Locality: given which rows are mutants of which and where they changed (``origin``,
``spans``; :func:`dfim.pipeline.score_sequences` passes them), the forward pass of a
mutant's convolutions is computed only on the window where it differs from its
original, batched with it, and copied from the original elsewhere
(:mod:`~dfim.native.locality`): for ``grad_x_input``, and for ``rescale``/``deeplift``
against one shared reference, on chain CNNs; the same scores to float rounding.
``NativeScorer.locality = False`` forces the full pass.

Modules: :mod:`~dfim.native.translate` (Keras -> steps), :mod:`~dfim.native.program`
(step records, forward pass), :mod:`~dfim.native.passes`, :mod:`~dfim.native.kernels`,
:mod:`~dfim.native.rules` (DeepLIFT), :mod:`~dfim.native.scorer` (``NativeScorer``),
:mod:`~dfim.native.locality` (mutants' window-only forward pass),
:mod:`~dfim.native.config` (XLA, threads; the object ``dfim.native.settings``).
"""

from .scorer import IG_STEPS, NATIVE_METHODS, NativeScorer
from .config import NativeSettings, set_xla, settings

__all__ = ["IG_STEPS", "NATIVE_METHODS", "NativeScorer", "NativeSettings", "set_xla", "settings"]

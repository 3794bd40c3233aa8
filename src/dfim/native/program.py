"""The translated model: typed step records and the forward pass over them.

A translated model is a list of steps, run in order by :func:`run`. Each step is
one of

:class:`Linear` (and its subclasses :class:`Dense`, :class:`BatchNorm`, :class:`Pool`)
    a layer that is linear at inference time (convolution, dense, pooling, batch
    normalisation, flatten): its plain gradient already is its DeepLIFT multiplier;
:class:`Activation`
    an element-wise non-linearity (or a final softmax, ``elementwise=False``);
:class:`ReluMaxPool`
    a ReLU and the non-overlapping max-pool after it, fused (:func:`dfim.native.passes.fuse_relu_pool`);
:class:`RevealCancelBlock`
    Dense [+ batch normalisation] + activation under RevealCancel
    (:func:`dfim.native.passes.genomics_default`).

Every step has ``kind`` (``"linear"``, ``"act"`` or ``"block"``: how :func:`run` treats
it), ``layer`` (the Keras class it came from, None for activations), ``name`` and ``fn``
(the TensorFlow op, ``(b, ...) -> (b, ...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

# the layers worth computing once per run of equal rows (see once_per_group)
_ONCE_PER_GROUP = ("Conv1D", "Dense")


@dataclass(eq=False)
class Linear:
    """A layer that is linear at inference time; ``layer`` is its Keras class name."""

    kind: ClassVar[str] = "linear"
    name: str
    layer: str
    fn: Callable


@dataclass(eq=False)
class Dense(Linear):
    """A Dense layer: ``h @ kernel + bias``; kernel ``(n_in, n_out)``, bias ``(n_out,)`` or None."""

    kernel: object = None
    bias: object = None


@dataclass(eq=False)
class BatchNorm(Linear):
    """Batch normalisation in inference mode, folded to ``h * scale + shift`` (both ``(C,)``)."""

    scale: object = None
    shift: object = None


@dataclass(eq=False)
class Pool(Linear):
    """Max- or average-pooling over positions; ``padding`` is ``"VALID"`` or ``"SAME"``."""

    size: int = 1
    stride: int = 1
    padding: str = "VALID"


@dataclass(eq=False)
class Activation:
    """An activation ``fn`` with derivative ``derivative`` (None: differentiate ``fn`` by autodiff).

    ``elementwise`` is False only for a final softmax, which the DeepLIFT rules refuse.
    ``mult``: the compiled Rescale gradient, built on first use (:func:`dfim.native.rules.rescale_op`).
    """

    kind: ClassVar[str] = "act"
    layer: ClassVar[Optional[str]] = None
    name: str
    fn: Callable
    derivative: Optional[Callable] = None
    elementwise: bool = True
    mult: Optional[Callable] = field(default=None, repr=False)


@dataclass(eq=False)
class ReluMaxPool:
    """``maxpool(relu(z))`` with windows of ``size`` positions (stride ``size``, valid) as one step.

    An activation for the DeepLIFT rules (``kind == "act"``): ``mult`` is its Rescale
    gradient, ``g`` times the Rescale multiplier against ``z_r`` at each window's arg-max.
    """

    kind: ClassVar[str] = "act"
    layer: ClassVar[str] = "ReLUMaxPool"
    name: str
    size: int
    fn: Callable
    mult: Callable = field(repr=False)


@dataclass(eq=False)
class RevealCancelBlock:
    """Dense [+ batch normalisation] + activation, whose gradient is the RevealCancel multiplier.

    ``fn`` runs the parts in order; :func:`dfim.native.rules.revealcancel_grad` reads
    the dense layer's weights, the batch normalisation (or None) and the activation.
    """

    kind: ClassVar[str] = "block"
    layer: ClassVar[str] = "block"
    name: str
    fn: Callable
    dense: Dense
    bn: Optional[BatchNorm]
    act: Activation


Step = Linear | Activation | ReluMaxPool | RevealCancelBlock


def run(steps, h, on_act=None, group=None):
    """Forward pass of a translated model; ``on_act(step, z)`` replaces each activation.

    Parameters
    ----------
    steps : list of steps (see the module docstring).
    h : input ``(b, L, 4)``.
    on_act : callable ``(step, z) -> f(z)`` for each ``"act"`` or ``"block"`` step, or None
        for the steps' own ``fn``. The DeepLIFT rules put their custom gradients here.
    group : int or scalar tensor, optional
        Rows come in runs of ``group`` equal rows (a sequence repeated once per
        reference): convolutions and dense layers then compute each run once
        (:func:`once_per_group`).

    Returns
    -------
    The output, flattened to ``(b, n_out)``.
    """
    import tensorflow as tf

    for step in steps:
        if step.kind in ("act", "block") and on_act is not None:
            h = on_act(step, h)
        elif group is not None and step.layer in _ONCE_PER_GROUP:
            h = once_per_group(step.fn, h, group)
        else:
            h = step.fn(h)
    return tf.reshape(h, (tf.shape(h)[0], -1))


def once_per_group(fn, h, group):
    """``fn(h)`` for rows in runs of ``group`` equal rows: computed on one row per run, repeated.

    With K references, Rescale needs K backward passes per sequence (the multipliers
    depend on the reference) but only one forward pass: the activations of the
    sequence are the same K times. The gradient is still taken for every row, through
    ``fn`` itself, whose forward values on the repeated rows are then unused and never
    computed (graph pruning); ``fn`` is linear here, so its gradient does not depend on
    them.

    Parameters
    ----------
    fn : a linear op ``(b, ...) -> (b, ...)``.
    h : ``(b, ...)`` with ``b`` a multiple of ``group``.
    group : int or scalar tensor.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def op(v):
        first = v[::group]
        first.set_shape([None] + v.shape[1:])  # a tensor stride hides the static shape
        z = tf.repeat(fn(first), group, axis=0)

        return z, lambda g: vjp(fn, v, g)

    return op(h)


def vjp(fn, v, g):
    """``g`` pulled back through ``fn`` at ``v``: ``(d fn / d v)^T g``, shaped like ``v``.

    ``fn``'s own forward values are not used, so in a graph they are never computed
    (pruned), only its gradient ops run.
    """
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(v)
        out = fn(v)
    return tape.gradient(out, v, output_gradients=g)

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

Chains and graphs
-----------------
A *chain* (Sequential, or functional without branches) is a list of steps whose
``inputs`` are all None: each step takes the previous one's output. A *graph*
(directed acyclic: residual ``Add``, ``Concatenate``, several heads) is a list of
steps in topological order, each with a unique ``key`` and ``inputs``, the keys of
the steps whose outputs it takes (:data:`INPUT` for the model's input); a
:class:`Merge` takes several (Add, Concatenate, ...), every other step one. Its last
step is the output (for several heads, an ``Outputs`` merge concatenating them
flattened). :func:`is_graph` tells them apart; :func:`run` executes both, the chain
exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

# the layers worth computing once per run of equal rows (see once_per_group)
_ONCE_PER_GROUP = ("Conv1D", "Dense")
INPUT = "<input>"  # the key of the model's input in a graph program


@dataclass(eq=False)
class Linear:
    """A layer that is linear at inference time; ``layer`` is its Keras class name."""

    kind: ClassVar[str] = "linear"
    name: str
    layer: str
    fn: Callable
    inputs: tuple | None = None  # graph programs only: keys of the steps this one reads
    key: str | None = None       # graph programs only: this step's unique key


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
    inputs: tuple | None = None
    key: str | None = None


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
    inputs: tuple | None = None
    key: str | None = None


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
    inputs: tuple | None = None
    key: str | None = None


@dataclass(eq=False)
class Merge(Linear):
    """A linear op of several inputs (``Add``, ``Concatenate``, ``Average``, ``Subtract``, the final
    ``Outputs``): ``fn(*inputs)``. Graph programs only."""


Step = Linear | Activation | ReluMaxPool | RevealCancelBlock


def is_graph(steps) -> bool:
    """Whether ``steps`` is a graph program (its steps name their inputs) rather than a chain."""
    return bool(steps) and steps[0].inputs is not None


def consumers(steps) -> dict:
    """key -> number of steps (and the program's output) reading it, in a graph program."""
    n: dict = {}
    for step in steps:
        for k in step.inputs:
            n[k] = n.get(k, 0) + 1
    n[steps[-1].key] = n.get(steps[-1].key, 0) + 1
    return n


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

    if is_graph(steps):
        return run_graph(steps, h, on_act, group)
    for step in steps:
        if step.kind in ("act", "block") and on_act is not None:
            h = on_act(step, h)
        elif group is not None and step.layer in _ONCE_PER_GROUP:
            h = once_per_group(step.fn, h, group)
        else:
            h = step.fn(h)
    return tf.reshape(h, (tf.shape(h)[0], -1))


def run_graph(steps, x, on_act=None, group=None):
    """:func:`run` for a graph program: each step on the outputs of its ``inputs``, in list order.

    The activation steps are met in list order, as in a chain, so the references'
    activations collected by one pass line up with the next pass's.
    """
    import tensorflow as tf

    values = {INPUT: x}
    left = consumers(steps)
    for step in steps:
        args = [values[k] for k in step.inputs]
        if step.kind in ("act", "block") and on_act is not None:
            h = on_act(step, args[0])
        elif group is not None and step.layer in _ONCE_PER_GROUP:
            h = once_per_group(step.fn, args[0], group)
        else:
            h = step.fn(*args)
        for k in step.inputs:  # drop values no later step reads
            left[k] -= 1
            if left[k] == 0:
                values.pop(k)
        values[step.key] = h
    h = values[steps[-1].key]
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

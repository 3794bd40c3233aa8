"""Graph passes over a translated model's step list (:mod:`dfim.native.program`).

Each pass takes a list of steps and returns a new one computing the same function:
:func:`genomics_default` chooses DeepLIFT's rule per activation (``deeplift`` method),
:func:`fuse_relu_pool` fuses ReLU + max-pool into one kernel (every method), and
:func:`pool_before_relu` swaps ReLU and max-pool (gradient methods only).

On a graph program (:func:`dfim.native.program.is_graph`) the first two rewrite a
step and the one it reads only where that one has no other reader (a chain inside
the graph), and :func:`pool_before_relu` leaves the graph as it is.
"""

from __future__ import annotations

from ..models import ModelError
from .kernels import relu_pool
from .program import (
    Activation,
    Pool,
    ReluMaxPool,
    RevealCancelBlock,
    consumers,
    is_graph,
)


def _is_relu(step) -> bool:
    return isinstance(step, Activation) and step.name == "relu"


def pool_before_relu(steps: list) -> list:
    """Each ReLU followed by max-pooling swapped with it: the same values and input gradient, cheaper.

    ReLU is monotone, so ``maxpool(relu(z)) == relu(maxpool(z))``; the gradient goes to
    the same arg-max (where the window's maximum is not positive, ReLU's gradient is 0
    either way). Pooling first runs the ReLU and its gradient on a ``pool`` times
    smaller tensor. For gradients only: a Rescale multiplier pairs the input's and the
    reference's values at the same position, which pooling first would break.
    """
    if is_graph(steps):
        return list(steps)
    out = list(steps)
    i = 0
    while i < len(out) - 1:
        if _is_relu(out[i]) and out[i + 1].layer == "MaxPooling1D":
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 1
        i += 1
    return out


def fuse_relu_pool(steps: list) -> list:
    """Each ReLU followed by non-overlapping max-pooling (stride = size, valid) made one step.

    The largest tensors of a genomics CNN are its first convolution's output
    (Basset: 1000 x 300 floats per sequence); TensorFlow's ReLU, max-pool and their
    gradients each pass over them in memory. As one step (:func:`dfim.native.kernels.relu_pool`),
    the forward pass and each gradient (plain, or Rescale against a reference) are one
    XLA-compiled pass. Same values and gradients, bit for bit; kind ``"act"``, so
    Rescale still sees the pre-activation of every ReLU.
    """
    if is_graph(steps):
        return _fuse_relu_pool_graph(steps)
    out: list = []
    for step in steps:
        prev = out[-1] if out else None
        if (isinstance(step, Pool) and step.layer == "MaxPooling1D" and step.size == step.stride
                and step.padding == "VALID" and prev is not None and _is_relu(prev)):
            fn, mult = relu_pool(step.size)
            out[-1] = ReluMaxPool(f"relu+{step.name}", step.size, fn, mult)
        else:
            out.append(step)
    return out


def _fuse_relu_pool_graph(steps: list) -> list:
    """:func:`fuse_relu_pool` on a graph: a ReLU read only by a non-overlapping valid max-pool."""
    by_key = {s.key: s for s in steps}
    readers = consumers(steps)
    drop, out = set(), []
    for step in steps:
        prev = by_key.get(step.inputs[0]) if len(step.inputs) == 1 else None
        if (isinstance(step, Pool) and step.layer == "MaxPooling1D" and step.size == step.stride
                and step.padding == "VALID" and prev is not None and _is_relu(prev) and readers[prev.key] == 1):
            fn, mult = relu_pool(step.size)
            drop.add(prev.key)
            out.append(ReluMaxPool(f"relu+{step.name}", step.size, fn, mult, inputs=prev.inputs, key=step.key))
        else:
            out.append(step)
    return [s for s in out if s.key not in drop]


def _genomics_default_graph(steps: list) -> list:
    """:func:`genomics_default` on a graph: RevealCancel where the chain rule would put it, else Rescale.

    An activation reading (through at most one batch normalisation) a Dense layer,
    each read by nothing else, becomes a :class:`RevealCancelBlock`; every other
    activation (after a convolution, an ``Add``, a pooling, the input) takes Rescale.
    """
    by_key = {s.key: s for s in steps}
    readers = consumers(steps)
    drop, out = set(), []
    for step in steps:
        parts = None
        if step.kind == "act" and step.elementwise:
            chain = [step]
            cur = by_key.get(step.inputs[0])
            while cur is not None and cur.layer == "BatchNormalization" and readers[cur.key] == 1 and len(chain) < 2:
                chain.insert(0, cur)
                cur = by_key.get(cur.inputs[0])
            if cur is not None and cur.layer == "Dense" and readers[cur.key] == 1 and all(
                    readers[c.key] == 1 for c in chain[:-1]):
                parts = [cur] + chain
        if parts is None:
            out.append(step)
            continue
        drop.update(p.key for p in parts[:-1])
        block = revealcancel_block(parts)
        block.inputs, block.key = parts[0].inputs, step.key
        out.append(block)
    return [s for s in out if s.key not in drop]


def genomics_default(steps: list) -> list:
    """DeepLIFT's genomics default: Rescale after convolutions, RevealCancel after dense layers.

    As in the ``deeplift`` package, the rule of an activation is chosen by the
    linear layer before it (batch normalisation skipped). Each Dense [+ batch
    normalisation] + activation after a Dense becomes one :class:`RevealCancelBlock`
    whose gradient is the RevealCancel multiplier (:func:`dfim.native.rules.revealcancel_grad`).
    On a graph program (:func:`_genomics_default_graph`) the blocks are the same, and
    every other activation, wherever it is, takes Rescale.
    """
    if is_graph(steps):
        return _genomics_default_graph(steps)
    out: list = []
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
            if not step.elementwise:
                raise ModelError("DeepLIFT's RevealCancel rule is defined for element-wise activations only; a "
                                 "final softmax needs model.target: preactivation")
            parts = out[j:] + [step]
            del out[j:]
            out.append(revealcancel_block(parts))
        else:
            raise ModelError(
                f"activation {step.name!r} follows {before or 'the input'}, not a convolution or dense layer; "
                "DeepLIFT's genomics default does not say which rule to use there (neither does the deeplift "
                "package); use method rescale"
            )
    return out


def revealcancel_block(parts: list) -> RevealCancelBlock:
    """Dense [+ batch normalisation] + activation steps as one step carrying the RevealCancel gradient."""
    dense, act = parts[0], parts[-1]
    bn = parts[1] if len(parts) == 3 else None

    def fn(h):
        for part in parts:
            h = part.fn(h)
        return h

    return RevealCancelBlock(f"{dense.name}+{act.name}", fn, dense=dense, bn=bn, act=act)

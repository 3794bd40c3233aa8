"""Keras model -> list of TensorFlow ops (:mod:`dfim.native.program` steps), read from each layer's config and weights.

tf_keras ``.h5`` and Keras 3 ``.keras`` files give the same program. Three parts:

* :func:`chain_layers` walks the model and returns its layers in order (a chain:
  Sequential, or functional without branches); such a model becomes a chain program;
* :func:`graph_program` wires any other directed acyclic functional model (residual
  ``Add``, ``Concatenate``, ``Cropping1D``, several heads) into a graph program, each
  layer's steps reading the steps that compute its inputs;
* one translator per Keras layer class, registered in ``REGISTRY``: it reads one
  layer and returns its :class:`LayerOps` (linear steps, and the name of the
  activation applied after them). :func:`translate` puts them together, adding the
  activation steps (:func:`act_step`) and leaving out a final activation when the
  target is the pre-activation.

The translators live in :mod:`dfim.native.layers`; adding a layer kind is one
function there, registered with :func:`dfim.native.layers.register`.
"""

from __future__ import annotations

from ..models import ModelError, SequenceModel, keras_layers, softmax_weighted
from .layers import REGISTRY
from .program import INPUT, Activation, Linear, Merge


def activation_fns():
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


def act_step(name, layer_name: str, final: bool) -> Activation | None:
    """Step for activation ``name`` (a Keras name or ``("leaky", slope)``); None for linear.

    A softmax is allowed only as the model's last op (``final``), and is marked not
    element-wise so the DeepLIFT rules refuse it.
    """
    import tensorflow as tf

    if name in ("linear", None):
        return None
    if isinstance(name, tuple):
        slope = name[1]
        return Activation("leaky_relu", lambda z, a=slope: tf.nn.leaky_relu(z, a))
    fns = activation_fns()
    if name == "softmax" and final:
        return Activation(name, tf.nn.softmax, elementwise=False)
    if name not in fns:
        raise ModelError(
            f"layer {layer_name!r}: activation {name!r} is not supported by the native rescale rule "
            f"(supported: {sorted(fns)}); use method grad_x_input or integrated_gradients"
        )
    f, df = fns[name]
    return Activation(name, f, derivative=df)


def chain_layers(km) -> list:
    """The model's layers in order; raises ModelError when the model is not a chain."""
    layers = keras_layers(km)
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


def translate(model: SequenceModel, target: str) -> list:
    """The model as a list of steps (see :mod:`dfim.native.program`): a chain, or a graph.

    A single-output chain (Sequential, or functional without branches) becomes a
    chain program, as it always has; any other directed acyclic functional model
    (residual ``Add``, ``Concatenate``, several heads) a graph program
    (:func:`graph_program`), whose output concatenates every head's, flattened, in the
    model's order (:meth:`SequenceModel.output_fn`).

    Parameters
    ----------
    model : a loaded model.
    target : ``"preactivation"`` (an output Dense's or Activation's activation is left
        out, as in :meth:`SequenceModel.output_fn`), ``"output"``, or ``"profile"``
        (pre-activations, each profile head reduced to its softmax-weighted logits,
        :func:`dfim.models.softmax_weighted`).

    Raises
    ------
    ModelError
        for an unsupported layer (named in the message) or activation, a layer used
        twice, or a pre-activation target an output layer does not have.
    """
    km = model.keras_model
    if len(km.outputs) == 1:
        try:
            layers = chain_layers(km)
        except ModelError:
            layers = None
        if layers is not None:
            steps: list = []
            for li, layer in enumerate(layers):
                steps += layer_steps(model, layer, target, li == len(layers) - 1)
            info = model.outputs[0]
            if target == "profile" and info.profile is not None:
                steps.append(profile_step(info))
            return steps
    return graph_program(model, target)


def layer_steps(model: SequenceModel, layer, target: str, is_output: bool) -> list:
    """The steps of one Keras layer (its translator's, then its activation's); ``is_output``: it makes a model output."""
    kind = layer.__class__.__name__
    cfg = layer.get_config()
    if cfg.get("data_format", "channels_last") not in ("channels_last", None):
        raise ModelError(f"layer {layer.name!r}: only channels_last data is supported")
    if kind not in REGISTRY:
        raise ModelError(
            f"{model.path}: layer {layer.name!r} of type {kind} is not supported by the native rescale "
            f"rule (supported: {sorted(REGISTRY)}); use "
            "method grad_x_input or integrated_gradients, which work on any model"
        )
    ops = REGISTRY[kind](layer, cfg)
    steps = list(ops.steps)
    act_name = ops.activation
    pre = target in ("preactivation", "profile")
    if is_output and pre and kind in ("Dense", "Activation"):
        act_name = None  # the logit: the final activation is left out, as in SequenceModel.output_fn
    elif is_output and pre and act_name not in (None, "linear"):
        raise ModelError(
            f"{model.path}: the output layer {layer.name!r} is {kind} with activation {act_name!r}; DFIM can take "
            "the pre-activation only of an output Dense or Activation layer. Set model.target: output"
        )
    step = act_step(act_name, layer.name, is_output)
    if step is not None:
        steps.append(step)
    return steps


def profile_step(info) -> Linear:
    """The softmax-weighted logits of a profile head (:func:`dfim.models.softmax_weighted`): linear, its weights held."""
    Lp, C = info.profile
    return Linear(f"profile:{info.name}", "ProfileTarget", lambda h, Lp=Lp, C=C: softmax_weighted(h, Lp, C))


def graph_program(model: SequenceModel, target: str) -> list:
    """A directed acyclic functional model as a graph program (:mod:`dfim.native.program`).

    Each layer's steps are wired to the steps producing its inputs; the layers are
    put in topological order; the program ends with an ``Outputs`` merge of every
    model output (each profile head reduced first under ``target="profile"``).
    """
    import tensorflow as tf

    km = model.keras_model
    producer = {id(km.inputs[0]): INPUT}  # Keras tensor -> key of the step computing it
    out_ids = {id(t) for t in km.outputs}
    pending, steps = list(keras_layers(km)), []
    while pending:
        ready = []
        for layer in pending:
            try:
                inp, out = layer.input, layer.output
            except Exception as exc:  # noqa: BLE001 - shared layers raise here
                raise ModelError(f"layer {layer.name!r} is used more than once ({exc}); the native scorer needs "
                                 "each layer called once; use method grad_x_input or integrated_gradients") from None
            ins = list(inp) if isinstance(inp, (list, tuple)) else [inp]
            if all(id(t) in producer for t in ins):
                ready.append((layer, ins, out))
        if not ready:
            raise ModelError(f"{model.path}: cannot order the layers {[la.name for la in pending]} (a nested model "
                             "or a second input?); use method grad_x_input or integrated_gradients")
        for layer, ins, out in ready:
            pending.remove(layer)
            keys = tuple(producer[id(t)] for t in ins)
            lsteps = layer_steps(model, layer, target, id(out) in out_ids)
            if len(keys) > 1 and not (lsteps and isinstance(lsteps[0], Merge)):
                raise ModelError(f"layer {layer.name!r} ({layer.__class__.__name__}) takes several inputs and is "
                                 "not supported by the native scorer; use method grad_x_input or integrated_gradients")
            for j, step in enumerate(lsteps):
                step.inputs = keys if j == 0 else (steps[-1].key,)
                step.key = f"{layer.name}#{j}"
                steps.append(step)
            producer[id(out)] = steps[-1].key if lsteps else keys[0]
    heads = []
    for info, t in zip(model.outputs, km.outputs):
        key = producer[id(t)]
        if target == "profile" and info.profile is not None:
            step = profile_step(info)
            step.inputs, step.key = (key,), f"{step.name}#p"
            steps.append(step)
            key = step.key
        heads.append(key)

    def outputs(*hs):
        return tf.concat([tf.reshape(h, (tf.shape(h)[0], -1)) for h in hs], axis=1)

    steps.append(Merge("outputs", "Outputs", outputs, inputs=tuple(heads), key="<outputs>"))
    return steps

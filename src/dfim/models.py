"""Loading trained Keras sequence models and exposing their pre-activation outputs.

Models saved by tf_keras (Keras 2: ``.h5`` or ``.keras``) and by Keras 3 (``.keras``)
are both accepted. Everything downstream sees a :class:`SequenceModel`: the Keras
object, its input length, its number of outputs (tasks) and a batched, compiled
function for the pre-activation output (the logit before the final sigmoid/softmax).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .errors import ModelError

TARGETS = ("preactivation", "output")


@dataclass
class SequenceModel:
    """A loaded Keras model with the facts DFIM needs.

    Attributes
    ----------
    keras_model : the loaded model (tf_keras or Keras 3 object).
    path : file it came from.
    length : input length L; inputs are ``(n, L, 4)``.
    n_outputs : number of model outputs (tasks).
    final_activation : name of the activation removed for the pre-activation target.
    flavour : ``"tf_keras"`` or ``"keras3"``.
    """

    keras_model: object
    path: str
    length: int
    n_outputs: int
    final_activation: str
    flavour: str
    _logit_fn: object = field(default=None, repr=False)
    _compiled: dict = field(default_factory=dict, repr=False)

    def check_tasks(self, tasks) -> list[int]:
        """Validate task indices against the model's outputs; returns them as ints."""
        tasks = [int(t) for t in tasks]
        if not tasks:
            raise ModelError(f"{self.path}: no tasks selected; give at least one output index")
        bad = [t for t in tasks if not 0 <= t < self.n_outputs]
        if bad:
            raise ModelError(
                f"{self.path}: task index {bad[0]} is past the model's outputs "
                f"(the model has {self.n_outputs} output(s), valid indices 0..{self.n_outputs - 1}); "
                "fix model.tasks in the config"
            )
        return tasks

    def check_input(self, X: np.ndarray, what: str = "sequences") -> None:
        """Raise a clear error when ``X`` is not ``(n, L, 4)`` with the model's ``L``."""
        if X.ndim != 3 or X.shape[2] != 4:
            raise ModelError(f"{what}: expected one-hot array (n, L, 4), got shape {X.shape}")
        if X.shape[1] != self.length:
            raise ModelError(
                f"{what} have length {X.shape[1]} bp but the model {self.path} takes "
                f"{self.length} bp inputs; set the window width to {self.length} "
                "(config key `window`) or use a model trained on this length"
            )

    def logits(self, X: np.ndarray, batch_size: int = 256, target: str = "preactivation") -> np.ndarray:
        """Model outputs for ``X (n, L, 4)``, returned as ``(n, n_outputs)`` float32.

        ``target="preactivation"`` gives the values before the final sigmoid/softmax.
        """
        import tensorflow as tf

        self.check_input(X)
        if target not in self._compiled:
            self._compiled[target] = tf.function(self.output_fn(target), reduce_retracing=True)
        fn = self._compiled[target]
        # every call has batch_size rows (the last padded): TensorFlow's kernels round
        # differently for other batch shapes, and a window's outputs, hence its double-mutant
        # epistasis (a difference of four), must not depend on which shard it is in
        out = []
        for i in range(0, len(X), batch_size):
            x = np.asarray(X[i : i + batch_size], np.float32)
            pad = np.zeros((batch_size - len(x),) + x.shape[1:], np.float32)
            out.append(fn(tf.constant(np.concatenate([x, pad]) if len(pad) else x)).numpy()[: len(x)])
        return np.concatenate(out, axis=0) if out else np.zeros((0, self.n_outputs), np.float32)

    def output_fn(self, target: str = "preactivation"):
        """A function of tensors ``(n, L, 4) -> (n, n_outputs)``, to call inside ``tf.function``."""
        import tensorflow as tf

        if target not in TARGETS:
            raise ModelError(f"unknown target {target!r}; choose one of {list(TARGETS)}")
        if target == "output":
            return lambda x: tf.reshape(self.keras_model(x, training=False), (tf.shape(x)[0], -1))
        if self._logit_fn is None:
            self._logit_fn = _preactivation_fn(self)
        return self._logit_fn


def keras_layers(keras_model) -> list:
    """The model's layers in order, without ``InputLayer`` (which tf_keras lists for some models, Keras 3 never)."""
    return [layer for layer in keras_model.layers if layer.__class__.__name__ != "InputLayer"]


def activation_name(layer) -> str:
    """The name of a Keras layer's ``activation`` (e.g. ``"relu"``); ``"linear"`` for a layer without one."""
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    name = getattr(act, "__name__", str(act))
    return name


def _final_layer(keras_model):
    layers = keras_layers(keras_model)
    if not layers:
        raise ModelError("the model has no layers")
    return layers[-1]


def _preactivation_fn(model: SequenceModel):
    """Compile the logit function: the model with its last activation removed."""
    import tensorflow as tf

    km = model.keras_model
    last = _final_layer(km)
    kind = last.__class__.__name__
    act = activation_name(last)
    if kind == "Activation" or act == "linear":
        body = _submodel(model, upto_input_of=last) if kind == "Activation" else km

        def fn(x):
            return tf.reshape(body(x, training=False), (tf.shape(x)[0], -1))

        return fn
    if kind != "Dense":
        raise ModelError(
            f"{model.path}: the last layer is {kind} with activation {act!r}; DFIM can take the "
            "pre-activation only of a final Dense or Activation layer. Set model.target: output"
        )
    body = _submodel(model, upto_input_of=last)
    kernel, bias = last.kernel, last.bias

    def fn(x):
        h = body(x, training=False)
        z = tf.matmul(h, tf.cast(kernel, h.dtype))
        if bias is not None:
            z = z + tf.cast(bias, h.dtype)
        return z

    return fn


def _submodel(model: SequenceModel, upto_input_of):
    """The model truncated just before ``upto_input_of`` (a callable Keras model)."""
    km = model.keras_model
    if model.flavour == "tf_keras":
        import tf_keras as keras
    else:
        import keras
    layers = keras_layers(km)
    if km.__class__.__name__ == "Sequential":
        idx = layers.index(upto_input_of)
        return keras.Sequential([keras.Input(shape=(model.length, 4))] + layers[:idx])
    return keras.Model(km.inputs, upto_input_of.input)


def check_model_path(path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a readable regular file (not a SavedModel folder)."""
    path = str(path)
    if Path(path).is_dir():
        raise ModelError(
            f"model path {path} is a directory (a TensorFlow SavedModel?), not a Keras model file; DFIM reads "
            ".h5 or .keras files: load it in Python and save it with model.save('model.keras'), then set model.path"
        )
    if not Path(path).is_file():
        what = "does not exist" if not os.path.lexists(path) else "is not a regular file"
        raise ModelError(f"model file {path} {what}; check model.path in the config")
    if not os.access(path, os.R_OK):
        raise ModelError(f"model file {path} is not readable (permissions); check model.path in the config")


def load_model(path: str | os.PathLike) -> SequenceModel:
    """Load a Keras sequence model from ``.h5`` or ``.keras``.

    tf_keras is tried first (Keras 2 files, the format the ``deeplift`` package reads),
    then Keras 3 for ``.keras`` archives written by Keras 3.

    Raises
    ------
    ModelError
        When the file is missing, unreadable, or its input is not ``(L, 4)``.
    """
    path = str(path)
    check_model_path(path)
    errors = []
    km = flavour = None
    loaders = [("tf_keras", _load_tf_keras)]
    if path.endswith(".keras"):
        loaders.append(("keras3", _load_keras3))
    for name, loader in loaders:
        try:
            km = loader(path)
            flavour = name
            break
        except Exception as exc:  # noqa: BLE001 - we re-raise with every loader's reason
            errors.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if km is None:
        raise ModelError(
            f"cannot read model file {path} as a Keras model ({'; '.join(errors)}). "
            "Save the trained model with model.save('model.h5') (tf_keras) or model.save('model.keras')"
        )
    shape = tuple(km.inputs[0].shape) if getattr(km, "inputs", None) else None
    if shape is None or len(shape) != 3 or shape[2] != 4 or shape[1] is None:
        raise ModelError(
            f"model {path} takes inputs of shape {shape}; DFIM needs one-hot DNA of shape "
            "(batch, L, 4) with a fixed length L"
        )
    if len(km.inputs) != 1:
        raise ModelError(f"model {path} has {len(km.inputs)} inputs; DFIM needs a single (L, 4) input")
    out_shape = tuple(km.outputs[0].shape)
    n_out = int(np.prod([d for d in out_shape[1:] if d is not None])) if len(out_shape) > 1 else 1
    last = _final_layer(km)
    return SequenceModel(
        keras_model=km,
        path=path,
        length=int(shape[1]),
        n_outputs=n_out,
        final_activation=activation_name(last),
        flavour=flavour,
    )


def _load_tf_keras(path):
    import tf_keras

    return tf_keras.models.load_model(path, compile=False)


def _load_keras3(path):
    import keras

    return keras.saving.load_model(path, compile=False)

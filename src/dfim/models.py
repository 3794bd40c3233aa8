"""Loading trained Keras sequence models and exposing their pre-activation outputs.

Models saved by tf_keras (Keras 2: ``.h5`` or ``.keras``) and by Keras 3 (``.keras``)
are both accepted. Everything downstream sees a :class:`SequenceModel`: the Keras
object, its input length, every output (head) and its width, and a batched, compiled
function for the target output.

Tasks and targets
-----------------
The model's target values for a sequence are every output's, flattened and
concatenated in the model's order; a *task* is one of them, named in the config
(``model.tasks``, :meth:`SequenceModel.check_tasks`) as

* an integer ``u``: unit ``u`` of the first (or only) output;
* ``"name:u"`` or ``"i:u"``: unit ``u`` of the output whose layer is ``name`` (or of
  output number ``i``);
* ``{output: name or i, unit: u}``, the same (``unit`` defaults to 0).

Tasks are resolved to positions in the concatenation (the ``task`` column of the
tables). The target (``model.target``) is one of

``preactivation``
    each output's logit: an output Dense's or Activation's activation left out;
``output``
    the outputs as the model computes them;
``profile``
    as ``preactivation``, but each *profile head* (an output of shape ``(L', C)`` with
    ``L' > 1``, or a ``Flatten`` of one, as BPNet's and ChromBPNet's) reduced to ``C``
    scalars, the softmax-weighted logits ``sum_i stop_gradient(softmax(z)_i) z_i`` over
    its positions (:func:`softmax_weighted`, as the BPNet and ChromBPNet papers
    explain their profile heads); other heads (e.g. counts) keep their logits. The
    weights are held at the input's own softmax, so DeepLIFT's contributions sum to
    ``sum_i p_i(x) (z_i(x) - z_i(r))``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .errors import ModelError

TARGETS = ("preactivation", "output", "profile")


@dataclass
class OutputInfo:
    """One model output (head).

    name : the layer computing it; shape : its per-sequence shape;
    profile : ``(L', C)`` for a profile head (see the module docstring), else None.
    """

    name: str
    shape: tuple
    profile: tuple | None = None

    def width(self, target: str = "preactivation") -> int:
        """Units of this output under ``target``."""
        if target == "profile" and self.profile is not None:
            return int(self.profile[1])
        return int(np.prod([d for d in self.shape if d is not None])) if self.shape else 1


def softmax_weighted(h, Lp: int, C: int):
    """``(b, ...) -> (b, C)``: ``sum_i stop_gradient(softmax(z)_i) z_i`` over the ``Lp`` positions of
    each of the ``C`` channels of ``z = reshape(h, (b, Lp, C))``: the profile target."""
    import tensorflow as tf

    z = tf.reshape(h, (-1, Lp, C))
    p = tf.stop_gradient(tf.nn.softmax(z, axis=1))
    return tf.reduce_sum(p * z, axis=1)


@dataclass
class SequenceModel:
    """A loaded Keras model with the facts DFIM needs.

    Attributes
    ----------
    keras_model : the loaded model (tf_keras or Keras 3 object).
    path : file it came from.
    length : input length L; inputs are ``(n, L, 4)``.
    n_outputs : number of target values under ``preactivation`` (every output's units).
    final_activation : name of the activation removed for the pre-activation target.
    flavour : ``"tf_keras"`` or ``"keras3"``.
    outputs : every output (:class:`OutputInfo`), in the model's order.
    """

    keras_model: object
    path: str
    length: int
    n_outputs: int
    final_activation: str
    flavour: str
    outputs: list = field(default_factory=list)
    _logit_fn: object = field(default=None, repr=False)
    _compiled: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not self.outputs:
            self.outputs = [OutputInfo("output", (self.n_outputs,))]

    def describe_outputs(self, target: str = "preactivation") -> str:
        """Every output with its width, e.g. ``0 'profile' (width 180), 1 'counts' (width 1)``."""
        return ", ".join(f"{i} {o.name!r} (width {o.width(target)})" for i, o in enumerate(self.outputs))

    def check_tasks(self, tasks, target: str = "preactivation") -> list[int]:
        """Resolve tasks (see the module docstring) to positions in the concatenated target values.

        Raises
        ------
        ModelError
            for a task naming an output or unit the model does not have (every output
            and its width listed), or the same task twice.
        """
        tasks = list(tasks)
        if not tasks:
            raise ModelError(f"{self.path}: no tasks selected; give at least one output index")
        widths = [o.width(target) for o in self.outputs]
        offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        names = [o.name for o in self.outputs]
        out = []
        for task in tasks:
            head, unit = self._parse_task(task)
            if isinstance(head, str) and head in names:
                head = names.index(head)
            elif isinstance(head, str) and head.lstrip("-").isdigit():
                head = int(head)
            if not isinstance(head, int) or not 0 <= head < len(widths) or not 0 <= unit < widths[head]:
                what = (f"output {head!r} does not exist" if not isinstance(head, int) or not 0 <= head < len(widths)
                        else f"unit {unit} is past output {head} {names[head]!r} (width {widths[head]}, "
                             f"valid units 0..{widths[head] - 1})")
                raise ModelError(
                    f"{self.path}: "
                    + (f"task index {task!r} is past the model's outputs" if "past" in what else f"task {task!r}: {what}")
                    + f" (the model has {len(widths)} output(s), target {target}: {self.describe_outputs(target)}"
                    + (f"; {what})" if "past" in what else ")")
                    + ". Fix model.tasks in the config (an integer is a unit of the first output; \"name:unit\" "
                    "or {output: name, unit: u} selects another)"
                )
            out.append(int(offsets[head] + unit))
        repeated = sorted({t for t in out if out.count(t) > 1})
        if repeated:
            raise ModelError(f"{self.path}: model.tasks {tasks} name the same output unit more than once; list it once")
        return out

    def _parse_task(self, task):
        """``(output name or index, unit)`` of one task entry."""
        if isinstance(task, (bool, np.bool_)):
            raise ModelError(f"{self.path}: task {task!r} is not an output index")
        if isinstance(task, (int, np.integer)):
            return 0, int(task)
        if isinstance(task, str) and task.strip().lstrip("-").isdigit():
            return 0, int(task)
        if isinstance(task, str) and ":" in task:
            head, _, unit = task.rpartition(":")
            if unit.strip().lstrip("-").isdigit():
                return head.strip(), int(unit)
        if isinstance(task, dict) and "output" in task and set(task) <= {"output", "unit"}:
            unit = task.get("unit", 0)
            head = task["output"]
            if isinstance(unit, (int, np.integer)) and not isinstance(unit, bool):
                return (int(head) if isinstance(head, (int, np.integer)) else str(head)), int(unit)
        raise ModelError(f"{self.path}: task {task!r} is not an output index, \"output:unit\" or "
                         "{output: name, unit: u}")

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
        """Target values for ``X (n, L, 4)``: every output's, concatenated, ``(n, n_values)`` float32.

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
        width = sum(o.width(target) for o in self.outputs)
        return np.concatenate(out, axis=0) if out else np.zeros((0, width), np.float32)

    def output_fn(self, target: str = "preactivation"):
        """A function of tensors ``(n, L, 4) -> (n, n_outputs)``, to call inside ``tf.function``."""
        import tensorflow as tf

        if target not in TARGETS:
            raise ModelError(f"unknown target {target!r}; choose one of {list(TARGETS)}")
        if len(self.outputs) > 1 or target == "profile":
            key = "_heads_" + target
            if key not in self._compiled:
                self._compiled[key] = _heads_fn(self, target)
            return self._compiled[key]
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


def _producer(keras_model, tensor):
    """The layer whose output is ``tensor``."""
    for layer in keras_layers(keras_model):
        try:
            out = layer.output
        except Exception:  # noqa: BLE001 - a shared layer has no single output
            out = None
        if out is tensor:
            return layer
    raise ModelError(f"cannot find the layer computing the model output {tensor}")


def _heads_fn(model: SequenceModel, target: str):
    """``(n, L, 4) -> (n, n_values)`` for a model with several outputs, or the profile target:
    each head's target values (see the module docstring), flattened and concatenated."""
    import tensorflow as tf

    if model.flavour == "tf_keras":
        import tf_keras as keras
    else:
        import keras
    km = model.keras_model
    taken, post = [], []
    for info, t in zip(model.outputs, km.outputs):
        layer = _producer(km, t)
        kind, act = layer.__class__.__name__, activation_name(layer)
        dense = None
        if target == "output" or act == "linear" and kind != "Activation":
            taken.append(t)
        elif kind == "Activation":
            taken.append(layer.input)
        elif kind == "Dense":
            taken.append(layer.input)
            dense = (layer.kernel, layer.bias)
        else:
            raise ModelError(
                f"{model.path}: the output layer {layer.name!r} is {kind} with activation {act!r}; DFIM can take the "
                "pre-activation only of an output Dense or Activation layer. Set model.target: output"
            )
        post.append((dense, info.profile if target == "profile" else None))
    body = keras.Model(km.inputs, taken)

    def fn(x):
        hs = body(x, training=False)
        hs = hs if isinstance(hs, (list, tuple)) else [hs]
        out = []
        for h, (dense, profile) in zip(hs, post):
            if dense is not None:
                kernel, bias = dense
                h = tf.tensordot(h, tf.cast(kernel, h.dtype), [[h.shape.rank - 1], [0]])
                h = h if bias is None else h + tf.cast(bias, h.dtype)
            if profile is not None:
                h = softmax_weighted(h, *profile)
            out.append(tf.reshape(h, (tf.shape(x)[0], -1)))
        return tf.concat(out, axis=1)

    return fn


def _output_infos(km) -> list:
    """Every output of ``km`` as an :class:`OutputInfo` (a profile head detected from its shape)."""
    infos = []
    for t in km.outputs:
        shape = tuple(t.shape)[1:]
        try:
            layer = _producer(km, t)
            name = layer.name
        except ModelError:
            layer, name = None, getattr(t, "name", "output")
        profile = None
        if len(shape) == 2 and shape[0] not in (None, 1) and shape[1] is not None:
            profile = (int(shape[0]), int(shape[1]))
        elif len(shape) == 1 and layer is not None and layer.__class__.__name__ in ("Flatten", "Reshape"):
            inner = tuple(layer.input.shape)[1:]
            if len(inner) == 2 and inner[0] not in (None, 1) and inner[1] is not None:
                profile = (int(inner[0]), int(inner[1]))
        infos.append(OutputInfo(name, shape, profile))
    return infos


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


def device_name(model) -> str:
    """Where ``model`` is scored: the GPUs its framework sees (it places work there without any
    setting), else ``CPU``; said in every shard log so a user knows which device ran."""
    if type(model).__name__ == "TorchSequenceModel":  # no torch import for Keras models
        from .torch_models import device

        return f"PyTorch {device()}"
    import tensorflow as tf

    gpus = [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices("GPU")]
    return f"TensorFlow {', '.join(gpus)}" if gpus else "TensorFlow CPU (no GPU visible)"


def load_model(path: str | os.PathLike) -> SequenceModel:
    """Load a Keras sequence model from ``.h5`` or ``.keras``, or a PyTorch one from ``.pt``, ``.pth`` or
    ``.torchscript`` (:mod:`dfim.torch_models`, the optional ``torch`` extra).

    tf_keras is tried first (Keras 2 files, the format the ``deeplift`` package reads),
    then Keras 3 for ``.keras`` archives written by Keras 3.

    Raises
    ------
    ModelError
        When the file is missing, unreadable, or its input is not ``(L, 4)``.
    """
    path = str(path)
    check_model_path(path)
    from .torch_models import is_torch_path

    if is_torch_path(path):  # .pt / .pth / .torchscript: the optional PyTorch backend
        from .torch_models import load_torch_model

        return load_torch_model(path)
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
    infos = _output_infos(km)
    last = _final_layer(km)
    return SequenceModel(
        keras_model=km,
        path=path,
        length=int(shape[1]),
        n_outputs=sum(o.width() for o in infos),
        final_activation=activation_name(last),
        flavour=flavour,
        outputs=infos,
    )


def _load_tf_keras(path):
    import tf_keras

    return tf_keras.models.load_model(path, compile=False)


def _load_keras3(path):
    import keras

    return keras.saving.load_model(path, compile=False)

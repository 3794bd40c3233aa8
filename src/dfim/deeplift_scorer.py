"""Importance scores from the ``deeplift`` package (0.6.13), run under TensorFlow 2.

deeplift 0.6.13 is TF1-style graph code. Rather than disabling eager execution for
the whole process (which would break the native TF 2 scorer that lives beside it),
each :class:`DeepliftScorer` builds its deeplift model inside its own ``tf.Graph``
and runs it in its own ``tf.compat.v1.Session``; deeplift's modules are pointed at
``tf.compat.v1`` once.

deeplift's own Keras reader expects the Keras 2.2 ``.h5`` layout; current tf_keras
files start their Sequential config with an ``InputLayer`` that has no weights, and
Keras 3 files are zip archives. So the model is loaded with Keras first and handed to
deeplift's converter as the in-memory layer list it would have parsed from an old file.
"""

from __future__ import annotations

import contextlib
import io
import sys

import numpy as np

from .models import ModelError, SequenceModel, keras_layers
from .scorer import Scorer

# method name -> deeplift NonlinearMxtsMode attribute
DEEPLIFT_METHODS = {
    "deeplift": "DeepLIFT_GenomicsDefault",
    "rescale": "Rescale",
    "revealcancel": "RevealCancel",
    "grad_x_input": "Gradient",
    "guided_backprop": "GuidedBackprop",
}

_SUPPORTED_LAYERS = {
    "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
    "GlobalAveragePooling1D", "Dense", "Dropout", "Flatten", "Activation",
    "BatchNormalization", "Conv2D", "MaxPooling2D", "AveragePooling2D",
}

_ACTIVE_SESSION = []  # stack of sessions; deeplift's get_session() returns the top


def _patch_deeplift():
    """Point deeplift's modules at ``tf.compat.v1`` (idempotent)."""
    import tensorflow as tf

    import deeplift.util

    if getattr(deeplift.util, "_dfim_patched", False):
        return
    import deeplift.conversion.kerasapi_conversion  # noqa: F401 - import to patch it too
    import deeplift.layers  # noqa: F401
    import deeplift.models  # noqa: F401

    mods = [m for name, m in sys.modules.items() if name.startswith("deeplift") and m is not None]
    for m in mods:
        if getattr(m, "tf", None) is tf:
            m.tf = tf.compat.v1

    def get_session():
        if not _ACTIVE_SESSION:
            raise RuntimeError("deeplift function called outside a DeepliftScorer session")
        return _ACTIVE_SESSION[-1]

    deeplift.util.get_session = get_session

    # deeplift builds two new assign ops every time the target task changes (three
    # times per call), so a long-lived scorer's graph grows and each call slows down.
    # Build one assign op per target layer, fed the task vector.
    from deeplift.layers import core

    def update_task_vector(self):
        n = self.get_shape()[1]
        if not hasattr(self, "_dfim_assign"):
            with self.task_vector.graph.as_default():
                self._dfim_vector = tf.compat.v1.placeholder(tf.float32, shape=[n])
                self._dfim_assign = tf.compat.v1.assign(self.task_vector, self._dfim_vector)
        vec = np.zeros(n, np.float32)
        vec[self._task_index] = self._active
        get_session().run(self._dfim_assign, feed_dict={self._dfim_vector: vec})

    core.OneDimOutputMixin.update_task_vector = update_task_vector
    deeplift.util._dfim_patched = True


def _quiet():
    """deeplift prints progress to stdout; keep it off ours (stdout may carry data)."""
    return contextlib.redirect_stdout(io.StringIO())


def _as_int(v):
    if isinstance(v, (list, tuple)) and len(v) == 1:
        return int(v[0])
    return v


def keras_to_deeplift_config(model: SequenceModel) -> list[dict]:
    """The layer list deeplift's ``convert_sequential_model`` expects, from a loaded model.

    Only chains of layers (Sequential, or functional models without branches) can be
    converted; anything else raises :class:`ModelError` naming the layer.
    """
    km = model.keras_model
    layers = keras_layers(km)
    configs = []
    for layer in layers:
        kind = layer.__class__.__name__
        if kind not in _SUPPORTED_LAYERS:
            raise ModelError(
                f"{model.path}: layer {layer.name!r} of type {kind} cannot be converted by the "
                f"deeplift package (it supports {sorted(_SUPPORTED_LAYERS)}); use the native "
                "scorer (importance.backend: native) for this model"
            )
        cfg = dict(layer.get_config())
        for key in ("kernel_size", "strides", "pool_size", "dilation_rate"):
            if key in cfg and kind.endswith("1D"):
                cfg[key] = _as_int(cfg[key])
        if isinstance(cfg.get("activation"), dict):  # Keras 3 may serialise activations as dicts
            cfg["activation"] = cfg["activation"].get("config", {}).get("name", "linear")
        if kind == "Activation" and not isinstance(cfg.get("activation"), str):
            cfg["activation"] = str(cfg["activation"])
        if kind == "BatchNormalization":
            cfg["axis"] = _as_int(cfg["axis"])
            w = layer.get_weights()
            names = [v.name.split("/")[-1].split(":")[0] for v in layer.weights]
            by = dict(zip(names, w))
            channels = w[-1].shape[0]
            cfg["weights"] = [
                by.get("gamma", np.ones(channels, np.float32)),
                by.get("beta", np.zeros(channels, np.float32)),
                by["moving_mean"],
                by["moving_variance"],
            ]
        else:
            cfg["weights"] = [np.asarray(w) for w in layer.get_weights()]
        if kind == "Conv1D" and cfg.get("dilation_rate", 1) not in (1, (1,), [1]):
            raise ModelError(f"{model.path}: dilated Conv1D {layer.name!r} is not supported by deeplift")
        configs.append({"class_name": kind, "config": cfg})
    configs[0]["config"]["batch_input_shape"] = [None, model.length, 4]
    return configs


class DeepliftScorer(Scorer):
    """Multipliers from one deeplift model (one method) for every task of a model.

    Parameters
    ----------
    model : loaded :class:`SequenceModel`.
    method : one of ``DEEPLIFT_METHODS``.
    target : ``"preactivation"`` (default) or ``"output"``.
    threads : CPU threads for the session (None = TensorFlow's default).
    """

    def __init__(self, model: SequenceModel, method: str, target: str = "preactivation", threads=None):
        if method not in DEEPLIFT_METHODS:
            raise ValueError(
                f"unknown deeplift method {method!r}; choose one of {sorted(DEEPLIFT_METHODS)}"
            )
        import tensorflow as tf

        _patch_deeplift()
        from deeplift.conversion import kerasapi_conversion as kc
        from deeplift.layers import NonlinearMxtsMode

        self.model = model
        self.method = method
        self.graph = tf.Graph()
        cfg = keras_to_deeplift_config(model)
        conf = tf.compat.v1.ConfigProto()
        if threads:
            conf.intra_op_parallelism_threads = int(threads)
            conf.inter_op_parallelism_threads = 1
        with self.graph.as_default(), _quiet():
            dl_model = kc.convert_sequential_model(
                model_config=cfg,
                nonlinear_mxts_mode=getattr(NonlinearMxtsMode, DEEPLIFT_METHODS[method]),
                verbose=False,
            )
            layers = dl_model.get_layers()
            last_is_activation = layers[-1].__class__.__name__ in {"Sigmoid", "Softmax", "ReLU", "Tanh"}
            target_idx = -2 if (target == "preactivation" and last_is_activation) else -1
            self.session = tf.compat.v1.Session(graph=self.graph, config=conf)
            _ACTIVE_SESSION.append(self.session)
            try:
                self._func = dl_model.get_target_multipliers_func(
                    find_scores_layer_idx=0, target_layer_idx=target_idx
                )
                self.session.run(tf.compat.v1.global_variables_initializer())
            finally:
                _ACTIVE_SESSION.pop()

    def multipliers(self, X: np.ndarray, R: np.ndarray, task: int, batch_size: int = 256) -> np.ndarray:
        """Multipliers of ``task`` w.r.t. the input, for inputs ``X`` against references ``R``.

        X, R: ``(m, L, 4)`` float32; returns ``(m, L, 4)`` float32.
        """
        _ACTIVE_SESSION.append(self.session)
        try:
            with self.graph.as_default(), _quiet():
                out = self._func(
                    task_idx=int(task),
                    input_data_list=[np.asarray(X, np.float32)],
                    input_references_list=[np.asarray(R, np.float32)],
                    batch_size=int(batch_size),
                    progress_update=None,
                )
        finally:
            _ACTIVE_SESSION.pop()
        return np.asarray(out, dtype=np.float32)

    def close(self):
        self.session.close()

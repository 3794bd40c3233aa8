"""PyTorch sequence models (the optional ``torch`` extra: ``pip install .[torch]``).

A PyTorch model is read from

* ``.pt`` / ``.pth``: a whole module saved with ``torch.save(model, path)``; its class
  must be importable when DFIM loads it (put the module defining it on ``PYTHONPATH``),
  or a TorchScript archive (``torch.jit.save(torch.jit.script(model), path)``);
* ``.torchscript``: a TorchScript archive.

A whole module is unpickled (``weights_only=False``), which runs code from the file:
load only model files you trust. A ``state_dict`` alone has no architecture and is refused with the fix (save the whole
module, or TorchScript).

Inputs are DFIM's ``(n, L, 4)`` one-hot arrays, transposed at the edge to the
``(n, 4, L)`` PyTorch models take (the tangermeme and bpnet-lite convention). The
input length ``L`` is read from the module's ``input_length`` attribute (``length``,
``seq_len`` or ``sequence_length`` also do): a convolutional model such as BPNet runs
on any length, so set ``model.input_length = 2114`` before saving it.

Outputs and tasks
-----------------
``forward`` may return one tensor or a tuple/list of them (bpnet-lite's BPNet returns
``(profile, counts)``). Output ``i`` is named ``"i"`` (``"0"``, ``"1"``, ...), and its
values are its per-sequence tensor flattened in PyTorch's (row-major) order, so a task
is ``"1:0"`` or ``{output: 1, unit: 0}`` (see :mod:`dfim.models`): BPNet's counts head is
``"1:0"``, the documented scalar target for BPNet. An output of shape ``(C, L')`` with
``L' > 1`` is a *profile head*: under ``model.target: profile`` it gives ``C`` values,
``sum_i stop_gradient(softmax(z)_i) z_i`` over its positions, as on the Keras path.

Targets: ``output`` is ``forward``'s values; ``preactivation`` is the same, except that a
final ``nn.Sigmoid`` / ``nn.Softmax`` / ``nn.LogSoftmax`` of an ``nn.Sequential`` (scripted or not)
is left out (PyTorch models
usually return logits, their loss applying the activation).

The GPU is used when ``torch.cuda.is_available()``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import ModelError
from .models import TARGETS, OutputInfo, SequenceModel

TORCH_SUFFIXES = (".pt", ".pth", ".torchscript")
LENGTH_ATTRIBUTES = ("input_length", "length", "seq_len", "sequence_length")
_FINAL_ACTIVATIONS = ("Sigmoid", "Softmax", "LogSoftmax")


def is_torch_path(path) -> bool:
    """Does ``path`` name a PyTorch model file (by its suffix)?"""
    return str(path).lower().endswith(TORCH_SUFFIXES)


def import_torch():
    """``torch``, or a :class:`ModelError` saying how to install the extra."""
    try:
        import torch
    except ImportError:
        raise ModelError(
            "PyTorch models need the torch extra: pip install 'dfim[torch]' (or pip install torch==2.13.0 "
            "tangermeme); `make test` installs it") from None
    return torch


def device():
    """The GPU when present, else the CPU."""
    torch = import_torch()
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _read(path: str):
    """The module in ``path`` (whole module or TorchScript), with clear errors otherwise."""
    torch = import_torch()
    dev = device()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates TorchScript, still reads it
            return torch.jit.load(path, map_location=dev), True
    except Exception:  # noqa: BLE001 - not TorchScript: try a pickled module next
        if path.lower().endswith(".torchscript"):
            raise ModelError(f"cannot read {path} as TorchScript; save it with "
                             "torch.jit.save(torch.jit.script(model), path)") from None
    try:
        obj = torch.load(path, map_location=dev, weights_only=False)
    except (ModuleNotFoundError, AttributeError) as exc:
        msg = str(exc)
        mod = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
        m = re.search(r"on <module '([^']+)'", msg)
        cls = re.search(r"Can't get attribute '([^']+)'", msg)
        where = mod or (m.group(1) if m else None)
        what = (f"class {cls.group(1)!r} of module {where!r}" if cls and where
                else f"module {where!r}" if where else "the model's class")
        raise ModelError(
            f"{path} is a whole PyTorch module whose class cannot be imported ({type(exc).__name__}: {msg}); "
            f"{what} must be importable: put the directory holding {where or 'its module'}"
            f"{'.py' if where and '.' not in where else ''} on PYTHONPATH (or install its package), or save the "
            "model as TorchScript: torch.jit.save(torch.jit.script(model), 'model.pt')") from None
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot read {path} as a PyTorch model ({type(exc).__name__}: {exc}); save the whole "
                         "module with torch.save(model, 'model.pt') or TorchScript") from None
    if isinstance(obj, dict):
        raise ModelError(
            f"{path} holds a state_dict (a dict of {len(obj)} tensors), not a model: the weights without the "
            "architecture. Save the whole module with torch.save(model, 'model.pt') (its class importable when "
            "DFIM runs) or TorchScript: torch.jit.save(torch.jit.script(model), 'model.pt')")
    if not isinstance(obj, torch.nn.Module):
        raise ModelError(f"{path} holds a {type(obj).__name__}, not a torch.nn.Module; save the whole module with "
                         "torch.save(model, 'model.pt') or TorchScript")
    return obj, False


def _length(module, path: str) -> int:
    for name in LENGTH_ATTRIBUTES:
        value = getattr(module, name, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
            return int(value)
    raise ModelError(
        f"{path}: the PyTorch model does not say its input length; set model.input_length = L (the length it "
        "was trained on) on the module before torch.save / torch.jit.script, and save it again")


def _as_list(y):
    torch = import_torch()
    if isinstance(y, torch.Tensor):
        return [y]
    if isinstance(y, (tuple, list)) and y and all(isinstance(t, torch.Tensor) for t in y):
        return list(y)
    raise ModelError(f"the PyTorch model returns {type(y).__name__}; DFIM needs a tensor or a tuple of tensors")


def _heads(module):
    """``(body, final activation name)``: the module without a final Sigmoid/Softmax of a Sequential."""
    torch = import_torch()
    if isinstance(module, torch.nn.Sequential) and len(module) > 1:
        last = module[-1].__class__.__name__
        if last in _FINAL_ACTIVATIONS:
            return module[:-1], last.lower()
    if getattr(module, "original_name", None) == "Sequential":  # a scripted Sequential: rebuild it from its children
        children = list(module.children())
        last = getattr(children[-1], "original_name", "") if len(children) > 1 else ""
        if last in _FINAL_ACTIVATIONS:
            return torch.nn.Sequential(*children[:-1]), last.lower()
    return module, "linear"


def target_module(model: TorchSequenceModel, target: str = "preactivation"):
    """An ``nn.Module`` ``(b, 4, L) -> (b, n_values)``: the target values (module docstring), every output
    flattened and concatenated; the user's module is its submodule (so DeepLIFT's hooks reach its layers)."""
    torch = import_torch()
    if target not in TARGETS:
        raise ModelError(f"unknown target {target!r}; choose one of {list(TARGETS)}")
    body = model.torch_module if target == "output" else model.body
    profiles = [o.profile if target == "profile" else None for o in model.outputs]

    class Target(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body

        def forward(self, x):
            out = []
            for h, profile in zip(_as_list(self.body(x)), profiles):
                if profile is not None:  # (b, C, L'): softmax-weighted logits per channel
                    p = torch.softmax(h, dim=-1).detach()
                    h = (p * h).sum(-1)
                out.append(h.reshape(h.shape[0], -1))
            return torch.cat(out, dim=1)

    return Target().eval()


@dataclass
class TorchSequenceModel(SequenceModel):
    """A loaded PyTorch model with the facts DFIM needs (the :class:`SequenceModel` interface).

    torch_module : the loaded module (eval mode, on :func:`device`); body : it without a
    final activation (``preactivation``); scripted : True for TorchScript.
    """

    torch_module: object = None
    body: object = None
    scripted: bool = False
    _modules: dict = field(default_factory=dict, repr=False)

    def module_for(self, target: str = "preactivation"):
        """The cached :func:`target_module` of ``target``."""
        if target not in self._modules:
            self._modules[target] = target_module(self, target)
        return self._modules[target]

    def logits(self, X: np.ndarray, batch_size: int = 256, target: str = "preactivation") -> np.ndarray:
        """Target values for ``X (n, L, 4)``: ``(n, n_values)`` float32 (as :meth:`SequenceModel.logits`)."""
        torch = import_torch()
        self.check_input(X)
        fn = self.module_for(target)
        dev = device()
        out = []
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                x = torch.from_numpy(np.ascontiguousarray(np.asarray(X[i : i + batch_size], np.float32)
                                                          .transpose(0, 2, 1))).to(dev)
                out.append(fn(x).float().cpu().numpy())
        width = sum(o.width(target) for o in self.outputs)
        return np.concatenate(out, axis=0) if out else np.zeros((0, width), np.float32)

    def output_fn(self, target: str = "preactivation"):
        raise ModelError(f"{self.path} is a PyTorch model: it has no TensorFlow output function; use "
                         "importance.backend: torch")


def load_torch_model(path: str) -> TorchSequenceModel:
    """Load a PyTorch model (module docstring) as a :class:`TorchSequenceModel`."""
    torch = import_torch()
    path = str(path)
    module, scripted = _read(path)
    module = module.to(device()).eval()
    L = _length(module, path)
    body, final = _heads(module)
    try:
        with torch.no_grad():
            ys = _as_list(module(torch.zeros(2, 4, L, device=device())))
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{path}: the PyTorch model fails on a (batch, 4, {L}) one-hot input "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); DFIM gives "
                         "PyTorch models (batch, 4, L) inputs") from None
    infos = []
    for i, y in enumerate(ys):
        shape = tuple(int(d) for d in y.shape[1:])
        profile = (shape[1], shape[0]) if len(shape) == 2 and shape[1] > 1 else None
        infos.append(OutputInfo(str(i), shape, profile))
    return TorchSequenceModel(keras_model=None, path=path, length=L, n_outputs=sum(o.width() for o in infos),
                              final_activation=final, flavour="torchscript" if scripted else "torch",
                              outputs=infos, torch_module=module, body=body, scripted=scripted)

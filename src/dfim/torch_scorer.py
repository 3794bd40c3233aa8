"""Importance scores of PyTorch models (``importance.backend: torch``, the optional ``torch`` extra).

Methods
-------
``deeplift``
    tangermeme's ``deep_lift_shap`` as it is: the DeepLIFT/DeepSHAP rescale rule on every
    nonlinear module (ReLU and the other activations, Softmax) and its MaxPool rule (the
    change of each pooled output routed to the winning position), so contributions sum
    exactly to ``f(x) - f(r)``.
``rescale``
    the same, except that MaxPool passes the gradient to the position of the maximum as
    the ``deeplift`` package (and DFIM's Keras backends) do: the Keras path's numbers on
    the same weights (``rescale``, and ``deeplift`` for a model without Dense→ReLU, where
    the genomics default's RevealCancel would apply; tangermeme has no RevealCancel).
``grad_x_input``
    the plain gradient of the target value (reference free).

tangermeme is asked for the raw multipliers of each (input, reference) pair, so DFIM's
own references, hypothetical scores and tables are the Keras path's
(:func:`dfim.importance.hypothetical_scores`).

Inputs stay DFIM's ``(m, L, 4)``; they are transposed to ``(m, 4, L)`` here and the
multipliers back. DeepLIFT needs the module's layers (tangermeme hooks ``nn.ReLU`` and
the like), which TorchScript hides: a TorchScript model takes ``grad_x_input`` only.
"""

from __future__ import annotations

import warnings

import numpy as np

from .errors import ModelError
from .scorer import Scorer
from .torch_models import TorchSequenceModel, device, import_torch

TORCH_METHODS = ("deeplift", "rescale", "grad_x_input")


def _gradient_rule(module, grad_input, grad_output):
    """A tangermeme rule leaving the gradient as it is (MaxPool under ``rescale``: to the maximum)."""
    return grad_input


class TorchScorer(Scorer):
    """``multipliers(X, R, task, batch_size) -> (m, L, 4)`` of a :class:`TorchSequenceModel`."""

    def __init__(self, model, method: str = "deeplift", target: str = "preactivation", threads=None):
        if not isinstance(model, TorchSequenceModel):
            raise ModelError(f"{model.path}: importance.backend torch scores PyTorch models (.pt, .pth, "
                             ".torchscript); this is a Keras model: use backend native or deeplift")
        if method not in TORCH_METHODS:
            raise ValueError(f"unknown importance method {method!r} for backend 'torch'; "
                             f"choose one of {sorted(TORCH_METHODS)}")
        if method != "grad_x_input" and model.scripted:
            raise ModelError(
                f"{model.path} is TorchScript, whose layers DeepLIFT cannot reach (tangermeme hooks nn.ReLU and "
                "the other nonlinear modules); save the whole module with torch.save(model, 'model.pt') (its "
                "class importable) or set importance.method: grad_x_input")
        torch = import_torch()
        if threads:
            torch.set_num_threads(int(threads))
        self.model, self.method, self.target = model, method, target
        self.module = model.module_for(target)
        self.reference_free = method == "grad_x_input"

    def multipliers(self, X: np.ndarray, R, task: int, batch_size: int = 256) -> np.ndarray:
        """Multipliers of target value ``task`` w.r.t. the input, ``X`` against ``R`` (both ``(m, L, 4)``;
        ``R`` unused by ``grad_x_input``); returns ``(m, L, 4)`` float32."""
        torch = import_torch()
        X = np.asarray(X, np.float32)
        if not len(X):
            return np.zeros_like(X)
        xt = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 2, 1)))
        if self.method == "grad_x_input":
            out, dev = [], device()
            for i in range(0, len(X), batch_size):
                x = xt[i : i + batch_size].to(dev).requires_grad_()
                with torch.enable_grad():
                    y = self.module(x)[:, task].sum()
                    out.append(torch.autograd.grad(y, x)[0].cpu())
            return torch.cat(out).numpy().transpose(0, 2, 1).astype(np.float32)
        from tangermeme.deep_lift_shap import deep_lift_shap
        from tangermeme.utils import TangermemeWarning

        extra = None
        if self.method == "rescale":
            extra = {torch.nn.MaxPool1d: _gradient_rule, torch.nn.MaxPool2d: _gradient_rule}
        rt = torch.from_numpy(np.ascontiguousarray(np.asarray(R, np.float32).transpose(0, 2, 1)))[:, None]
        with warnings.catch_warnings():
            # DFIM's inputs are soft inside perturbed sources and its gc reference is not one-hot: tangermeme
            # checks one-hot inputs, and warns (only_warn) rather than refusing them. Its warning that deltas are
            # over 1% of the output differences (a module with no DeepLIFT rule, e.g. F.relu) stays visible.
            # Under rescale, MaxPool's gradient rule does not sum to the delta, by design (the Keras path's rule).
            warnings.simplefilter("ignore", TangermemeWarning)
            if self.method == "rescale":
                warnings.filterwarnings("ignore", "Convergence deltas", RuntimeWarning)
            m = deep_lift_shap(self.module, xt, target=int(task), batch_size=batch_size, references=rt,
                               warning_threshold=float("inf"), raw_outputs=True, only_warn=True,
                               additional_nonlinear_ops=extra, device=device(), dtype=torch.float32)
        return m[:, 0].detach().cpu().numpy().transpose(0, 2, 1).astype(np.float32)

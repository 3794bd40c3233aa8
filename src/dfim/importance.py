"""Importance scores (hypothetical and actual) and prediction changes.

For one task, an attribution method gives multipliers ``m(x, r)`` of the input
against a reference ``r``. Following the DeepSHAP convention for one-hot DNA, the
*hypothetical* score of base ``b`` at position ``i`` is

    H[i, b] = mean_k ( m_k[i, b] - sum_c m_k[i, c] * r_k[i, c] )

(the contribution base ``b`` would have if it were present), and the *actual*
contribution is ``A = H * X``: only the observed base is non-zero, and it equals
``sum_c m[i, c] (x[i, c] - r[i, c])``, the method's contribution summed over
channels. For gradient × input with an all-zero reference ``H`` is the gradient.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from .deeplift_scorer import DEEPLIFT_METHODS, DeepliftScorer
from .models import ModelError, SequenceModel, load_model
from .native import NATIVE_METHODS, NativeScorer
from .progress import advance
from .sequences import gc_background, shuffled_copies

REFERENCES = ("gc", "zero", "shuffle")
TORCH_METHODS = ("deeplift", "rescale", "grad_x_input")  # dfim.torch_scorer's (kept here so importing dfim needs no torch)
BACKENDS = {"deeplift": DEEPLIFT_METHODS, "native": NATIVE_METHODS, "torch": TORCH_METHODS}


@dataclass
class Importance:
    """Scores of ``n`` sequences for several tasks.

    hyp, actual : ``(n_tasks, n, L, 4)`` float32.
    tasks : the model output index of each first-axis entry.
    """

    hyp: np.ndarray
    actual: np.ndarray
    tasks: list[int]


def make_scorer(model: SequenceModel, method: str = "deeplift", backend: str = "native",
                target: str = "preactivation", threads=None, ig_steps: int | None = None):
    """A scorer for ``model``: build once, score many batches; use it as a context manager.

    Every backend's scorer (:class:`dfim.scorer.Scorer`) has ``multipliers(X, R, task, batch_size) -> (m, L, 4)``
    (``X``, ``R``: ``(m, L, 4)``), ``close()``, and ``with`` support that closes them; the
    native one also has ``hypothetical`` (the fast path of :func:`hypothetical_scores`)
    and ``reference_free`` (True when the multipliers ignore the reference).

    ``backend="torch"`` scores PyTorch models (:mod:`dfim.torch_scorer`: ``deeplift`` and ``rescale``
    with tangermeme's DeepLIFT/SHAP, ``grad_x_input``).

    ``ig_steps``: points on the path for the native ``integrated_gradients`` (default 32).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown importance backend {backend!r}; choose one of {sorted(BACKENDS)}")
    if method not in BACKENDS[backend]:
        raise ValueError(
            f"unknown importance method {method!r} for backend {backend!r}; "
            f"choose one of {sorted(BACKENDS[backend])}"
        )
    is_torch = getattr(model, "torch_module", None) is not None
    if is_torch != (backend == "torch"):
        raise ModelError(f"{model.path}: " + ("a PyTorch model needs importance.backend: torch" if is_torch else
                                              "importance.backend torch scores PyTorch models (.pt, .pth, "
                                              ".torchscript); this is a Keras model: use backend native"))
    if backend == "torch":
        from .torch_scorer import TorchScorer

        return TorchScorer(model, method, target=target, threads=threads)
    if backend == "deeplift" and (len(model.outputs) > 1 or target == "profile"):
        raise ModelError(f"{model.path}: backend deeplift reads single-output models with target preactivation or "
                         f"output (this one has {len(model.outputs)} output(s), target {target}); use backend native")
    if backend == "native":
        extra = {} if ig_steps is None else {"ig_steps": ig_steps}
        return NativeScorer(model, method, target=target, threads=threads, **extra)
    return DeepliftScorer(model, method, target=target, threads=threads)


def make_references(X: np.ndarray, kind: str = "gc", *, n_refs: int = 10, gc: float = 0.46,
                    seed: int = 0, ids=None, shuffle_kind: str = "dinuc") -> np.ndarray:
    """Reference inputs for ``X (n, L, 4)``.

    Returns ``(1, 1, L, 4)`` (one reference shared by every sequence) for ``gc`` and
    ``zero``, or ``(n, n_refs, L, 4)`` seeded shuffles of each sequence for
    ``shuffle`` (``ids`` as in :func:`dfim.sequences.shuffled_copies`).
    """
    if kind not in REFERENCES:
        raise ValueError(f"unknown reference {kind!r}; choose one of {list(REFERENCES)}")
    L = X.shape[1]
    if kind == "gc":
        return np.broadcast_to(gc_background(gc), (1, 1, L, 4)).copy()
    if kind == "zero":
        return np.zeros((1, 1, L, 4), np.float32)
    if n_refs < 1:
        raise ValueError(f"shuffle references need n_refs >= 1, got {n_refs}")
    return shuffled_copies(X, n_refs, seed=seed, kind=shuffle_kind, ids=ids)


def hypothetical_scores(scorer, X: np.ndarray, refs: np.ndarray, ref_index=None, *,
                        task: int = 0, batch_size: int = 256, origin=None, spans=None, targets=None,
                        progress=None) -> np.ndarray:
    """Hypothetical scores ``(n, L, 4)`` of ``X (n, L, 4)`` for one task.

    refs : ``(n_r, K, L, 4)``; sequence ``i`` is scored against ``refs[ref_index[i]]``
        (``ref_index`` defaults to ``i``, or to 0 when ``n_r == 1``). Mutants point at
        their original's references so a delta profile compares like with like.

    A scorer with a ``hypothetical`` method (the native one) computes this itself,
    running a reference set shared by the batch through the network only once.

    origin, spans : for each row, the row of ``X`` it is a mutant of (-1: an original)
        and the ``[start, end)`` it changed; a scorer with a ``locality`` attribute (the
        native one) then computes mutants' forward passes locally where it can
        (:mod:`dfim.native.locality`), others ignore them.
    targets : for each row None or the ``[start, end)`` intervals where its scores are
        wanted; the native scorer's local path then computes that row's input gradient in
        the targets' cones only and leaves NaN elsewhere (other scorers ignore it).
    progress : a :class:`dfim.progress.Progress` told the rows of every batch, or None.
    """
    local = {"origin": origin, "spans": spans} if origin is not None and hasattr(scorer, "locality") else {}
    if local and targets is not None:
        local["targets"] = targets
    X = np.asarray(X, np.float32)
    n = len(X)
    if len(refs) == 1:  # one reference shared by every sequence
        ref_index = np.zeros(n, int)
    elif ref_index is None:
        ref_index = np.arange(n)
    ref_index = np.asarray(ref_index)
    K = refs.shape[1]
    if getattr(scorer, "reference_free", False):
        mult = scorer.multipliers(X, None, task, batch_size, **local)
        advance(progress, n)  # one call over every row: no batch to report inside it
        mean_ref = refs.mean(axis=1)[ref_index]
        return mult - (mult * mean_ref).sum(-1, keepdims=True)
    if hasattr(scorer, "hypothetical"):  # native: the whole computation in one compiled pass per batch
        return scorer.hypothetical(X, refs, ref_index, task, batch_size, progress=progress, **local)
    out = np.empty_like(X)
    per_chunk = max(1, batch_size // K)
    for i in range(0, n, per_chunk):
        x = X[i : i + per_chunk]
        r = refs[ref_index[i : i + per_chunk]]  # (b, K, L, 4)
        xt = np.repeat(x, K, axis=0)
        rt = r.reshape((-1,) + r.shape[2:])
        mult = scorer.multipliers(xt, rt, task, batch_size)
        hyp = mult - (mult * rt).sum(-1, keepdims=True)
        out[i : i + per_chunk] = hyp.reshape(r.shape).mean(axis=1)
        advance(progress, len(x))
    return out


def compute_importance(model, X: np.ndarray, *, method: str = "deeplift", reference: str = "gc",
                       tasks=(0,), backend: str = "native", n_refs: int = 10, gc: float = 0.46,
                       seed: int = 0, ids=None, target: str = "preactivation",
                       batch_size: int = 256, threads=None, scorer=None, refs=None,
                       ref_index=None, origin=None, spans=None, targets=None, progress=None) -> Importance:
    """Score sequences (originals and mutants alike) for one or more tasks.

    Parameters
    ----------
    model : path to a Keras file or a loaded :class:`SequenceModel`.
    X : ``(n, L, 4)`` float32 inputs (one-hot, or soft rows inside perturbed sources).
    method : ``deeplift`` (genomics default), ``rescale``, ``revealcancel``,
        ``grad_x_input`` or ``guided_backprop`` with ``backend="deeplift"``;
        ``deeplift``, ``rescale``, ``grad_x_input`` or ``integrated_gradients`` with
        ``backend="native"`` (the same numbers, faster; works on Keras 3 ``.keras`` models too).
    reference : ``gc`` (background of GC fraction ``gc``), ``zero``, or ``shuffle``
        (``n_refs`` dinucleotide shuffles per sequence, scores averaged).
    tasks : the tasks to score: output units of the first output, or ``"name:unit"`` /
        ``{"output": name, "unit": u}`` (:meth:`dfim.models.SequenceModel.check_tasks`);
        ``Importance.tasks`` holds their positions in the concatenated target values.

    The defaults are the workflow's (``workflow/schemas/config.schema.yaml``): DeepLIFT's
    genomics default on the native backend against the soft GC background.
    scorer, refs, ref_index : reuse a scorer and a reference set across calls (see
        :func:`hypothetical_scores`).
    origin, spans : which rows are mutants of which, and where they changed (see
        :func:`hypothetical_scores`; the native scorer's local forward pass).
    targets : rows whose scores are wanted on some intervals only (see :func:`hypothetical_scores`).
    progress : a :class:`dfim.progress.Progress` told the rows of every batch, or None.

    Returns
    -------
    Importance with ``hyp`` and ``actual`` of shape ``(n_tasks, n, L, 4)``.
    """
    if not isinstance(model, SequenceModel):
        model = load_model(model)
    X = np.asarray(X, np.float32)
    model.check_input(X)
    target = getattr(scorer, "target", target)  # a given scorer's own target decides which values the tasks name
    tasks = model.check_tasks(tasks, target)
    if refs is None:
        refs = make_references(X, reference, n_refs=n_refs, gc=gc, seed=seed, ids=ids)
    with nullcontext(scorer) if scorer is not None else make_scorer(model, method, backend, target=target,
                                                                    threads=threads) as s:
        hyp = np.stack([hypothetical_scores(s, X, refs, ref_index, task=t, batch_size=batch_size, origin=origin,
                                            spans=spans, targets=targets, progress=progress) for t in tasks])
    return Importance(hyp=hyp, actual=hyp * X[None], tasks=tasks)

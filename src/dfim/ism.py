"""In-silico mutagenesis: prediction changes and double-mutant epistasis.

For a source ``s`` and a target ``t`` of a sequence ``x`` the model's own interaction is

    e(s, t) = f(x) - f(x_s) - f(x_t) + f(x_st)

on the model's target output ``f`` (the logit by default), with ``x_s``, ``x_t`` and
``x_st`` the sequence with the source, the target, or both perturbed the same way DFIM
perturbs a source (METHOD.md, "Interaction calls"). It is 0 for a model additive in the
two elements, costs forward passes only, and gives users a model-agnostic check beside
every FIS. It is undefined (NaN) for a target that overlaps its source.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .mutants import generate_mutants_and_key
from .specs import MutationSpecs, make_source

# strategies a target can be perturbed with: an ALT allele or per-base substitutions
# belong to a source, so those targets get the soft GC background instead
_TARGET_STRATEGY = {"alt": "gc", "per_base": "gc"}
_CHUNK = 4096  # double mutants built and scored at a time (memory ~ _CHUNK × L × 16 B)


def overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    """Do the half-open intervals ``[a0, a1)`` and ``[b0, b1)`` share a base?"""
    return a0 < b1 and b0 < a1


def target_mutants(X: np.ndarray, specs: MutationSpecs, *, strategy: str = "gc", gc: float = 0.46,
                   seed: int = 0) -> tuple[np.ndarray, dict]:
    """Every distinct target of ``specs`` perturbed on its own.

    Returns ``(mutants (u, L, 4), row)`` with ``row[(seq, start, end)]`` the mutant of
    that target interval.
    """
    seqs = specs.seq_indices()
    rows, targets = {}, []
    for spec, i in zip(specs, seqs):
        for a, b, name in zip(spec.resp_start, spec.resp_end, spec.resp_names):
            if (i, a, b) not in rows:
                rows[(i, a, b)] = len(targets)
                # the key seeds random replacements: one per target interval
                targets.append(make_source(key=f"target:{i}:{a}-{b}", seq=i, mut_start=a, mut_end=b, mut_name=name,
                                           resp_start=[], resp_end=[], resp_names=[], alt="", where=f"target {name}"))
    mutants, _ = generate_mutants_and_key(X, MutationSpecs(targets), strategy=_TARGET_STRATEGY.get(strategy, strategy),
                                          gc=gc, seed=seed)
    return mutants, rows


def outputs(model, X: np.ndarray, tasks, *, target: str = "preactivation", batch_size: int = 256) -> np.ndarray:
    """The model's ``target`` output for ``tasks``: ``(n, T)`` float64 (empty-safe)."""
    if not len(X):
        return np.zeros((0, len(tasks)))
    return model.logits(X, batch_size, target)[:, list(tasks)].astype(np.float64)


def row_digest(x: np.ndarray) -> bytes:
    """A 128-bit digest of one sequence's float32 bytes: equal rows, equal digests."""
    return hashlib.blake2b(np.ascontiguousarray(x, np.float32).tobytes(), digest_size=16).digest()


def outputs_once(model, X: np.ndarray, tasks, known: dict, *, target: str = "preactivation",
                 batch_size: int = 256) -> np.ndarray:
    """:func:`outputs` of ``X``, each distinct row through the model once.

    known : row digest -> outputs of rows already computed (updated here). A window's
    double mutants repeat: with a deterministic perturbation (``gc``, ``zero``,
    ``alt``) the pair (s, t) and the pair (t, s) are the same sequence, and a target
    perturbed alone is its source's mutant. The model's output of a row does not depend
    on the other rows of its batch (:meth:`dfim.models.SequenceModel.logits` pads every
    call to ``batch_size`` rows), so the values are those of computing every row.
    """
    digests = [row_digest(x) for x in X]
    todo = {}
    for i, d in enumerate(digests):
        if d not in known and d not in todo:
            todo[d] = i
    if todo:
        f = outputs(model, X[list(todo.values())], tasks, target=target, batch_size=batch_size)
        known.update(zip(todo, f))
    return np.array([known[d] for d in digests]).reshape(len(X), len(tasks))


def prediction_change(f_x: np.ndarray, f_s: np.ndarray, seq_of_mutant) -> np.ndarray:
    """ISM of each source, ``f(x) - f(x_s)``: ``(T, m)`` float32 from :func:`outputs` of the
    originals ``(n, T)`` and mutants ``(m, T)``; ``seq_of_mutant (m,)`` indexes the originals."""
    return (f_x[np.asarray(seq_of_mutant, int)] - f_s).T.astype(np.float32)


def double_mutant_epistasis(model, X: np.ndarray, specs: MutationSpecs, mutants: np.ndarray, key: pd.DataFrame,
                            f_x: np.ndarray, f_s: np.ndarray, tasks, *, strategy: str = "gc", gc: float = 0.46,
                            seed: int = 0, target: str = "preactivation", batch_size: int = 256,
                            n_specs: int | None = None, source_mutant: np.ndarray | None = None) -> np.ndarray:
    """``e(s, t)`` of every (source, target) row of ``specs``, in :func:`dfim.maps.compute_dfim` order.

    X : ``(n, L, 4)`` originals; mutants, key : the sources' mutants and key
    (:func:`dfim.mutants.generate_mutants_and_key`; a source with several mutants uses its
    first, as the maps do); f_x : ``(n, T)`` and f_s : ``(m, T)`` the model's outputs
    (:func:`outputs`, with this ``target`` and ``batch_size``) for the originals and the source mutants,
    for ``tasks`` (NaN rows: not computed). Each distinct sequence goes through the model once
    (:func:`outputs_once`).

    n_specs : only the first ``n_specs`` specs' pairs are computed (the rest stay NaN).
    source_mutant : optional ``(T, rows)`` mutant of each task's row (the ``mutant`` column
        of :func:`dfim.maps.compute_dfim`, e.g. the substitution behind a ``per_base``
        score); ``e`` of that row and task is computed with that source mutant. Default:
        each source's first mutant for every task.

    Returns ``(T, rows)`` float64, NaN on the diagonal and where a target overlaps its source.
    """
    n_specs = len(specs) if n_specs is None else n_specs
    singles, row_of = target_mutants(X, MutationSpecs(list(specs)[:n_specs]), strategy=strategy, gc=gc, seed=seed)
    # the sources' mutants are through the model already (f_s is NaN where their outputs were not computed)
    known = {row_digest(mutants[m]): f_s[m] for m in np.flatnonzero(np.isfinite(f_s).all(axis=1))}
    f_t = outputs_once(model, singles, tasks, known, target=target, batch_size=batch_size)
    first = key.groupby("spec", sort=True)["mutant"].first()
    pairs = []  # (row, source mutant, target mutant, target start, target end, sequence) of each defined pair
    n_rows = 0
    for j, (spec, i) in enumerate(zip(specs, specs.seq_indices())):
        if j not in first.index:
            continue
        for a, b in zip(spec.resp_start, spec.resp_end):
            if j < n_specs and not overlaps(spec.mut_start, spec.mut_end, a, b):
                used = [int(first[j])] if source_mutant is None else sorted(set(source_mutant[:, n_rows].tolist()))
                pairs.extend((n_rows, m, row_of[(i, a, b)], a, b, i) for m in used)
            n_rows += 1
    e = np.full((len(tasks), n_rows), np.nan)
    for c in range(0, len(pairs), _CHUNK):
        chunk = pairs[c : c + _CHUNK]
        doubles = np.stack([mutants[m].copy() for _, m, _, _, _, _ in chunk])
        for d, (_, _, u, a, b, _) in zip(doubles, chunk):
            d[a:b] = singles[u, a:b]  # the target perturbed exactly as in its single mutant
        f_st = outputs_once(model, doubles, tasks, known, target=target, batch_size=batch_size)
        r, m, u, i = (np.array([p[k] for p in chunk]) for k in (0, 1, 2, 5))
        vals = (f_x[i] - f_s[m] - f_t[u] + f_st).T  # (T, chunk)
        if source_mutant is None:
            e[:, r] = vals
            continue
        for t in range(len(tasks)):  # each task keeps the pair computed with its own source mutant
            mine = source_mutant[t, r] == m
            e[t, r[mine]] = vals[t, mine]
    return e

"""One call from sequences + specs to interaction scores, for the observed and the null.

This strings the stages together (mutants → importance → delta profiles → maps →
prediction changes) so the workflow's shard job and notebook users call the same
code. P-values are assigned afterwards, over all shards, with
:func:`dfim.stats.assign_pval`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .deltas import compute_delta_profiles
from .importance import Importance, compute_importance, make_references, make_scorer, prediction_change
from .maps import compute_dfim
from .models import SequenceModel, load_model
from .mutants import generate_mutants_and_key
from .null import null_sequences, null_specs
from .specs import MutationSpecs


@dataclass
class ScoringOptions:
    """How to score: every field maps to a config key of the workflow."""

    method: str = "deeplift"
    backend: str = "deeplift"
    reference: str = "gc"
    n_refs: int = 10
    gc: float = 0.46
    strategy: str = "gc"
    tasks: list = field(default_factory=lambda: [0])
    target: str = "preactivation"
    contributions: str = "actual"  # or "hypothetical"
    absolute: bool = True
    channels: str = "sum"
    positions: str = "max"
    batch_size: int = 256
    seed: int = 0
    threads: int | None = None


@dataclass
class Scored:
    """Scores of one set of sequences.

    fis : per-element FIS rows (``dfim.maps.FIS_COLUMNS`` + ``pred_change``).
    delta : ``(T, m, L, 4)`` source-masked delta profiles; key : mutant key.
    importance : scores of the originals.
    """

    fis: pd.DataFrame
    delta: np.ndarray
    key: pd.DataFrame
    importance: Importance
    mutant_importance: Importance


def score_sequences(model: SequenceModel, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions,
                    *, scorer=None, ids=None) -> Scored:
    """Interaction scores of ``X (n, L, 4)`` for ``specs`` (``spec.seq`` indexes ``X``).

    ``ids`` are global sequence numbers that seed the shuffled references and random
    mutants, so results do not depend on how sequences are split into shards.
    """
    own = scorer is None
    if own:
        scorer = make_scorer(model, opts.method, opts.backend, target=opts.target, threads=opts.threads)
    try:
        mutants, key = generate_mutants_and_key(X, specs, strategy=opts.strategy, gc=opts.gc, seed=opts.seed)
        refs = make_references(X, opts.reference, n_refs=opts.n_refs, gc=opts.gc, seed=opts.seed, ids=ids)
        common = dict(scorer=scorer, refs=refs, tasks=opts.tasks, batch_size=opts.batch_size)
        # originals and mutants go through the model in the same batches
        both = np.concatenate([X, mutants]) if len(mutants) else X
        ref_index = np.concatenate([np.arange(len(X)), key["seq"].to_numpy()])
        imp = compute_importance(model, both, ref_index=ref_index, **common)
    finally:
        if own:
            scorer.close()
    n = len(X)
    pick = (lambda i: i.actual) if opts.contributions == "actual" else (lambda i: i.hyp)
    orig = Importance(imp.hyp[:, :n], imp.actual[:, :n], imp.tasks)
    mut = Importance(imp.hyp[:, n:], imp.actual[:, n:], imp.tasks)
    delta = compute_delta_profiles(pick(orig), pick(mut), key)
    fis = compute_dfim(delta, key, specs, absolute=opts.absolute, channels=opts.channels,
                       positions=opts.positions, tasks=imp.tasks)
    ism = prediction_change(model, X, mutants, key["seq"].to_numpy(), tasks=imp.tasks, target=opts.target,
                            batch_size=opts.batch_size)  # (T, m)
    first = key.groupby("spec")["mutant"].first()
    task_pos = {t: i for i, t in enumerate(imp.tasks)}
    fis["pred_change"] = ism[fis["task"].map(task_pos).to_numpy(), first.loc[fis["spec"]].to_numpy()]
    return Scored(fis=fis, delta=delta, key=key, importance=orig, mutant_importance=mut)


def score_null(model: SequenceModel, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions, *,
               shuffles: int = 2, kind: str = "dinuc", scorer=None, ids=None) -> pd.DataFrame:
    """FIS of the same specs on ``shuffles`` shuffled copies of each sequence.

    Returns the FIS rows with ``seq`` the original sequence index and ``shuffle`` the copy.
    """
    ids = np.arange(len(X)) if ids is None else np.asarray(ids)
    # seed the null shuffles apart from the reference shuffles of the same window
    N = null_sequences(X, shuffles, seed=opts.seed + 1_000_003, kind=kind, ids=ids)
    nspecs = null_specs(specs, shuffles)
    # global ids of the null sequences (window i, shuffle j), offset so their reference
    # shuffles are not drawn with the same seeds as any real window's
    null_ids = (np.repeat(ids, shuffles) * shuffles + np.tile(np.arange(shuffles), len(ids))) + 10**9
    scored = score_sequences(model, N, nspecs, opts, scorer=scorer, ids=null_ids)
    fis = scored.fis
    fis["shuffle"] = fis["seq"] % shuffles
    fis["seq"] = fis["seq"] // shuffles
    return fis


def run_dfim(model, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions | None = None, *,
             shuffles: int = 2, null_kind: str = "dinuc", pvalue: str = "empirical", level: str = "per_task"):
    """Observed FIS with p- and q-values, in one call (for notebooks and small jobs).

    Returns ``(fis, null_fis, scored)``; ``fis`` gains ``pval`` and ``qval`` columns
    (BH over each task's tested pairs).
    """
    if not isinstance(model, SequenceModel):
        model = load_model(model)
    opts = opts or ScoringOptions()
    scorer = make_scorer(model, opts.method, opts.backend, target=opts.target, threads=opts.threads)
    try:
        scored = score_sequences(model, X, specs, opts, scorer=scorer)
        null = score_null(model, X, specs, opts, shuffles=shuffles, kind=null_kind, scorer=scorer)
    finally:
        scorer.close()
    fis = add_pvalues(scored.fis, null, kind=pvalue, level=level)
    return fis, null, scored


def add_pvalues(fis: pd.DataFrame, null: pd.DataFrame, *, kind: str = "empirical",
                level: str = "per_task", seq_col: str = "seq") -> pd.DataFrame:
    """Add ``pval`` and ``qval`` (BH within each task) to FIS rows from their null rows."""
    from .stats import assign_pval, bh_qvalues

    fis = fis.copy()
    fis["pval"] = assign_pval(
        fis["score"].to_numpy(float), null["score"].to_numpy(float), kind=kind, level=level,
        obs_task=fis["task"].to_numpy(), null_task=null["task"].to_numpy(),
        obs_seq=fis[seq_col].astype(str).to_numpy(), null_seq=null[seq_col].astype(str).to_numpy(),
    )
    fis["qval"] = np.nan
    for _, idx in fis.groupby("task").groups.items():
        fis.loc[idx, "qval"] = bh_qvalues(fis.loc[idx, "pval"].to_numpy(float))
    return fis

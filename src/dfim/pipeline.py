"""One call from sequences + specs to interaction scores, for the observed and the null.

This strings the stages together (mutants → importance → delta profiles → maps →
prediction changes) so the workflow's shard job and notebook users call the same
code. P-values are assigned afterwards, over all shards, with
:func:`dfim.stats.assign_pval`.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .deltas import compute_delta_profiles
from .elements import relations
from .importance import Importance, compute_importance, make_references, make_scorer
from .ism import double_mutant_epistasis, outputs, prediction_change
from .maps import FIS_COLUMNS, compute_dfim
from .models import SequenceModel, load_model
from .mutants import KEY_COLUMNS, generate_mutants_and_key, transition_alleles
from .null import null_sequences, null_specs, segment_scores, segment_specs
from .progress import Progress, stage
from .specs import MutationSpecs

log = logging.getLogger("dfim")


#: element modes whose sources are perturbed one way whatever mutation.strategy says: a
#: variant to its ALT allele, a base of mode per_base to each of its 3 other bases
_MODE_STRATEGY = {"variants": "alt", "per_base": "per_base"}


@dataclass
class ScoringOptions:
    """How to score. Every field is a config key of the workflow, and the defaults are
    the schema's (``workflow/schemas/config.schema.yaml``), so the API scores like ``make run``."""

    method: str = "deeplift"          # importance.method
    backend: str = "native"           # importance.backend
    reference: str = "gc"             # importance.reference
    n_refs: int = 10                  # importance.n_refs
    gc: float = 0.46                  # importance.gc
    strategy: str = "gc"              # mutation.strategy ("alt" in mode variants, "per_base" in mode per_base)
    tasks: list = field(default_factory=lambda: [0])  # model.tasks
    target: str = "preactivation"     # model.target
    contributions: str = "actual"     # importance.contributions, or "hypothetical"
    absolute: bool = True             # map.absolute
    channels: str = "sum"             # map.channels
    positions: str = "max"            # map.positions
    batch_size: int = 256             # importance.batch_size
    seed: int = 0                     # seed
    threads: int | None = None        # the job's threads

    @classmethod
    def from_config(cls, cfg: dict, threads: int | None = None) -> "ScoringOptions":
        """Options from a validated workflow config (the schema has filled every default)."""
        imp, mp = cfg["importance"], cfg["map"]
        strategy = _MODE_STRATEGY.get(cfg["elements"]["mode"], cfg["mutation"]["strategy"])
        return cls(method=imp["method"], backend=imp["backend"], reference=imp["reference"], n_refs=imp["n_refs"],
                   gc=imp["gc"], strategy=strategy, tasks=list(cfg["model"]["tasks"]), target=cfg["model"]["target"],
                   contributions=imp["contributions"], absolute=mp["absolute"], channels=mp["channels"],
                   positions=mp["positions"], batch_size=imp["batch_size"], seed=cfg["seed"], threads=threads)

    def scorer(self, model: SequenceModel):
        """A new scorer for ``model`` with these options (a context manager)."""
        return make_scorer(model, self.method, self.backend, target=self.target, threads=self.threads)


@dataclass
class NullOptions:
    """Which null (config section ``null``; :mod:`dfim.null`)."""

    kind: str = "random_source"   # null.kind: random_source | dinuc | plain
    segments: int = 10            # null.segments: K segments per pair (random_source)
    stride: int = 3               # null.stride: grid of segment starts, bp (random_source)
    shuffles: int = 10            # null.shuffles: shuffled copies per window (dinuc, plain)

    @classmethod
    def from_config(cls, cfg: dict) -> "NullOptions":
        n = cfg["null"]
        return cls(kind=n["kind"], segments=n["segments"], stride=n["stride"], shuffles=n["shuffles"])


@dataclass
class Scored:
    """Scores of one set of sequences.

    fis : per-element FIS rows (``dfim.maps.FIS_COLUMNS`` + ``substitution``, ``pred_change``, ...).
    delta : ``(T, m, L, 4)`` source-masked delta profiles; key : mutant key.
    importance : scores of the originals (None when there are no sequences).
    mutant_importance : scores of the mutants.
    """

    fis: pd.DataFrame
    delta: np.ndarray
    key: pd.DataFrame
    importance: Importance | None
    mutant_importance: Importance


@dataclass
class ShardScores:
    """What one shard job computes: the observed scores and the null's FIS rows."""

    scored: Scored
    null: pd.DataFrame


def _scorer_for(model, opts: ScoringOptions, scorer):
    """The given scorer (left open), or a new one closed on exit."""
    return nullcontext(scorer) if scorer is not None else opts.scorer(model)


def _unscored(model: SequenceModel, X: np.ndarray, opts: ScoringOptions, scorer, ids, progress=None) -> Scored:
    """Sequences without sources: their importance only, and empty maps."""
    T = len(opts.tasks)
    delta = np.zeros((T, 0, model.length, 4), np.float32)
    imp = None
    if len(X):
        if progress is not None:
            progress.begin("scoring windows without sources", {"observed": len(X)}, repeats=T)
        imp = compute_importance(model, X, method=opts.method, backend=opts.backend, reference=opts.reference,
                                 tasks=opts.tasks, n_refs=opts.n_refs, gc=opts.gc, seed=opts.seed, ids=ids,
                                 target=opts.target, batch_size=opts.batch_size, scorer=scorer, progress=progress)
    return Scored(fis=pd.DataFrame(columns=list(FIS_COLUMNS) + ["substitution", "relation", "window_scale", "pred_change", "ism_epistasis"]), delta=delta,
                  key=pd.DataFrame(columns=list(KEY_COLUMNS)), importance=imp,
                  mutant_importance=Importance(delta, delta, list(opts.tasks)))


def mutant_origins(n: int, key: pd.DataFrame):
    """For the rows of ``[X; mutants]``: the row each is a mutant of (-1: an original, the first ``n``)
    and the ``[start, end)`` it changed (its source; one base for ``per_base``), so a scorer can
    compute mutants' forward passes only where they differ (:mod:`dfim.native.locality`)."""
    pos = key["pos"].to_numpy(np.int64)
    start = np.where(pos >= 0, pos, key["mut_start"].to_numpy(np.int64))
    end = np.where(pos >= 0, pos + 1, key["mut_end"].to_numpy(np.int64))
    origin = np.concatenate([np.full(n, -1, np.int64), key["seq"].to_numpy(np.int64)])
    spans = np.concatenate([np.zeros((n, 2), np.int64), np.stack([start, end], 1).reshape(-1, 2)])
    return origin, spans


def null_targets(n: int, key: pd.DataFrame, specs: MutationSpecs, null_from: int) -> list:
    """For the rows of ``[X; mutants]``: the ``(n_t, 2)`` target intervals of each mutant of a spec
    from ``null_from`` on (the random-source segments), None for the others."""
    spec_of = key["spec"].to_numpy(int)
    spans = {j: np.stack([specs[j].resp_start, specs[j].resp_end], 1).astype(np.int64)
             for j in np.unique(spec_of[spec_of >= null_from])}
    return [None] * n + [spans.get(j) for j in spec_of]


def score_sequences(model: SequenceModel, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions | None = None,
                    *, scorer=None, ids=None, epistasis: bool | int = True, progress: Progress | None = None,
                    kind: str = "observed", null_from: int | None = None) -> Scored:
    """Interaction scores of ``X (n, L, 4)`` for ``specs`` (``spec.seq`` indexes ``X``).

    ``epistasis``: also the double-mutant epistasis of every pair (column ``ism_epistasis``,
    :func:`dfim.ism.double_mutant_epistasis`; forward passes only); an int computes it
    for the pairs of the first ``epistasis`` specs only.

    ``ids`` are global sequence numbers that seed the shuffled references and random
    mutants, so results do not depend on how sequences are split into shards.
    Sequences without any source still get their importance scores.

    progress : a :class:`dfim.progress.Progress` for progress lines and stage seconds;
    ``kind`` names the rows in it (``observed``, ``null``); the mutants of specs from
    ``null_from`` on are counted as ``null`` rows (the random-source segments).
    """
    opts = opts or ScoringOptions()
    if not len(specs):
        return _unscored(model, X, opts, scorer, ids, progress)
    label = kind if null_from is None else f"{kind} + null"  # stages whose work serves both kinds of rows
    with stage(progress, f"mutants and references, {label}"):
        mutants, key = generate_mutants_and_key(X, specs, strategy=opts.strategy, gc=opts.gc, seed=opts.seed)
        refs = make_references(X, opts.reference, n_refs=opts.n_refs, gc=opts.gc, seed=opts.seed, ids=ids)
    # originals and mutants go through the model in the same batches; each mutant is
    # scored against its original's references so a delta profile compares like with like
    both = np.concatenate([X, mutants]) if len(mutants) else X
    ref_index = np.concatenate([np.arange(len(X)), key["seq"].to_numpy()])
    origin, spans = mutant_origins(len(X), key)
    # the segments' FIS reads their targets only: the scorer may compute nothing else for them
    targets = None if null_from is None else null_targets(len(X), key, specs, null_from)
    if progress is not None:
        m_null = 0 if null_from is None else int((key["spec"].to_numpy(int) >= null_from).sum())
        parts = {kind: len(both) - m_null, "null": m_null} if m_null else {kind: len(both)}
        name = f"scoring ({kind} windows)" if null_from is None else "scoring observed and random-source null"
        progress.begin(name, parts, repeats=len(opts.tasks))
    with _scorer_for(model, opts, scorer) as s:
        imp = compute_importance(model, both, scorer=s, refs=refs, ref_index=ref_index, tasks=opts.tasks,
                                 batch_size=opts.batch_size, origin=origin, spans=spans, targets=targets,
                                 progress=progress)
    n = len(X)
    orig = Importance(imp.hyp[:, :n], imp.actual[:, :n], imp.tasks)
    mut = Importance(imp.hyp[:, n:], imp.actual[:, n:], imp.tasks)
    pick = (lambda i: i.actual) if opts.contributions == "actual" else (lambda i: i.hyp)
    with stage(progress, f"maps, {label}"):
        delta = compute_delta_profiles(pick(orig), pick(mut), key)
        fis = compute_dfim(delta, key, specs, absolute=opts.absolute, channels=opts.channels,
                           positions=opts.positions, tasks=imp.tasks)
        task_row = fis["task"].map({t: i for i, t in enumerate(imp.tasks)}).to_numpy()
        # the mutant behind each score: a source's only one, or (per_base) the substitution
        # with the largest FIS, named "C>T"; "" for the other strategies
        source_mutant = fis["mutant"].to_numpy(np.int64)
        names = np.where(key["pos"].to_numpy() >= 0,
                         key["orig_base"].astype(str) + ">" + key["new_base"].astype(str), "")
        fis["substitution"] = names[source_mutant] if len(fis) else []
        fis["relation"] = relations(fis, opts.strategy)
        # the window's top per-base importance: the scale a minimal effect is measured on
        fis["window_scale"] = np.abs(orig.actual).sum(-1).max(-1)[task_row, fis["seq"].to_numpy(int)]
    # the segments' prediction changes are read by nothing (the null table keeps their FIS only), so
    # this stage serves the observed rows alone
    with stage(progress, f"ISM single mutants, {kind}"):
        f_x = outputs(model, X, imp.tasks, target=opts.target, batch_size=opts.batch_size)
        m_obs = len(mutants) if null_from is None else int((key["spec"].to_numpy(int) < null_from).sum())
        f_s = np.full((len(mutants), len(imp.tasks)), np.nan)
        if m_obs:
            f_s[:m_obs] = outputs(model, mutants[:m_obs], imp.tasks, target=opts.target, batch_size=opts.batch_size)
    ism = prediction_change(f_x, f_s, key["seq"].to_numpy())  # (T, m)
    fis["pred_change"] = ism[task_row, source_mutant]
    if epistasis is not False:
        n_specs = None if epistasis is True else int(epistasis)
        with stage(progress, "ISM double mutants"):
            e = double_mutant_epistasis(model, X, specs, mutants, key, f_x, f_s, imp.tasks, strategy=opts.strategy,
                                        gc=opts.gc, seed=opts.seed, target=opts.target,
                                        batch_size=opts.batch_size, n_specs=n_specs,
                                        source_mutant=source_mutant.reshape(len(imp.tasks), -1))
        fis["ism_epistasis"] = e.ravel()  # compute_dfim's rows are task-major, like e
    return Scored(fis=fis, delta=delta, key=key, importance=orig, mutant_importance=mut)


def score_null(model: SequenceModel, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions | None = None, *,
               shuffles: int = 10, kind: str = "dinuc", scorer=None, ids=None,
               progress: Progress | None = None) -> pd.DataFrame:
    """FIS of the same specs on ``shuffles`` shuffled copies of each sequence.

    Returns the FIS rows with ``seq`` the original sequence index and ``shuffle`` the copy.
    """
    opts = opts or ScoringOptions()
    if not len(specs):
        return pd.DataFrame(columns=list(FIS_COLUMNS) + ["substitution", "relation", "window_scale", "pred_change"]).assign(shuffle=[])
    ids = np.arange(len(X)) if ids is None else np.asarray(ids)
    # seed the null shuffles apart from the reference shuffles of the same window
    with stage(progress, "null windows, null"):
        N = null_sequences(X, shuffles, seed=opts.seed + 1_000_003, kind=kind, ids=ids)
    nspecs = null_specs(specs, shuffles)
    # global ids of the null sequences (window i, shuffle j), offset so their reference
    # shuffles are not drawn with the same seeds as any real window's
    null_ids = (np.repeat(ids, shuffles) * shuffles + np.tile(np.arange(shuffles), len(ids))) + 10**9
    fis = score_sequences(model, N, nspecs, opts, scorer=scorer, ids=null_ids, epistasis=False, progress=progress,
                          kind="null").fis
    fis["shuffle"] = fis["seq"] % shuffles
    fis["seq"] = fis["seq"] // shuffles
    return fis


def score_random_source(model: SequenceModel, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions,
                        null: "NullOptions", *, scorer=None, ids=None, progress: Progress | None = None) -> ShardScores:
    """Observed scores and the random-source null (:mod:`dfim.null`) in one pass.

    The segments are extra sources of the same windows, scored with the observed ones,
    so the originals' scores are computed once and shared.
    """
    segs, table = segment_specs(specs, X.shape[1], segments=null.segments, stride=null.stride)
    if opts.strategy == "alt":  # variants: each segment base gets a transition, the commonest SNV
        segs = MutationSpecs([replace(r, alt=transition_alleles(X[int(r.seq), r.mut_start:r.mut_end])) for r in segs])
    n = len(specs)
    # scoring time is proportional to the sequences scored: originals, sources, segments
    log.info("random-source null: %d segment mutants beside %d windows and %d sources (%.0f %% of the sequences "
             "scored)", len(segs), len(X), n, 100 * len(segs) / max(1, len(X) + n + len(segs)))
    both = score_sequences(model, X, MutationSpecs(list(specs) + list(segs)), opts, scorer=scorer, ids=ids,
                           epistasis=n, progress=progress, null_from=n)
    fis, key = both.fis, both.key
    observed = fis["spec"].to_numpy(int) < n
    m = int((key["spec"].to_numpy(int) < n).sum())  # mutants are made in spec order: observed ones first
    imp = both.mutant_importance
    scored = Scored(fis=fis[observed].reset_index(drop=True), delta=both.delta[:, :m], key=key.iloc[:m].copy(),
                    importance=both.importance, mutant_importance=Importance(imp.hyp[:, :m], imp.actual[:, :m],
                                                                             imp.tasks))
    with stage(progress, "null table, null"):
        table = segment_scores(table, fis[~observed])
    return ShardScores(scored, table)


def score_windows(model: SequenceModel, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions, *,
                  null: "NullOptions | None" = None, ids=None, progress: Progress | None = None) -> ShardScores:
    """Observed scores and the null of one set of windows (one shard job).

    The null's table: for ``random_source``, one row per (pair, segment) with the
    segment's FIS on the pair's target (:func:`dfim.null.segment_scores`); for the
    shuffled nulls, the FIS rows of the shuffled windows (:func:`score_null`).

    progress : a :class:`dfim.progress.Progress`: progress lines during the scoring
    passes, and the seconds of each stage (:meth:`dfim.progress.Progress.split_line`).
    """
    null = null or NullOptions()
    t0 = time.time()
    if not len(specs):  # no sources: importance only, and an empty null
        scored = score_sequences(model, X, specs, opts, ids=ids, progress=progress)
        if null.kind == "random_source":
            _, table = segment_specs(specs, model.length)
            return ShardScores(scored, segment_scores(table, pd.DataFrame(columns=list(FIS_COLUMNS))))
        return ShardScores(scored, score_null(model, X, specs, opts, shuffles=null.shuffles, kind=null.kind, ids=ids,
                                              progress=progress))
    with stage(progress, "scorer build"):  # translation and its check against the model's own output
        scorer = opts.scorer(model)
    with scorer:
        if null.kind == "random_source":
            res = score_random_source(model, X, specs, opts, null, scorer=scorer, ids=ids, progress=progress)
            log.info("observed maps and random-source null done (%.1f s)", time.time() - t0)
            return res
        scored = score_sequences(model, X, specs, opts, scorer=scorer, ids=ids, progress=progress)
        log.info("observed maps done (%.1f s)", time.time() - t0)
        shuffled = score_null(model, X, specs, opts, shuffles=null.shuffles, kind=null.kind, scorer=scorer, ids=ids,
                              progress=progress)
        log.info("null maps done (%.1f s)", time.time() - t0)
    return ShardScores(scored, shuffled)


def run_dfim(model, X: np.ndarray, specs: MutationSpecs, opts: ScoringOptions | None = None, *,
             null: NullOptions | None = None, test=None):
    """Observed FIS with p- and q-values, in one call (for notebooks and small jobs).

    opts, null, test : :class:`ScoringOptions`, :class:`NullOptions` and
    :class:`dfim.calls.TestOptions`; their defaults are the workflow's.

    Returns ``(fis, null_table, scored)``: ``fis`` the FIS rows with ``pval`` and ``qval``
    columns (BH over each task's tested pairs; ``qval < 0.05`` is a call), ``null_table``
    the null's rows (:func:`score_windows`), and ``scored`` the :class:`Scored` of the
    originals (delta profiles, importance).
    """
    from .calls import TestOptions, add_pvalues

    if not isinstance(model, SequenceModel):
        model = load_model(model)
    null = null or NullOptions()
    res = score_windows(model, X, specs, opts or ScoringOptions(), null=null)
    fis = add_pvalues(res.scored.fis, res.null, null_kind=null.kind, test=test or TestOptions())
    return fis, res.null, res.scored

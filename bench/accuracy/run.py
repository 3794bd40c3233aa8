#!/usr/bin/env python
"""Accuracy and calibration benchmark of DFIM's interaction calls (issue #12).

    .venv/bin/python bench/accuracy/run.py                          # full benchmark (make bench-accuracy)
    .venv/bin/python bench/accuracy/run.py --quick --out /tmp/acc   # miniature, for the tests

1. Trains the model zoo (``controls.py``): three no-interaction controls (additive regression
   with a factorial design, the same without the "neither" class, the logistic-additive
   model) and two interacting models (AND, spacing), several seeds each.
2. On held-out windows, takes the planted motif instances as elements (every instance a
   source named by its label, every other instance of the window a target) and scores
   them with the product (``dfim.pipeline.score_windows``) under the random-source null and
   under the 2018 dinucleotide-shuffled null.
3. Calls pairs with the product's tests (``dfim.calls.add_pvalues``, ``pair_pvalues``) for
   each candidate (random-source null with and without the minimal effect δ; the 2018 null
   with and without δ) and measures them against the model truth (``truth.py``: double-mutant
   epistasis relative to the larger single-mutant effect) and against the designed grammar.
4. Pure-noise control: i.i.d. windows with random elements (observed and null exchangeable).
5. Writes ``accuracy.md`` and ``accuracy_*.png`` into ``--out`` (default ``bench/results``),
   plus ``accuracy_rows.csv`` (every metric of every model × seed × candidate) and
   ``accuracy_models.csv`` (per model × seed: training, AUROC, checks, timings).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import controls  # noqa: E402
import grammars  # noqa: E402
import metrics  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import truth  # noqa: E402
from epistasis import double_mutant_epistasis  # noqa: E402
from pairs import instance_specs  # noqa: E402

Q = metrics.Q_CUTOFF


@dataclass(frozen=True)
class Candidate:
    """One calling procedure: a null (how it is scored) and the test's options."""

    key: str
    label: str
    null_kind: str           # "random_source" or "dinuc"
    min_effect: float        # δ of the instance-level test (units of the window scale)
    pair_min_effect: float   # δ of the pair-level test
    reference: str = "shuffle"   # importance.reference (the FIS themselves change with it)
    segments: int | None = None  # random-source K; None: the settings' value

    def scoring(self, settings) -> tuple:
        """What has to be scored for this candidate (candidates that share it share one scoring)."""
        k = (self.segments or settings.segments) if self.null_kind == "random_source" else settings.shuffles
        return (self.null_kind, self.reference, k)

    def test_options(self):
        from dfim.calls import TestOptions

        return dataclasses.replace(TestOptions(), min_effect=self.min_effect, pair_min_effect=self.pair_min_effect)


CANDIDATES = [
    Candidate("rs", "random-source null, δ 0.01, 10 shuffled references", "random_source", 0.01, 0.02),
    Candidate("rs0", "random-source null, δ 0", "random_source", 0.0, 0.0),
    Candidate("sh0", "2018 shuffled null, no δ, 10 shuffled references (previous default)", "dinuc", 0.0, 0.0),
    Candidate("sh", "2018 shuffled null, δ 0.01", "dinuc", 0.01, 0.02),
    Candidate("rsgc", "random-source null, δ 0.01, GC reference (new default)", "random_source", 0.01, 0.02,
              reference="gc"),
    Candidate("rsgc5", "random-source null (K 5), δ 0.01, GC reference", "random_source", 0.01, 0.02,
              reference="gc", segments=5),
]
DEFAULT = "rsgc"
PREVIOUS = "sh0"
#: the random-source candidate with the previous default's references: its null's cost is the
#: difference to the previous default's observed time (same specs, references and double mutants)
SAME_REFS = "rs"
DEFAULT_CANDIDATE = next(c for c in CANDIDATES if c.key == DEFAULT)
PREVIOUS_CANDIDATE = next(c for c in CANDIDATES if c.key == PREVIOUS)
SAME_REFS_CANDIDATE = next(c for c in CANDIDATES if c.key == SAME_REFS)


@dataclass
class Settings:
    """Sizes that differ between the full benchmark and ``--quick``."""

    models: list            # model names of controls.ZOO
    seeds: tuple
    n_train: int            # simulated windows per model (10 % held out)
    epochs: int | None      # None: each model's own (controls.ZOO)
    max_windows: int        # scored held-out windows per model and seed
    n_refs: int
    segments: int           # random-source null: K segments per pair
    stride: int
    shuffles: int           # 2018 null: shuffled copies per window
    noise_models: tuple     # (model, seed) pairs the pure-noise control is scored under
    noise_windows: int
    sweep: tuple = ()       # other (backend, method, reference) ranked on AND and spacing (observed FIS only)


FULL = Settings(models=[m.name for m in controls.ZOO], seeds=(1, 2, 3), n_train=8000, epochs=None, max_windows=200,
                n_refs=10, segments=10, stride=3, shuffles=10,
                noise_models=(("and", 1), ("spacing", 1), ("reg_fact", 1)), noise_windows=150,
                sweep=(("native", "deeplift", "shuffle"), ("native", "rescale", "shuffle"), ("native", "grad_x_input", "gc"),
                       ("native", "grad_x_input", "shuffle")))
QUICK = Settings(models=["reg_fact", "and"], seeds=(1,), n_train=400, epochs=2, max_windows=10, n_refs=2, segments=10,
                 stride=3, shuffles=3, noise_models=(("and", 1),), noise_windows=6,
                 sweep=(("native", "deeplift", "shuffle"),))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class _Capture(logging.Handler):
    """Keeps the dfim logger's messages (score_windows logs when the observed and the null maps are done)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _split_times(messages, total):
    """(observed s, null s) from score_windows' log lines "observed maps done (x s)" / "null maps done (y s)"
    (the shuffled nulls). The random-source null is scored in the same pass as the observed sources, so its
    log has one line: (NaN, NaN), and :func:`run_model` splits it with the observed time of the other call."""
    obs = [float(m) for msg in messages for m in re.findall(r"^observed maps done \(([\d.]+) s\)", msg)]
    nul = [float(m) for msg in messages for m in re.findall(r"^null maps done \(([\d.]+) s\)", msg)]
    if obs and nul:
        return obs[-1], max(nul[-1] - obs[-1], 0.0)
    return np.nan, np.nan


def score(model, X, specs, ids, scoring: tuple, settings: Settings) -> dict:
    """The product's shard scoring of the windows under one (null kind, reference, K); times the observed and
    the null part."""
    from dfim.pipeline import NullOptions, ScoringOptions, score_windows

    null_kind, reference, k = scoring
    opts = ScoringOptions(method="deeplift", backend="native", reference=reference, n_refs=settings.n_refs,
                          strategy="gc", gc=grammars.GC)
    if null_kind == "random_source":
        null = NullOptions(kind="random_source", segments=k, stride=settings.stride)
    else:
        null = NullOptions(kind=null_kind, shuffles=k)
    cap = _Capture()
    lg = logging.getLogger("dfim")
    old_level = lg.level
    lg.setLevel(logging.INFO)
    lg.addHandler(cap)
    try:
        t = time.perf_counter()
        res = score_windows(model, X, specs, opts, null=null, ids=ids)
        total = time.perf_counter() - t
    finally:
        lg.removeHandler(cap)
        lg.setLevel(old_level)
    t_obs, t_null = _split_times(cap.messages, total)
    return dict(fis=res.scored.fis, null=res.null, seconds=total, t_obs=t_obs, t_null=t_null, null_obj=null)


def null_mutants_per_window(kind: str, null: pd.DataFrame, specs, n_windows: int, shuffles: int) -> float:
    """Sequences the null scores per window: distinct segment mutants (random source) or
    shuffles × (1 + sources) (2018 null)."""
    if kind == "random_source":
        seg = null.assign(width=null["mut_end"] - null["mut_start"])[["seq", "segment_start", "width"]]
        return len(seg.drop_duplicates()) / max(n_windows, 1)
    return shuffles * (1 + len(specs) / max(n_windows, 1))


def call_rates(f: pd.DataFrame, q: np.ndarray) -> dict:
    """Share of each class called at q < 0.05 (NaN when the class is empty) and class sizes."""
    c = q < Q
    out = {}
    for col, name in [("truth_nonint", "nonint"), ("truth_int", "int"), ("design_int", "design_int"),
                      ("design_nonint", "design_nonint"), ("dis_tgt", "dis_tgt"), ("dis_pair", "dis_pair")]:
        m = f[col].to_numpy(bool)
        out[f"{name}_called"] = float(np.mean(c[m])) if m.any() else np.nan
        out[f"n_{name}"] = int(m.sum())
    m = f["truth_int"].to_numpy(bool) & f["design_int"].to_numpy(bool)
    out["int_design_called"] = float(np.mean(c[m])) if m.any() else np.nan
    out["n_int_design"] = int(m.sum())
    m = f["truth_strong"].to_numpy(bool)
    out["int_strong_called"] = float(np.mean(c[m])) if m.any() else np.nan
    out["n_int_strong"] = int(m.sum())
    m = f["truth_int"].to_numpy(bool) & ~f["truth_strong"].to_numpy(bool)
    out["int_weak_called"] = float(np.mean(c[m])) if m.any() else np.nan
    out["n_int_weak"] = int(m.sum())
    m = f["truth_int"].to_numpy(bool) & ~f["design_int"].to_numpy(bool)
    out["int_other_called"] = float(np.mean(c[m])) if m.any() else np.nan
    out["n_int_other"] = int(m.sum())
    out["n_called"] = int(c.sum())
    return out


def evaluate(f: pd.DataFrame, scored: dict, spec, cands, settings) -> tuple[list, dict, dict]:
    """Metrics of every candidate on one model × seed; also the p-values and pair tables."""
    from dfim.calls import add_pvalues, pair_pvalues

    rows, pvals, pair_tables = [], {}, {}
    key = ["task", "seq", "mut_start", "resp_start"]
    for c in cands:
        s = scored[c.scoring(settings)]
        t = time.perf_counter()
        test = c.test_options()
        called = add_pvalues(s["fis"], s["null"], null_kind=c.null_kind, test=test, seq_col="seq")
        pairs = pair_pvalues(called, s["null"], null_kind=c.null_kind, test=test, seq_col="seq")
        t_test = time.perf_counter() - t
        m = f[key].merge(called[key + ["pval", "qval"]], on=key, how="left", validate="one_to_one")
        p, q = m["pval"].to_numpy(float), m["qval"].to_numpy(float)
        if np.isnan(p).any():
            raise RuntimeError(f"{c.key}: {int(np.isnan(p).sum())} pairs without a p-value")
        pvals[c.key] = (p, q)
        dis = set(spec.distractors) if spec is not None else None
        pt = pairs.copy()
        src, tgt = pt["mut_name"].astype(str), pt["resp_name"].astype(str)
        pt["dis_pair"] = src.isin(dis).to_numpy() & tgt.isin(dis).to_numpy() if dis is not None else True
        if spec is not None:
            gm = set(spec.motifs)
            pt["grammar_pair"] = (src.isin(gm) & tgt.isin(gm) & (src != tgt)).to_numpy()
        else:
            pt["grammar_pair"] = False
        pair_tables[c.key] = pt
        r = dict(candidate=c.key, **call_rates(f, q), frac_p05=float(np.mean(p < 0.05)), frac_p01=float(np.mean(p < 0.01)),
                 **{f"frac_p05_{k}": float(np.mean(p[m] < 0.05)) if m.any() else np.nan
                    for k, m in (("nonint", f["truth_nonint"].to_numpy(bool)), ("int", f["truth_int"].to_numpy(bool)))},
                 ks=metrics.ks_uniform(p), ks_p=metrics.ks_pvalue(p), min_p=float(np.min(p)), n_pairs=len(f),
                 pair_n=len(pt), pair_dis_n=int(pt["dis_pair"].sum()),
                 pair_dis_called=int(((pt["qval"] < Q) & pt["dis_pair"]).sum()),
                 pair_grammar_n=int(pt["grammar_pair"].sum()),
                 pair_grammar_called=int(((pt["qval"] < Q) & pt["grammar_pair"]).sum()),
                 pair_other_called=int(((pt["qval"] < Q) & ~pt["dis_pair"] & ~pt["grammar_pair"]).sum()),
                 pair_other_n=int((~pt["dis_pair"] & ~pt["grammar_pair"]).sum()),
                 pair_dis_min_q=float(pt.loc[pt["dis_pair"], "qval"].min()) if pt["dis_pair"].any() else np.nan,
                 test_seconds=t_test)
        rows.append(r)
    return rows, pvals, pair_tables


def noise_specs(n: int, length: int, k: int, width: int, seed: int):
    """``k`` non-overlapping elements of ``width`` at arbitrary starts per window, named E1..Ek by position."""
    from dfim.specs import MutationSpecs, Source

    specs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, 7])
        while True:
            starts = np.sort(rng.choice(length - width + 1, size=k, replace=False))
            if np.all(np.diff(starts) >= width):
                break
        starts = [int(s) for s in starts]
        names = {s: f"E{j + 1}" for j, s in enumerate(starts)}
        for s in starts:
            others = [t for t in starts if t != s]
            specs.append(Source(key=f"noise{i}:{s}", seq=i, mut_start=s, mut_end=s + width, mut_name=names[s],
                                resp_start=tuple(others), resp_end=tuple(t + width for t in others),
                                resp_names=tuple(names[t] for t in others)))
    return MutationSpecs(specs)


NOISE_ELEMENTS = 4  # random 12-bp elements per pure-noise window


def noise_windows(settings: Settings):
    """The pure-noise windows: ``(X, specs, ids)``, i.i.d. GC-0.46 bases with :data:`NOISE_ELEMENTS`
    random 12-bp elements each (seeded: the same windows in every run)."""
    n, L = settings.noise_windows, grammars.LENGTH
    rng = np.random.default_rng(99)
    bg = np.array([(1 - grammars.GC) / 2, grammars.GC / 2, grammars.GC / 2, (1 - grammars.GC) / 2])
    X = np.eye(4, dtype=np.float32)[rng.choice(4, size=(n, L), p=bg)]
    return X, noise_specs(n, L, NOISE_ELEMENTS, 12, 99), np.arange(n) + 10**6


def noise_control(model, settings: Settings, model_name: str, seed: int, timings: dict) -> tuple[list, dict]:
    """Pure noise: i.i.d. GC-0.46 windows, 4 random 12-bp elements each; nothing distinguishes an element
    from any other segment, so observed and null are exchangeable."""
    X, specs, ids = noise_windows(settings)
    n, k = len(X), NOISE_ELEMENTS
    scored = {}
    for sc in sorted({c.scoring(settings) for c in CANDIDATES}):
        scored[sc] = score(model, X, specs, ids, sc, settings)
        timings[f"noise under {model_name} s{seed}: score ({' '.join(map(str, sc))})"] = scored[sc]["seconds"]
    f = truth.annotate(scored[DEFAULT_CANDIDATE.scoring(settings)]["fis"], grammar_pair=("-", "-"), control=True,
                       distractors=[f"E{j + 1}" for j in range(k)])
    rows, pvals, _ = evaluate(f, scored, None, CANDIDATES, settings)
    for r in rows:
        r.update(model=f"noise ({model_name})", seed=seed, n_windows=n)
    return rows, pvals


def roc(truth_mask, score):
    fpr, tpr, auc = metrics.roc_curve(truth_mask, score)
    return fpr, tpr, auc


def method_sweep(model, X, specs, ids, f, y, settings, timings, tag) -> list:
    """AUROC (designed interacting pairs vs all others) and Spearman with |e| of other importance methods
    (observed FIS only, no null); the default's row comes from the main scoring."""
    from dfim.pipeline import ScoringOptions, score_sequences

    e = np.abs(f["e"].to_numpy(float))
    ref = DEFAULT_CANDIDATE.reference
    out = [dict(method=f"deeplift [native, ref {ref if ref != 'shuffle' else f'shuffle×{settings.n_refs}'}] (default)",
                auroc=metrics.roc_curve(y, f["score"].to_numpy(float))[2],
                spearman=metrics.spearman(f["score"].to_numpy(float), e))]
    key = ["task", "seq", "mut_start", "resp_start"]
    for backend, method, ref in settings.sweep:
        opts = ScoringOptions(method=method, backend=backend, reference=ref, n_refs=settings.n_refs, strategy="gc",
                              gc=grammars.GC)
        t = time.perf_counter()
        fis = score_sequences(model, X, specs, opts, ids=ids, epistasis=False).fis
        timings[f"{tag}: {method} [{backend}, ref {ref}] observed"] = time.perf_counter() - t
        sc = f[key].merge(fis[key + ["score"]], on=key, how="left", validate="one_to_one")["score"].to_numpy(float)
        out.append(dict(method=f"{method} [{backend}, ref {ref}]", auroc=metrics.roc_curve(y, sc)[2],
                        spearman=metrics.spearman(sc, e)))
    out.append(dict(method="ISM epistasis, absolute (double mutants)", auroc=metrics.roc_curve(y, e)[2], spearman=np.nan))
    return out


def trained_model(spec, seed, settings, motifs, model_dir, timings=None):
    """Simulate and train one model × seed of the zoo and load it; its scored held-out windows (the first
    ``max_windows`` with at least two instances). Returns ``(model, training info, specs, used, X)``."""
    from dfim.models import load_model

    t = time.perf_counter()
    sim = controls.simulate(spec, seed, settings.n_train, motifs)
    path = model_dir / f"{spec.name}_s{seed}.h5"
    tr = controls.train(spec, seed, sim, path, epochs=settings.epochs)
    if timings is not None:
        timings[f"{spec.name} s{seed}: simulate + train"] = time.perf_counter() - t
    model = load_model(path)
    specs, _, used = instance_specs(sim.instances, controls.eval_rows(spec, sim, tr["test_index"]))
    if len(used) > settings.max_windows:
        specs, _, used = instance_specs(sim.instances, used[: settings.max_windows])
    return model, tr, specs, used, sim.X[used]


def run_model(spec, seed, settings, motifs, model_dir, timings):
    """Train, score and evaluate one model × seed. Returns a dict for the report."""
    model, tr, specs, used, X = trained_model(spec, seed, settings, motifs, model_dir, timings)
    log(f"{spec.name} s{seed}: {tr['quality']} (trained in {tr['seconds']:.0f} s, {tr['attempts']} attempt(s)); "
        f"{len(used)} windows, {len(specs)} sources")
    # warm-up (scorer build, tracing) on two windows so that neither timed call pays it
    score(model, X[:2], specs.for_windows(range(2)) if hasattr(specs, "for_windows") else
          type(specs)([s for s in specs if s.seq < 2]), used[:2], ("dinuc", "shuffle", 1), settings)
    scored = {}
    for sc in sorted({c.scoring(settings) for c in CANDIDATES}):
        scored[sc] = score(model, X, specs, used, sc, settings)
        name = " ".join(map(str, sc))
        timings[f"{spec.name} s{seed}: score ({name} null)"] = scored[sc]["seconds"]
        log(f"{spec.name} s{seed}: {name}: {scored[sc]['seconds']:.1f} s (observed {scored[sc]['t_obs']:.1f}, "
            f"null {scored[sc]['t_null']:.1f})")
    # the observed work is the same in both calls: the random-source null's time is its call's total minus the
    # observed time of the shuffled-null call (same specs, references and double mutants)
    rs, sh = scored[SAME_REFS_CANDIDATE.scoring(settings)], scored[PREVIOUS_CANDIDATE.scoring(settings)]
    rs["t_obs"], rs["t_null"] = sh["t_obs"], max(rs["seconds"] - sh["t_obs"], 0.0)
    fis = scored[DEFAULT_CANDIDATE.scoring(settings)]["fis"]
    # the observed scores do not depend on the null: both calls with the same references must agree
    a = rs["fis"].sort_values(["seq", "mut_start", "resp_start"])["score"].to_numpy(float)
    b = sh["fis"].sort_values(["seq", "mut_start", "resp_start"])["score"].to_numpy(float)
    obs_diff = float(np.max(np.abs(a - b))) if len(a) else 0.0
    f = truth.annotate(fis, grammar_pair=tuple(spec.motifs), distractors=spec.distractors,
                       spacing=spec.name == "spacing", max_gap=grammars.MAX_GAP, control=spec.control)
    # the product's ism_epistasis against the benchmark's own double mutants (bench/accuracy/epistasis.py)
    pt = f.rename(columns={"mut_start": "src_start", "resp_start": "tgt_start"})
    epi_bench = double_mutant_epistasis(model, X, specs, pt, gc=grammars.GC)
    epi_diff = float(np.max(np.abs(epi_bench - f["e"].to_numpy(float)))) if len(f) else 0.0
    rows_, pvals, pair_tables = evaluate(f, scored, spec, CANDIDATES, settings)
    aucs, sweep = {}, []
    if f["design_int"].any() and (~f["design_int"]).any():
        y = f["design_int"].to_numpy(bool)
        aucs["fis"] = roc(y, f["score"].to_numpy(float))
        aucs["ism"] = roc(y, np.abs(f["e"].to_numpy(float)))
        sweep = method_sweep(model, X, specs, used, f, y, settings, timings, f"{spec.name} s{seed}")
        for r in sweep:
            r.update(model=spec.name, seed=seed)
    info = dict(model=spec.name, seed=seed, quality=tr["quality"], attempts=tr["attempts"], epochs=tr["epochs"],
                train_seconds=tr["seconds"], n_windows=len(used), n_sources=len(specs), n_pairs=len(f),
                obs_diff=obs_diff, epi_diff=epi_diff,
                auroc_fis=aucs["fis"][2] if aucs else np.nan, auroc_ism=aucs["ism"][2] if aucs else np.nan,
                spearman_fis_ism=metrics.spearman(f["score"].to_numpy(float), np.abs(f["e"].to_numpy(float))))
    for sc, s in scored.items():
        # the default's and the previous default's scorings keep the plain null-kind names the report reads
        kind = {SAME_REFS_CANDIDATE.scoring(settings): "random_source",
                PREVIOUS_CANDIDATE.scoring(settings): "dinuc"}.get(sc, "_".join(map(str, sc)))
        info[f"seconds_{kind}"] = s["seconds"]
        info[f"t_obs_{kind}"] = s["t_obs"]
        info[f"t_null_{kind}"] = s["t_null"]
        info[f"mutants_{kind}"] = null_mutants_per_window(sc[0], s["null"], specs, len(used), sc[2])
    for r in rows_:
        r.update(model=spec.name, seed=seed)
    return dict(info=info, rows=rows_, pvals=pvals, pairs=pair_tables, table=f, aucs=aucs, model=model, sweep=sweep)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="miniature run (2 models, 1 seed, few windows, 2 epochs) to keep the script working")
    ap.add_argument("--out", default=str(HERE.parent / "results"),
                    help="folder for accuracy.md and the accuracy_*.png plots (default: bench/results)")
    ap.add_argument("--models", default=None, help="folder to keep the trained models (.h5); default: a temporary one")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default: 1,2,3; --quick: 1)")
    ap.add_argument("--only", default=None, help="comma-separated model names (default: the whole zoo)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    settings = QUICK if args.quick else FULL
    if args.seeds:
        settings = dataclasses.replace(settings, seeds=tuple(int(s) for s in args.seeds.split(",")))
    if args.only:
        settings = dataclasses.replace(settings, models=args.only.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    motifs = grammars.load_motifs()
    timings: dict[str, float] = {}
    tmp = tempfile.TemporaryDirectory(prefix="dfim_accuracy_")
    model_dir = Path(args.models) if args.models else Path(tmp.name)
    model_dir.mkdir(parents=True, exist_ok=True)

    results = {}
    for seed in settings.seeds:
        for name in settings.models:
            results[(name, seed)] = run_model(controls.BY_NAME[name], seed, settings, motifs, model_dir, timings)
    noise_rows, noise_pvals = [], {}
    for name, seed in settings.noise_models:
        if (name, seed) not in results:
            continue
        rows, pv = noise_control(results[(name, seed)]["model"], settings, name, seed, timings)
        noise_rows += rows
        noise_pvals[(name, seed)] = pv
        log(f"noise under {name} s{seed}: " + ", ".join(f"{r['candidate']} p<0.05 {r['frac_p05']:.3f}" for r in rows))

    import plots
    import report

    rows = pd.DataFrame([r for res in results.values() for r in res["rows"]] + noise_rows)
    info = pd.DataFrame([res["info"] for res in results.values()])
    rows.to_csv(out / "accuracy_rows.csv", index=False, float_format="%.5g")
    info.to_csv(out / "accuracy_models.csv", index=False, float_format="%.5g")
    figs = plots.write_all(out, results, noise_pvals, rows, CANDIDATES, DEFAULT, PREVIOUS)
    total = time.perf_counter() - t_start
    md = report.write(out / "accuracy.md", argv=sys.argv if argv is None else ["bench/accuracy/run.py", *argv],
                      quick=args.quick, settings=settings, motifs=motifs, info=info, rows=rows, results=results,
                      candidates=CANDIDATES, default=DEFAULT, previous=PREVIOUS, timings=timings, total=total,
                      figures=figs)
    tmp.cleanup()
    log(f"wrote {md} in {total:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

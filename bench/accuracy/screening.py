#!/usr/bin/env python
"""Experiment (issue #12): are the random-source null's segments themselves interacting, and does
dropping the interacting ones help?

    .venv/bin/python bench/accuracy/screening.py              # writes bench/results/screening.md

For models of the accuracy zoo (``run.py``'s training, scoring and model truth), every pair is
scored once with a pool of 40 segments per pair (``segment_specs(segments=40)``; its first 10 are
the default's picks). For each (pair, segment) the segment's own double-mutant epistasis with the
pair's target is computed from four forward passes, e = f(x) − f(x_seg) − f(x_t) + f(x_seg,t),
relative to max(|f(x) − f(x_seg)|, |f(x) − f(x_t)|) as in ``truth.py``. The test is then rerun
with, per pair, the 10 closest segments whose relative epistasis is below τ (τ = ∞: the shipped test).
The pure-noise windows are scored the same way, and their p-values under the default are split
by the pairs' model-truth class.

This is an experiment, not a candidate of ``make bench-accuracy``: it needs the model's forward
passes to choose the null, which the product does not do.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import controls  # noqa: E402
import grammars  # noqa: E402
import run  # noqa: E402
import truth  # noqa: E402

POOL = 40
K = 10
TAUS = (np.inf, 0.3, 0.1, 0.03)  # inf: no screening, the shipped test
PAIR = ["task", "seq", "mut_start", "mut_end", "resp_start", "resp_end"]


def segment_epistasis(model, X, null: pd.DataFrame, gc: float) -> pd.DataFrame:
    """``null`` with ``e_seg`` and ``rel_seg``: each segment's double-mutant epistasis with its pair's target."""
    from dfim.sequences import gc_background

    bg = gc_background(gc)
    null = null.assign(width=(null["mut_end"] - null["mut_start"]).to_numpy(int))

    def logits(rows, spans):
        x = X[rows["seq"].to_numpy(int)].copy()
        for i, r in enumerate(rows.itertuples(index=False)):
            for a, b in spans(r):
                x[i, a:b] = bg
        return model.logits(x.astype(np.float32), 256)[:, 0]

    seg = null[["seq", "segment_start", "width"]].drop_duplicates()
    seg = seg.assign(f_seg=logits(seg, lambda r: [(r.segment_start, r.segment_start + r.width)]))
    tgt = null[["seq", "resp_start", "resp_end"]].drop_duplicates()
    tgt = tgt.assign(f_tgt=logits(tgt, lambda r: [(r.resp_start, r.resp_end)]))
    dbl = null[["seq", "segment_start", "width", "resp_start", "resp_end"]].drop_duplicates()
    dbl = dbl.assign(f_dbl=logits(dbl, lambda r: [(r.segment_start, r.segment_start + r.width),
                                                   (r.resp_start, r.resp_end)]))
    f0 = model.logits(X.astype(np.float32), 256)[:, 0]
    out = (null.merge(seg, on=["seq", "segment_start", "width"]).merge(tgt, on=["seq", "resp_start", "resp_end"])
           .merge(dbl, on=["seq", "segment_start", "width", "resp_start", "resp_end"]))
    f = f0[out["seq"].to_numpy(int)]
    out["e_seg"] = f - out["f_seg"] - out["f_tgt"] + out["f_dbl"]
    m = np.maximum(np.abs(f - out["f_seg"]), np.abs(f - out["f_tgt"]))
    out["rel_seg"] = np.abs(out["e_seg"]) / np.maximum(m, 1e-12)
    return out


def called(f: pd.DataFrame, null: pd.DataFrame, tau: float) -> pd.DataFrame:
    """The product's test (``dfim.calls.add_pvalues``, shipped options) with each pair's K closest segments
    whose relative epistasis is below ``tau``: ``f`` with ``pval`` and ``qval``."""
    from dfim.calls import add_pvalues

    keep = null[(null["rel_seg"] < tau) | (tau == np.inf)].sort_values(PAIR + ["k"], kind="stable").copy()
    keep["k"] = keep.groupby(PAIR).cumcount()
    return add_pvalues(f, keep[keep["k"] < K], null_kind="random_source", seq_col="seq")


def rankings(f: pd.DataFrame, null: pd.DataFrame) -> dict:
    """AUROC (designed interacting pairs against all others) of FIS, FIS / window scale, the test's excess
    statistic, FIS minus the segments' median, and |ISM epistasis|; empty for models without a design."""
    import metrics
    from dfim.calls import segment_matrix, window_scale
    from dfim.stats import excess_statistics

    y = f["design_int"].to_numpy(bool)
    if not y.any() or y.all():
        return {}
    R = segment_matrix(f, null[null["k"] < K], "seq")
    S = window_scale(f, 0.1, "seq")
    F = f["score"].to_numpy(float)
    u, _ = excess_statistics(F, R, S, min_effect=0.01)
    auc = lambda s: metrics.roc_curve(y, s)[2]  # noqa: E731
    return {"auc FIS": auc(F), "auc FIS / scale": auc(F / S), "auc excess u": auc(u),
            "auc FIS − median segment": auc(F - np.nanmedian(R, 1)), "auc abs ISM epistasis": auc(np.abs(f["e"]))}


def score_pool(model, X, specs, ids, settings):
    return run.score(model, X, specs, ids, ("random_source", "gc", POOL), settings)


def model_rows(name, seed, settings, motifs, tmp) -> tuple[list, pd.DataFrame, object]:
    spec = controls.BY_NAME[name]
    model, tr, specs, used, X = run.trained_model(spec, seed, settings, motifs, tmp)
    s = score_pool(model, X, specs, used, settings)
    f = truth.annotate(s["fis"], grammar_pair=tuple(spec.motifs), distractors=spec.distractors,
                       spacing=name == "spacing", max_gap=grammars.MAX_GAP, control=spec.control).reset_index(drop=True)
    null = segment_epistasis(model, X, s["null"], grammars.GC)
    first = null[null["k"] < K].merge(f[PAIR + ["truth_int", "design_int"]], on=PAIR)
    seg_info = dict(model=name, seed=seed,
                    seg_int_designed=float(np.mean(first.loc[first["design_int"] & first["truth_int"], "rel_seg"] > 0.3)),
                    seg_int_other=float(np.mean(first.loc[~first["design_int"] & first["truth_int"], "rel_seg"] > 0.3)))
    rows = []
    seg_info.update(rankings(f, null))
    for tau in TAUS:
        c = called(f, null, tau)["qval"].to_numpy(float) < 0.05

        def rate(m):
            m = m.to_numpy(bool)
            return float(np.mean(c[m])) if m.any() else np.nan

        rows.append(dict(model=name, seed=seed, tau=tau, nonint=rate(f["truth_nonint"]), int=rate(f["truth_int"]),
                         ab_int=rate(f["truth_int"] & f["design_int"]), dis_tgt=rate(f["dis_tgt"])))
    run.log(f"{name} s{seed}: {tr['quality']}; {len(f)} pairs")
    return rows, seg_info, model


def noise_rows(model, name, seed, settings) -> tuple[list, list]:
    X, specs, ids = run.noise_windows(settings)  # the windows of run.noise_control
    s = score_pool(model, X, specs, ids, settings)
    f = truth.annotate(s["fis"], grammar_pair=("-", "-"), control=True,
                       distractors=[f"E{j + 1}" for j in range(run.NOISE_ELEMENTS)]).reset_index(drop=True)
    null = segment_epistasis(model, X, s["null"], grammars.GC)
    rows, classes = [], []
    for tau in TAUS:
        c = called(f, null, tau)
        p = c["pval"].to_numpy(float)
        rows.append(dict(model=f"noise ({name})", seed=seed, tau=tau, p05=float(np.mean(p < 0.05)),
                         p01=float(np.mean(p < 0.01)), calls=int((c["qval"] < 0.05).sum())))
        if tau == np.inf:
            for lab, m in [("all", np.ones(len(f), bool)), ("model-truth non-interacting", f["truth_nonint"]),
                           ("neither class", ~f["truth_int"] & ~f["truth_nonint"]),
                           ("model-truth interacting", f["truth_int"])]:
                m = np.asarray(m, bool)
                classes.append(dict(model=f"noise ({name})", seed=seed, cls=lab, n=int(m.sum()),
                                    p05=float(np.mean(p[m] < 0.05)), p01=float(np.mean(p[m] < 0.01))))
    return rows, classes


def write(out: Path, rows, segs, nrows, classes, minutes: float, argv) -> None:
    pct = lambda x: "—" if not np.isfinite(x) else f"{100 * x:.1f}"  # noqa: E731
    tau_s = lambda t: "∞ (shipped)" if t == np.inf else f"{t:g}"  # noqa: E731
    cmd = " ".join([".venv/bin/python bench/accuracy/screening.py", *argv])
    L = ["# Screening the random-source null by the segments' own epistasis (experiment, issue #12)", "",
         f"Command: `{cmd}`, {time.strftime('%Y-%m-%d')}, {minutes:.0f} min; what is computed: the script's "
         "docstring. τ = ∞ is the shipped test; a smaller τ drops, per pair, the segments whose own relative "
         "epistasis with the target is τ or more and takes the 10 closest of the rest (of a pool of 40).", "",
         "## Are the default's segments interacting with the target?", "",
         "Share of the default's 10 segments per pair whose own double-mutant epistasis with the pair's target is "
         "> 30 % (the model truth's *interacting*), among the segments of model-truth interacting pairs.", "",
         "| model | seed | designed pairs' segments (%) | other pairs' segments (%) |", "|---|---|---|---|"]
    for s in segs:
        L.append(f"| {s['model']} | {s['seed']} | {pct(s['seg_int_designed'])} | {pct(s['seg_int_other'])} |")
    ranked = [s for s in segs if "auc FIS" in s]
    if ranked:
        keys = [k for k in ranked[0] if k.startswith("auc ")]
        L += ["", "## Ranking the designed pairs (AUROC against all other pairs)", "",
              "| model | seed | " + " | ".join(k[4:] for k in keys) + " |", "|---|---|" + "---|" * len(keys)]
        for s in ranked:
            L.append(f"| {s['model']} | {s['seed']} | " + " | ".join(f"{s[k]:.4f}" for k in keys) + " |")
    L += ["", "## Calls with screened segments (% at q < 0.05)", "",
          "| model | seed | τ | model-truth non-int | model-truth int | designed ∩ int | target label-independent |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {r['model']} | {r['seed']} | {tau_s(r['tau'])} | {pct(r['nonint'])} | {pct(r['int'])} | "
                 f"{pct(r['ab_int'])} | {pct(r['dis_tgt'])} |")
    L += ["", "## Pure noise with screened segments", "", "| scored under | τ | p < 0.05 | p < 0.01 | calls q < 0.05 |",
          "|---|---|---|---|---|"]
    for r in nrows:
        L.append(f"| {r['model']} s{r['seed']} | {tau_s(r['tau'])} | {r['p05']:.3f} | {r['p01']:.3f} | {r['calls']} |")
    L += ["", "## Pure noise under the shipped test, by the pairs' model-truth class", "",
          "| scored under | class | pairs | p < 0.05 | p < 0.01 |", "|---|---|---|---|---|"]
    for c in classes:
        L.append(f"| {c['model']} s{c['seed']} | {c['cls']} | {c['n']} | {c['p05']:.3f} | {c['p01']:.3f} |")
    out.write_text("\n".join(L) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="and:1,and:2,spacing:1,spacing:3,reg_fact:1,reg_noneither:2",
                    help="model:seed list from the accuracy zoo")
    ap.add_argument("--noise", default="and:1,spacing:1", help="model:seed the pure-noise windows are scored under")
    ap.add_argument("--out", default=str(HERE.parent / "results" / "screening.md"))
    args = ap.parse_args(argv)
    import tempfile

    t0 = time.perf_counter()
    settings, motifs = run.FULL, grammars.load_motifs()
    wanted = [(m, int(s)) for m, s in (x.split(":") for x in args.models.split(","))]
    noise = {(m, int(s)) for m, s in (x.split(":") for x in args.noise.split(","))}
    rows, segs, nrows, classes = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="dfim_screening_") as tmp:
        for name, seed in wanted + sorted(noise - set(wanted)):
            r, s, model = model_rows(name, seed, settings, motifs, Path(tmp))
            if (name, seed) in wanted:
                rows += r
                segs.append(s)
            if (name, seed) in noise:
                a, b = noise_rows(model, name, seed, settings)
                nrows += a
                classes += b
    write(Path(args.out), rows, segs, nrows, classes, (time.perf_counter() - t0) / 60,
          sys.argv[1:] if argv is None else argv)
    run.log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

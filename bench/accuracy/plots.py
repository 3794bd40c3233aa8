"""Figures of the accuracy benchmark (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {"rs": "#1b9e77", "rs0": "#66c2a5", "sh0": "#d95f02", "sh": "#fc8d62", "rsgc": "#7570b3", "rsgc5": "#e7298a"}
MODEL_COLORS = {"reg_fact": "#1f77b4", "reg_noneither": "#17becf", "additive": "#9467bd", "and": "#d62728",
                "spacing": "#ff7f0e"}


def _bars(ax, rows, cands, col, models, target, title, ylabel):
    sub = rows[rows["model"].isin(models)]
    groups = sorted({(m, s) for m, s in sub[["model", "seed"]].itertuples(index=False)},
                    key=lambda t: (models.index(t[0]), t[1]))
    width = 0.8 / len(cands)
    x = np.arange(len(groups))
    for j, c in enumerate(cands):
        vals = []
        for m, s in groups:
            v = sub[(sub["model"] == m) & (sub["seed"] == s) & (sub["candidate"] == c.key)][col]
            vals.append(100 * float(v.iloc[0]) if len(v) and np.isfinite(v.iloc[0]) else np.nan)
        ax.bar(x + (j - (len(cands) - 1) / 2) * width, vals, width, label=c.label, color=COLORS.get(c.key))
    ax.axhline(target, color="k", ls="--", lw=1)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{m} s{s}" for m, s in groups], fontsize=7, rotation=35, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)


def plot_calls(path, rows, cands):
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw=dict(width_ratios=[5, 2]))
    _bars(axes[0], rows, cands, "nonint_called", ["reg_fact", "reg_noneither", "additive", "and", "spacing"], 5,
          "model-truth non-interacting pairs called (q < 0.05); target ≤ 5 % (dashed)", "% called")
    _bars(axes[1], rows, cands, "int_called", ["and", "spacing"], 90,
          "model-truth interacting pairs called; target ≥ 90 %", "% called")
    axes[1].set_ylim(0, 105)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_roc(path, results):
    names = [n for n in ("and", "spacing") if any(k[0] == n and v["aucs"] for k, v in results.items())]
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        for (m, s), res in sorted(results.items()):
            if m != name or not res["aucs"]:
                continue
            for k, ls in (("fis", "-"), ("ism", "--")):
                fpr, tpr, auc = res["aucs"][k]
                ax.plot(fpr, tpr, ls, lw=1.3, label=f"s{s} {'FIS' if k == 'fis' else '|ISM epistasis|'} "
                                                      f"(AUROC {auc:.3f})")
        ax.plot([0, 1], [0, 1], ":", color="grey", lw=1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title({"and": "AND: A–B vs all other pairs", "spacing": "spacing: A–B ≤ 20 bp vs all other pairs"}[name],
                     fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pvalues(path, results, noise_pvals, cands):
    """Histograms: pure noise (pooled over the models it was scored under) and the controls'
    model-truth non-interacting pairs, one panel per candidate."""
    panels = []
    for c in cands:
        p = [pv[c.key][0] for pv in noise_pvals.values()]
        if p:
            panels.append((f"pure noise\n{c.label}", np.concatenate(p)))
    for c in cands:
        p = [res["pvals"][c.key][0][res["table"]["truth_nonint"].to_numpy(bool)]
             for (m, _), res in results.items() if m in ("reg_fact", "reg_noneither", "additive")]
        p = [x for x in p if len(x)]
        if p:
            panels.append((f"controls, non-interacting\n{c.label}", np.concatenate(p)))
    if not panels:
        return None
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.8 * nrow), squeeze=False)
    for ax, (title, p) in zip(axes.ravel(), panels):
        ax.hist(p, bins=20, range=(0, 1), density=True, color="#777", edgecolor="white")
        ax.axhline(1, color="k", ls="--", lw=1)
        ax.set_title(f"{title}\n(n={len(p)}, p<0.05: {np.mean(p < 0.05):.3f})", fontsize=7)
        ax.set_xlabel("p", fontsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_truth(path, results, cands, keys):
    """−log10 q against the model-truth relative epistasis |e|/m, every model (first seed)."""
    by_key = {c.key: c for c in cands}
    fig, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4.4), squeeze=False, sharey=True)
    seed0 = min(s for _, s in results)
    for ax, k in zip(axes[0], keys):
        for (m, s), res in results.items():
            if s != seed0:
                continue
            f = res["table"]
            ok = f["m"].to_numpy() >= 0.05
            rel = np.clip(f["rel_e"].to_numpy(float)[ok], 1e-4, 10)
            q = np.clip(res["pvals"][k][1][ok], 1e-6, 1)
            ax.scatter(rel, -np.log10(q), s=4, alpha=0.4, color=MODEL_COLORS.get(m), label=m)
        ax.set_xscale("log")
        ax.axhline(-np.log10(0.05), color="k", ls="--", lw=1)
        for v in (0.01, 0.3):
            ax.axvline(v, color="grey", ls=":", lw=1)
        ax.set_xlabel("model truth |e| / m (pairs with m ≥ 0.05)")
        ax.set_title(by_key[k].label, fontsize=9)
    axes[0][0].set_ylabel("−log10 q")
    axes[0][0].legend(fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(out: Path, results, noise_pvals, rows, cands, default, previous) -> dict:
    out = Path(out)
    figs = {"calls": plot_calls(out / "accuracy_calls.png", rows, cands),
            "roc": plot_roc(out / "accuracy_roc.png", results),
            "pvalues": plot_pvalues(out / "accuracy_pvalues.png", results, noise_pvals, cands),
            "truth": plot_truth(out / "accuracy_truth.png", results, cands, [default, previous])}
    return {k: v for k, v in figs.items() if v is not None}

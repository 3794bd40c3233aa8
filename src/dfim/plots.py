"""Figures of maps and statistics: interaction maps, QQ plots, motif pairs, ROC and
p-value calibration (logos and delta tracks: :mod:`dfim.logos`).

Every ``plot_*`` function draws one figure with a title, axis labels and units, writes it
to ``path`` atomically (:mod:`dfim.figures`; ``also=("pdf", "svg")`` writes those
formats beside it) and returns ``path``. The ``*_figure`` functions behind the
workflow's figures return the :class:`~matplotlib.figure.Figure` instead, for checking.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from .figures import MINUS, new_figure, note, save_figure
from .calibration import qq_data
from .stats import check_pvalues

_P_FLOOR = 1e-300  # p-values of exactly 0 are drawn at this value on -log10 axes

__all__ = ["dfim_figure", "distinct_events", "map_colour_scale", "motif_pairs_figure", "plot_dfim",
           "plot_motif_pairs", "plot_pvalue_histograms", "plot_qq", "plot_roc", "qq_figure", "top_windows",
           "window_maps"]


def _neglog10(p: np.ndarray) -> np.ndarray:
    return -np.log10(np.clip(p, _P_FLOOR, 1.0))


def _clean_pvalues(p, what: str) -> np.ndarray:
    """1-D float array of the non-NaN p-values; values outside [0, 1] are an error."""
    p = check_pvalues(p, what).ravel()
    return p[~np.isnan(p)]


# --------------------------------------------------------------------------- maps


def map_colour_scale(fis, cmap=None):
    """Colour limits and map of interaction scores, the same for every panel of a figure.

    fis: array of any shape (NaN ignored). Non-negative scores (FIS are magnitudes) get
    ``[0, max]`` on viridis; scores with negatives get ``[-m, m]``, ``m = max |score|``,
    on the diverging RdBu_r, so 0 is the middle colour. Returns ``(vmin, vmax, cmap name)``.
    """
    v = np.asarray(fis, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0, cmap or "viridis"
    if v.min() < 0:
        m = float(np.abs(v).max())
        return -m, m, cmap or "RdBu_r"
    top = float(v.max())
    return 0.0, top if top > 0 else 1.0, cmap or "viridis"


def dfim_figure(
    fis,
    *,
    source_names,
    target_names,
    title: str = "",
    cmap: str | None = None,
    marks=None,
    panel_titles=None,
):
    """Heatmap(s) of interaction maps of one window, one panel per map, as a Figure.

    fis: ``(n_sources, n_targets)`` feature interaction scores, or
    ``(n_panels, n_sources, n_targets)`` (e.g. one map per task) drawn side by side;
    rows are sources (the perturbed elements), columns targets. NaN (the undefined
    diagonal, or untested pairs) is drawn light grey and, when the map is small enough
    to read, marked "n/a". source_names, target_names: labels of the rows and columns,
    in the order given. All panels share one colour scale (:func:`map_colour_scale`:
    from 0 for non-negative scores, symmetric about 0 otherwise) and one colour bar.
    marks: optional booleans of the shape of ``fis``, e.g. the calls (q < 0.05), drawn
    as a white-edged red star. panel_titles: one title per panel. Font sizes shrink
    with the map size so a 60 × 60 map stays legible. Returns the figure; its first
    ``n_panels`` axes are the maps.
    """
    fis = np.asarray(fis, dtype=float)
    if fis.ndim == 2:
        fis = fis[None]
    if fis.ndim != 3:
        raise ValueError(
            f"plot_dfim: expected a 2-D (n_sources, n_targets) map or a 3-D stack of maps, got shape {fis.shape}"
        )
    source_names = [str(s) for s in source_names]
    target_names = [str(t) for t in target_names]
    n_p, n_s, n_t = fis.shape
    if len(source_names) != n_s or len(target_names) != n_t:
        raise ValueError(
            f"plot_dfim: the map has shape {fis.shape[1:]} (sources × targets) but "
            f"{len(source_names)} source names and {len(target_names)} target names were "
            "given; pass one name per row (source) and one per column (target)"
        )
    if marks is not None:
        marks = np.asarray(marks, bool).reshape(fis.shape)
    if panel_titles is not None and len(panel_titles) != n_p:
        raise ValueError(f"plot_dfim: {len(panel_titles)} panel titles for {n_p} maps")
    n = max(n_s, n_t)
    cell = float(np.clip(8.0 / n, 0.15, 0.45))  # inches per cell
    fontsize = float(np.clip(cell * 72 * 0.55, 5, 10))  # labels fit their cell
    fig = new_figure(max(4.5, n_p * (n_t * cell + 1.2) + 2.4), max(3.5, n_s * cell + 2.2))
    fig.set_layout_engine("constrained")
    axes = np.atleast_1d(fig.subplots(1, n_p, sharey=True, squeeze=False)).ravel()

    vmin, vmax, cmap = map_colour_scale(fis, cmap)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="0.88")
    norm = Normalize(vmin, vmax)
    finite_any = np.isfinite(fis).any()
    for k, ax in enumerate(axes):
        m = fis[k]
        finite = np.isfinite(m)
        ax.imshow(np.ma.masked_invalid(m), cmap=colours, norm=norm, aspect="auto", interpolation="nearest")
        ax.set_xticks(np.arange(n_t), target_names, rotation=60, ha="right",
                      rotation_mode="anchor", fontsize=fontsize)
        ax.set_yticks(np.arange(n_s), source_names, fontsize=fontsize)
        ax.tick_params(axis="y", labelleft=k == 0)
        ax.set_xlabel("target (response element)")
        if k == 0:
            ax.set_ylabel("source (perturbed)")
        if n <= 20 and finite_any:
            for i, j in np.argwhere(~finite):
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=fontsize * 0.9, color="0.45")
        if n <= 12:
            for i, j in np.argwhere(finite):
                r, g, b, _ = colours(norm(m[i, j]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                ax.text(j, i, f"{m[i, j]:.2g}", ha="center", va="center",
                        fontsize=fontsize * 0.9, color="white" if dark else "black")
        if marks is not None and marks[k].any():
            mi, mj = np.nonzero(marks[k])
            ax.scatter(mj + 0.32, mi - 0.3, marker="*", s=(fontsize * 1.6) ** 2, c="#d62728", edgecolors="white",
                       linewidths=0.6, zorder=3)
        if panel_titles is not None:
            ax.set_title(str(panel_titles[k]), fontsize=10)
        if not finite.any():
            note(ax, "n/a: no finite scores")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=colours), ax=list(axes), fraction=0.05, pad=0.03,
                       shrink=1.0 if n <= 20 else 0.5)
    starred = marks is not None and marks.any()
    bar.set_label("FIS" + ("  (\u2605 q < 0.05)" if starred else ""))
    plural = {1: ""}
    fig.suptitle(
        title
        or f"interaction map ({n_s} source{plural.get(n_s, 's')} \u00d7 {n_t} target{plural.get(n_t, 's')})"
    )
    return fig


def plot_dfim(fis, path, *, source_names, target_names, title: str = "", cmap: str | None = None, marks=None,
              panel_titles=None, also=()):
    """:func:`dfim_figure` written to ``path`` (and the formats in ``also``,
    :func:`dfim.figures.save_figure`). Returns ``path``."""
    fig = dfim_figure(fis, source_names=source_names, target_names=target_names, title=title, cmap=cmap,
                      marks=marks, panel_titles=panel_titles)
    return save_figure(fig, path, also=also)


def window_maps(rows, *, alpha: float = 0.05):
    """One window's rows of interactions.tsv as maps, one per task.

    rows: DataFrame with ``task, source_name, source_win_start, target_name,
    target_win_start, score, qval``. Sources and targets are labelled ``name@start``
    (in-window start) and ordered by position, so when the same elements are sources and
    targets (modes motifs, summit) row ``i`` and column ``i`` are the same element and the
    diagonal runs corner to corner. Returns ``(maps (n_tasks, n_src, n_tgt) with NaN
    where untested, calls (same shape, q < alpha), source labels, target labels, tasks)``.
    """
    from .maps import by_position, element_labels, labelled_matrix

    src = by_position(rows["source_name"], rows["source_win_start"])
    tgt = by_position(rows["target_name"], rows["target_win_start"])
    tasks = sorted(rows["task"].unique())
    maps, calls = [], []
    for t in tasks:
        g = rows[rows["task"] == t]
        s_lab = element_labels(g["source_name"], g["source_win_start"])
        t_lab = element_labels(g["target_name"], g["target_win_start"])
        maps.append(labelled_matrix(s_lab, t_lab, g["score"].to_numpy(float), source_order=src,
                                    target_order=tgt)[0])
        q = np.nan_to_num(g["qval"].to_numpy(float), nan=np.inf)
        calls.append(labelled_matrix(s_lab, t_lab, (q < alpha).astype(float), source_order=src,
                                     target_order=tgt)[0] == 1)
    return np.stack(maps), np.stack(calls), src, tgt, tasks


def top_windows(table, top: int) -> list:
    """The first ``top`` distinct windows of a q-sorted interactions table (tested rows)."""
    tested = table[np.isfinite(table["pval"].to_numpy(float))]
    return list(dict.fromkeys(tested["window_id"]))[:top]


def distinct_events(table, top: int):
    """The first ``top`` rows of a q-sorted interactions table that are distinct events.

    A row is skipped when its window and unordered pair of elements {source, target}
    (name and in-window interval) was already taken, so A → B and B → A of the same
    window (and the same pair in another task) count once; untested rows (no p-value)
    are skipped. Returns the kept rows in table order.
    """
    seen, keep = set(), []
    for i, r in enumerate(table.itertuples(index=False)):
        if len(keep) >= top:
            break
        if not np.isfinite(float(r.pval)):
            continue
        pair = frozenset({(r.source_name, int(r.source_win_start), int(r.source_win_end)),
                          (r.target_name, int(r.target_win_start), int(r.target_win_end))})
        key = (r.window_id, pair)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return table.iloc[keep]


# --------------------------------------------------------------------------- statistics


def qq_figure(p_obs, *, p_null=None, title: str = ""):
    """QQ plot of p-values against the uniform distribution.

    p_obs, p_null: 1-D arrays of p-values in [0, 1]; NaN are dropped. Each series is
    drawn as −log10 observed (sorted) against −log10 of the expected uniform quantiles
    ``(i - 0.5) / n`` (:func:`dfim.calibration.qq_data`), with the y = x line. Returns the figure.
    """
    series = [("observed", _clean_pvalues(p_obs, "plot_qq p_obs"), "C0")]
    if p_null is not None:
        series.append(("null", _clean_pvalues(p_null, "plot_qq p_null"), "0.5"))
    fig = new_figure(5.0, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    top = 1.0
    for name, p, colour in series:
        if p.size == 0:
            continue
        n = p.size
        expected, observed = qq_data(p)
        ax.plot(expected, observed, ls="none", marker="o", ms=3, alpha=0.7, color=colour,
                label=f"{name} (n={n:,})", rasterized=n > 5000)
        top = max(top, expected.max(), observed.max())
    ax.plot([0, top * 1.05], [0, top * 1.05], color="0.2", ls="--", lw=1, label="y = x")
    ax.set_xlim(0, top * 1.05)
    ax.set_ylim(0, top * 1.05)
    if all(p.size == 0 for _, p, _ in series):
        note(ax, "no p-values to plot")
    ax.set_xlabel(f"expected {MINUS}log10 p (uniform)")
    ax.set_ylabel(f"observed {MINUS}log10 p")
    ax.set_title(title or "QQ plot of p-values")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_qq(p_obs, path, *, p_null=None, title: str = "", also=()):
    """:func:`qq_figure` written to ``path`` (and the formats in ``also``). Returns ``path``."""
    return save_figure(qq_figure(p_obs, p_null=p_null, title=title), path, also=also)


_PAIR_COLUMNS = ("source_name", "target_name", "n_tested", "median_score", "combined_p", "frac_q05")


def motif_pairs_figure(pairs, *, top: int = 30, title: str = ""):
    """Horizontal bars of −log10 combined p for the most significant motif pairs.

    pairs: DataFrame with columns ``source_name``, ``target_name``, ``n_tested``,
    ``median_score``, ``combined_p``, ``frac_q05`` (one row per ordered motif pair).
    The ``top`` rows with the smallest ``combined_p`` (NaN dropped) are drawn, most
    significant at the top, labelled "source → target (n=…)", coloured by
    ``median_score``; the fraction of instances with q < 0.05 is written at each bar's
    end and a dashed line marks p = 0.05. Returns the figure.
    """
    missing = [c for c in _PAIR_COLUMNS if c not in getattr(pairs, "columns", ())]
    if missing:
        raise ValueError(
            f"plot_motif_pairs: the table lacks column(s) {', '.join(missing)}; "
            f"expected {', '.join(_PAIR_COLUMNS)}"
        )
    if top < 1:
        raise ValueError(f"plot_motif_pairs: top must be at least 1, got {top}")
    shown = pairs.dropna(subset=["combined_p"]).sort_values("combined_p", kind="stable").head(top)
    k = len(shown)
    fig = new_figure(7.5, max(3.0, 0.28 * k + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlabel(f"{MINUS}log10 pair-level p (rank-sum test under the null)")
    ax.set_title(title or f"top {k} motif pairs by combined p")
    if k == 0:
        note(ax, "no tested motif pairs")
        ax.set_yticks([])
        fig.tight_layout()
        return fig

    heights = _neglog10(shown["combined_p"].to_numpy(dtype=float))
    scores = shown["median_score"].to_numpy(dtype=float)
    finite = scores[np.isfinite(scores)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    norm = Normalize(lo, hi)
    colours = matplotlib.colormaps["viridis"].with_extremes(bad="0.7")
    y = np.arange(k)[::-1]  # most significant at the top
    ax.barh(y, heights, color=colours(norm(np.ma.masked_invalid(scores))), height=0.75)
    labels = [
        f"{s} \u2192 {t} (n={int(n)})"
        for s, t, n in zip(shown["source_name"], shown["target_name"], shown["n_tested"])
    ]
    fontsize = 8 if k <= 40 else 6
    ax.set_yticks(y, labels, fontsize=fontsize)
    ax.set_ylim(-0.6, k - 0.4)
    xmax = max(float(heights.max()), -np.log10(0.05)) * 1.3
    ax.set_xlim(0, xmax)
    ax.axvline(-np.log10(0.05), color="0.3", ls="--", lw=0.8, label="p = 0.05")
    ax.legend(loc="lower right", fontsize=7)
    for yi, h, f in zip(y, heights, shown["frac_q05"].to_numpy(dtype=float)):
        if np.isfinite(f):
            ax.text(h, yi, f" {f:.0%} q<0.05", va="center", fontsize=fontsize - 1, color="0.25")
    mappable = ScalarMappable(norm=norm, cmap=colours)
    bar = fig.colorbar(mappable, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("median FIS")
    fig.tight_layout()
    return fig


def plot_motif_pairs(pairs, path, *, top: int = 30, title: str = "", also=()):
    """:func:`motif_pairs_figure` written to ``path`` (and the formats in ``also``). Returns ``path``."""
    return save_figure(motif_pairs_figure(pairs, top=top, title=title), path, also=also)


def plot_roc(curves: Mapping, path, *, title: str = ""):
    """ROC curves, one per method.

    curves: dict name -> ``(fpr, tpr, auc)`` with ``fpr``, ``tpr`` 1-D arrays of equal
    length and ``auc`` a number; the legend shows each AUC, the dashed diagonal is a
    random ranking. Returns ``path``.
    """
    fig = new_figure(5.2, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    for name, curve in curves.items():
        try:
            fpr, tpr, auc = curve
        except (TypeError, ValueError):
            raise ValueError(f"plot_roc: curve {name!r} must be a (fpr, tpr, auc) triple") from None
        fpr, tpr = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
        if fpr.shape != tpr.shape:
            raise ValueError(
                f"plot_roc: curve {name!r} has fpr of shape {fpr.shape} but tpr of shape {tpr.shape}"
            )
        ax.plot(fpr, tpr, lw=1.6, label=f"{name} (AUC = {float(np.squeeze(auc)):.3f})")
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="random (AUC = 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title or "ROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_pvalue_histograms(pvals: Mapping, path, *, title: str = ""):
    """One histogram of p-values per entry, for checking calibration.

    pvals: dict name -> 1-D array of p-values in [0, 1] (NaN dropped). Each panel shows
    the density in 20 bins on [0, 1] and the uniform density 1 expected of calibrated
    p-values under the null. Returns ``path``.
    """
    items = [(str(k), _clean_pvalues(v, f"plot_pvalue_histograms {k!r}")) for k, v in pvals.items()]
    if not items:
        raise ValueError("plot_pvalue_histograms: no p-value sets given")
    ncols = min(4, len(items))
    nrows = -(-len(items) // ncols)
    fig = new_figure(3.0 * ncols + 0.5, 2.6 * nrows + 0.6)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    bins = np.linspace(0, 1, 21)
    for ax, (name, p) in zip(axes, items):
        if p.size:
            ax.hist(p, bins=bins, density=True, color="C0", alpha=0.8, edgecolor="white", lw=0.5)
        else:
            note(ax, "no p-values")
        ax.axhline(1.0, color="C3", ls="--", lw=1, label="uniform")
        ax.set_xlim(0, 1)
        ax.set_title(f"{name} (n={p.size:,})", fontsize=9)
        ax.set_xlabel("p-value")
        ax.set_ylabel("density")
    for ax in axes[len(items):]:
        ax.set_visible(False)
    axes[0].legend(loc="upper right", fontsize=7, frameon=False)
    fig.suptitle(title or "p-value calibration")
    fig.tight_layout()
    return save_figure(fig, path)

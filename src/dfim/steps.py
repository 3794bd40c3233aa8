"""The workflow's steps, one function each, with file I/O at the edges.

Each Snakemake rule calls exactly one of these through a thin script in
``workflow/scripts/``. Progress goes to the logger (the rule's log file).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd

from .windows import InputError, fetch_sequences, make_windows, write_tsv_atomic

log = logging.getLogger("dfim")

INTERACTION_COLUMNS = (
    "peak_set", "window_id", "chrom", "window_start", "window_end", "task",
    "source_name", "source_start", "source_end", "source_win_start", "source_win_end",
    "target_name", "target_start", "target_end", "target_win_start", "target_win_end",
    "score", "pred_change", "pval", "qval",
)
PAIR_COLUMNS = ("source_name", "target_name", "task", "n_tested", "median_score", "frac_q05", "combined_p")


def count_peaks(path) -> int:
    """Number of peak lines (headers excluded); used to fix the shard count at parse time."""
    from .windows import _open_text

    n = 0
    with _open_text(path) as fh:
        for line in fh:
            if line.strip() and not line.startswith(("track", "browser", "#")):
                n += 1
    return n


def n_shards(n_peaks: int, shard_size: int) -> int:
    return max(1, math.ceil(n_peaks / shard_size))


def windows_step(peak_set, peaks, fai, genome, out_tsv, *, model_path, window, max_n_fraction, blacklist, n_shards_,
                 shard_size, tasks=(0,)):
    """Peaks → windows.tsv (kept and dropped rows), checking the model (input length, tasks) first."""
    from .models import load_model

    model = load_model(model_path)
    model.check_tasks(tasks)
    width = window or model.length
    if width != model.length:
        raise InputError(
            f"config key `window` is {width} bp but the model {model_path} takes {model.length} bp inputs; "
            f"set window: {model.length} (or leave it empty to use the model's length)"
        )
    df = make_windows(peak_set, peaks, fai, width=width, fasta_path=genome, max_n_fraction=max_n_fraction,
                      blacklist=blacklist)
    kept = df["status"] == "kept"
    df["shard"] = -1
    df.loc[kept, "shard"] = df.loc[kept, "index"] // shard_size
    if kept.sum() == 0:
        raise InputError(f"peak set {peak_set!r}: every peak was dropped ({df['reason'].value_counts().to_dict()}); "
                         "see the windows table for the reasons")
    if df["shard"].max() >= n_shards_:
        raise RuntimeError("more windows than peaks: shard count is inconsistent")
    counts = df.loc[~kept, "reason"].value_counts().to_dict()
    log.info("peak set %s: %d peaks, %d windows kept, dropped: %s", peak_set, len(df), int(kept.sum()), counts or "none")
    write_tsv_atomic(df, out_tsv)


def score_shard(windows_tsv, shard: int, genome, model_path, out_h5, *, cfg: dict, threads: int = 1):
    """Score one shard: elements → observed FIS and the shuffled null → shard HDF5."""
    from .elements import (bed_specs, motif_specs, per_base_specs, read_variants, scan_motifs, summit_specs,
                           variant_specs)
    from .importance import make_scorer
    from .models import load_model
    from .pipeline import ScoringOptions, score_null, score_sequences
    from .store import write_shard

    t0 = time.time()
    windows = pd.read_csv(windows_tsv, sep="\t", comment="#")
    windows = windows[(windows["status"] == "kept") & (windows["shard"] == shard)].sort_values("index")
    windows = windows.reset_index(drop=True)
    model = load_model(model_path)
    X = fetch_sequences(genome, windows) if len(windows) else np.zeros((0, model.length, 4), np.float32)
    el = cfg["elements"]
    mode = el["mode"]
    if mode == "summit":
        specs = summit_specs(windows, model.length, el["summit_width"])
    elif mode == "motifs":
        hits = scan_motifs(X, el["motif_file"], el["motif_pvalue"])
        specs = motif_specs(windows, hits)
    elif mode == "bed":
        specs = bed_specs(windows, el["sources_bed"], el.get("targets_bed"))
    elif mode == "per_base":
        specs = per_base_specs(windows, model.length, el["per_base_width"])
    elif mode == "variants":
        variants, skipped = read_variants(el["vcf"], windows, genome)
        log.info("shard %d: %d SNVs in windows; skipped: %s", shard, len(variants), skipped)
        specs = variant_specs(windows, variants, scan_motifs(X, el["motif_file"], el["motif_pvalue"]))
    else:
        raise InputError(f"config key elements.mode: unknown mode {mode!r}")
    log.info("shard %d: %d windows, %d sources", shard, len(windows), len(specs))
    imp_cfg = cfg["importance"]
    opts = ScoringOptions(
        method=imp_cfg["method"], backend=imp_cfg["backend"], reference=imp_cfg["reference"],
        n_refs=imp_cfg["n_refs"], gc=imp_cfg["gc"], strategy="alt" if mode == "variants" else cfg["mutation"]["strategy"],
        tasks=list(cfg["model"]["tasks"]), target=cfg["model"]["target"], contributions=imp_cfg["contributions"],
        absolute=cfg["map"]["absolute"], channels=cfg["map"]["channels"], positions=cfg["map"]["positions"],
        batch_size=imp_cfg["batch_size"], seed=cfg["seed"], threads=threads,
    )
    model.check_tasks(opts.tasks)
    ids = windows["index"].to_numpy()
    from .maps import FIS_COLUMNS
    from .mutants import KEY_COLUMNS

    empty = pd.DataFrame(columns=list(FIS_COLUMNS) + ["pred_change"])
    if len(specs):
        scorer = make_scorer(model, opts.method, opts.backend, target=opts.target, threads=threads)
        try:
            scored = score_sequences(model, X, specs, opts, scorer=scorer, ids=ids)
            log.info("shard %d: observed maps done (%.1f s)", shard, time.time() - t0)
            null = score_null(model, X, specs, opts, shuffles=cfg["null"]["shuffles"], kind=cfg["null"]["kind"],
                              scorer=scorer, ids=ids)
            log.info("shard %d: null maps done (%.1f s)", shard, time.time() - t0)
        finally:
            scorer.close()
        fis, delta, key, imp, mut_contrib = (scored.fis, scored.delta, scored.key, scored.importance,
                                             scored.mutant_importance.actual)
    else:
        fis, null, imp = empty, empty.assign(shuffle=[]), None
        delta = np.zeros((len(opts.tasks), 0, model.length, 4), np.float32)
        key = pd.DataFrame(columns=list(KEY_COLUMNS))
        mut_contrib = delta
        if len(windows):
            from .importance import compute_importance

            imp = compute_importance(model, X, method=opts.method, backend=opts.backend, reference=opts.reference,
                                     tasks=opts.tasks, n_refs=opts.n_refs, gc=opts.gc, seed=opts.seed, ids=ids)
    for t in (fis, null):
        t["window_id"] = windows["window_id"].to_numpy()[t["seq"].astype(int).to_numpy()] if len(t) else []
    win_cols = windows[["window_id", "peak_set", "chrom", "start", "end", "index"]]
    write_shard(out_h5, windows=win_cols, X=X, importance=imp, delta=delta, key=key,
                fis=fis.drop(columns=["key"], errors="ignore"), null=null.drop(columns=["key"], errors="ignore"),
                mutant_contrib=mut_contrib)
    log.info("shard %d: written %s (%.1f s)", shard, out_h5, time.time() - t0)


def gather_step(shard_paths, interactions_tsv, pairs_tsv, maps_h5, *, pvalue_kind: str, level: str,
                alpha: float = 0.05):
    """All shards → p- and q-values → interactions.tsv, motif_pairs.tsv and maps.h5."""
    from .pipeline import add_pvalues
    from .store import gather_maps, read_shard_tables

    wins, obs, nulls = [], [], []
    for p in shard_paths:
        w, o, n = read_shard_tables(p)
        wins.append(w)
        obs.append(o)
        nulls.append(n)
    windows = pd.concat(wins, ignore_index=True)
    fis = pd.concat(obs, ignore_index=True)
    null = pd.concat(nulls, ignore_index=True)
    fis = fis[np.isfinite(fis["score"].astype(float))].reset_index(drop=True)  # diagonal: untested
    null = null[np.isfinite(null["score"].astype(float))].reset_index(drop=True)
    if len(fis):
        fis = add_pvalues(fis, null, kind=pvalue_kind, level=level, seq_col="window_id")
    else:
        fis = fis.assign(pval=[], qval=[])
    table = interactions_table(fis, windows)
    table = table.sort_values(["task", "qval", "pval", "score", "window_id", "source_win_start", "target_win_start"],
                              ascending=[True, True, True, False, True, True, True], kind="stable")
    write_tsv_atomic(table, interactions_tsv)
    pairs = motif_pairs(table, null, alpha=alpha)
    write_tsv_atomic(pairs, pairs_tsv)
    gather_maps(shard_paths, maps_h5, table)
    log.info("gathered %d shards: %d windows, %d tested pairs, %d with q < %g", len(shard_paths), len(windows),
             len(table), int((table["qval"] < alpha).sum()), alpha)


def interactions_table(fis: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """FIS rows joined to window coordinates, in the contract's columns."""
    w = windows.set_index("window_id")
    ws = w.loc[fis["window_id"], "start"].to_numpy() if len(fis) else np.array([], int)
    out = pd.DataFrame({
        "peak_set": w.loc[fis["window_id"], "peak_set"].to_numpy() if len(fis) else [],
        "window_id": fis["window_id"].to_numpy(),
        "chrom": w.loc[fis["window_id"], "chrom"].to_numpy() if len(fis) else [],
        "window_start": ws,
        "window_end": w.loc[fis["window_id"], "end"].to_numpy() if len(fis) else [],
        "task": fis["task"].to_numpy(),
        "source_name": fis["mut_name"].to_numpy(),
        "source_start": ws + fis["mut_start"].to_numpy(int),
        "source_end": ws + fis["mut_end"].to_numpy(int),
        "source_win_start": fis["mut_start"].to_numpy(int),
        "source_win_end": fis["mut_end"].to_numpy(int),
        "target_name": fis["resp_name"].to_numpy(),
        "target_start": ws + fis["resp_start"].to_numpy(int),
        "target_end": ws + fis["resp_end"].to_numpy(int),
        "target_win_start": fis["resp_start"].to_numpy(int),
        "target_win_end": fis["resp_end"].to_numpy(int),
        "score": fis["score"].to_numpy(float),
        "pred_change": fis["pred_change"].to_numpy(float),
        "pval": fis["pval"].to_numpy(float),
        "qval": fis["qval"].to_numpy(float),
    })
    return out[list(INTERACTION_COLUMNS)]


def motif_pairs(table: pd.DataFrame, null: pd.DataFrame, *, alpha: float) -> pd.DataFrame:
    """Genome-wide summary per ordered (source name → target name) pair, most significant first.

    ``combined_p`` is a one-sided rank-sum test of the pair's observed scores against
    the scores of the same specs in the shuffled windows (:func:`dfim.stats.pair_pvalue`).
    """
    from .stats import pair_pvalue

    null_groups = {k: g["score"].to_numpy(float) for k, g in null.groupby(["mut_name", "resp_name", "task"])}
    rows = []
    for (s, t, task), g in table.groupby(["source_name", "target_name", "task"], sort=True):
        rows.append((s, t, task, len(g), float(g["score"].median()), float((g["qval"] < alpha).mean()),
                     pair_pvalue(g["score"].to_numpy(float), null_groups.get((s, t, task), np.array([])))))
    pairs = pd.DataFrame(rows, columns=list(PAIR_COLUMNS))
    return pairs.sort_values(["combined_p", "median_score", "source_name", "target_name"],
                             ascending=[True, False, True, True], kind="stable").reset_index(drop=True)


def plots_step(interactions_tsv, pairs_tsv, windows_tsv, shard_paths, out_dir, *, top: int = 4, alpha: float = 0.05):
    """Heatmaps of the top windows' maps, delta-track logos of the top interactions,
    a QQ plot of observed vs null p-values and the motif-pair summary, into ``out_dir``."""
    import os

    import h5py

    from .maps import labelled_matrix
    from .plots import plot_delta_tracks, plot_dfim, plot_motif_pairs, plot_qq
    from .stats import assign_pval
    from .store import read_shard_tables, read_table

    os.makedirs(out_dir, exist_ok=True)
    table = pd.read_csv(interactions_tsv, sep="\t")
    pairs = pd.read_csv(pairs_tsv, sep="\t")
    windows = pd.read_csv(windows_tsv, sep="\t")
    plot_motif_pairs(pairs, os.path.join(out_dir, "motif_pairs.png"), title="Element pairs, genome-wide")
    null_scores = pd.concat([read_shard_tables(p)[2] for p in shard_paths], ignore_index=True)
    null_scores = null_scores[np.isfinite(null_scores["score"].astype(float))]
    p_null = (assign_pval(null_scores["score"].to_numpy(float), null_scores["score"].to_numpy(float), kind="empirical",
                          level="global") if len(null_scores) else np.array([]))
    plot_qq(table["pval"].to_numpy(float), os.path.join(out_dir, "qq.png"), p_null=p_null,
            title="Observed vs null interaction p-values")
    if table.empty:
        return
    best = table.groupby("window_id")["qval"].min().sort_values(kind="stable").index[:top]
    for rank, wid in enumerate(best, start=1):
        g = table[(table["window_id"] == wid) & (table["task"] == table["task"].iloc[0])]
        M, src, tgt = labelled_matrix([f"{n}@{s}" for n, s in zip(g["source_name"], g["source_win_start"])],
                                      [f"{n}@{s}" for n, s in zip(g["target_name"], g["target_win_start"])],
                                      g["score"].to_numpy())
        plot_dfim(M, os.path.join(out_dir, f"map_top{rank}.png"), source_names=src, target_names=tgt,
                  title=f"DFIM of {wid} (rank {rank})")
    shard_of = windows.set_index("window_id")["shard"]
    for rank, row in enumerate(table.head(top).itertuples(index=False), start=1):
        path = shard_paths[int(shard_of[row.window_id])]
        with h5py.File(path, "r") as f:
            w = read_table(f["windows"])
            key = read_table(f["mutants"])
            seq = int(np.flatnonzero(w["window_id"].to_numpy() == row.window_id)[0])
            mut = key[(key["seq"] == seq) & (key["mut_start"] == row.source_win_start)
                      & (key["mut_end"] == row.source_win_end)]["mutant"].iloc[0]
            tasks = list(f.attrs["tasks"])
            ti = tasks.index(row.task)
            orig = f["task_contrib_scores"][ti, seq]
            mutant = f["task_mutant_contrib"][ti, int(mut)]
        delta = orig - mutant
        delta[row.source_win_start:row.source_win_end] = 0.0
        plot_delta_tracks(orig, mutant, delta, os.path.join(out_dir, f"delta_top{rank}.png"),
                          title=f"{row.source_name} → {row.target_name} in {row.window_id} (q = {row.qval:.2g})",
                          source=(row.source_win_start, row.source_win_end),
                          target=(row.target_win_start, row.target_win_end))

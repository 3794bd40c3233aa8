"""The workflow's steps: each reads its inputs, calls one stage function, writes.

Each Snakemake rule calls exactly one of these through a thin script in
``workflow/scripts/``. Progress goes to the logger (the rule's log file).
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import contextmanager

import numpy as np
import pandas as pd

from .errors import InputError
from .io import write_tsv_atomic
from .windows import count_peaks  # noqa: F401  (used by the workflow's common.smk)

log = logging.getLogger("dfim")

#: windows.tsv columns that are names, read as text even when every contig is called 1, 2, ...
_TEXT_COLUMNS = {c: str for c in ("window_id", "peak_set", "peak_name", "chrom", "peak_chrom", "status", "reason")}


def read_windows(path) -> pd.DataFrame:
    """A windows table (``windows.tsv``) with its name columns as text."""
    return pd.read_csv(path, sep="\t", comment="#", dtype=_TEXT_COLUMNS, keep_default_na=False)


def read_interactions(path) -> pd.DataFrame:
    """An interactions table (``interactions.tsv``) with its name columns as text."""
    text = {c: str for c in ("peak_set", "window_id", "chrom", "source_name", "target_name", "relation")}
    numbers = ("score", "pred_change", "pval", "qval", "ism_epistasis", "window_scale")
    return pd.read_csv(path, sep="\t", comment="#", dtype=text, keep_default_na=False,
                       na_values={c: ["", "NA", "NaN", "nan"] for c in numbers})


def validate_step(config: dict, peak_set: str, fai, out_txt) -> None:
    """Check every input of ``peak_set`` (:func:`dfim.validate.validate_inputs`); write the summary."""
    from .io import atomic_path
    from .validate import validate_inputs

    summary = validate_inputs(config, peak_set, fai)
    for line in summary:
        log.info("%s", line)
    with atomic_path(out_txt) as tmp, open(tmp, "w") as fh:
        fh.write(f"# inputs of peak set {peak_set} checked by dfim.validate\n")
        fh.writelines(f"{line}\n" for line in summary)


def n_shards(n_peaks: int, shard_size: int) -> int:
    """Number of scoring jobs for ``n_peaks`` peaks (an upper bound on windows)."""
    return max(1, math.ceil(n_peaks / shard_size))


def windows_step(peak_set, peaks, fai, genome, out_tsv, *, model_path, window, max_n_fraction, blacklist, n_shards_,
                 shard_size, tasks=(0,)):
    """Peaks → windows.tsv (kept and dropped rows), checking the model (input length, tasks) first."""
    from .models import load_model
    from .windows import assign_shards, make_windows

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
    df = assign_shards(df, shard_size, n_shards_)
    kept = df["status"] == "kept"
    counts = df.loc[~kept, "reason"].value_counts().to_dict()
    log.info("peak set %s: %d peaks, %d windows kept, dropped: %s", peak_set, len(df), int(kept.sum()), counts or "none")
    write_tsv_atomic(df, out_tsv)


def score_step(windows_tsv, shard: int, genome, model_path, out_h5, *, cfg: dict, threads: int = 1):
    """One shard: its windows' elements → observed FIS and the null (``null.kind``) → shard HDF5."""
    from .elements import element_specs
    from .genome import fetch_sequences
    from .models import load_model
    from .pipeline import NullOptions, ScoringOptions, score_windows
    from .progress import Progress
    from .store import write_shard
    from .tables import with_window_ids

    t0 = time.time()
    progress = Progress(f"shard {shard}")
    stages = {}  # score_step's own stages, seconds
    with _stage(shard, "reading windows", t0, seconds=stages) as counts:
        windows = read_windows(windows_tsv)
        windows = windows[(windows["status"] == "kept") & (windows["shard"] == shard)].sort_values("index")
        windows = windows.reset_index(drop=True)
        counts["windows"] = len(windows)
    with _stage(shard, "loading model", t0, seconds=stages) as counts:
        model = load_model(model_path)
        opts = ScoringOptions.from_config(cfg, threads=threads)
        model.check_tasks(opts.tasks)
        counts["input length"] = model.length
    with _stage(shard, "fetching sequences", t0, seconds=stages) as counts:
        X = fetch_sequences(genome, windows) if len(windows) else np.zeros((0, model.length, 4), np.float32)
        counts["windows"] = len(X)
    with _stage(shard, "finding elements", t0, seconds=stages) as counts:
        specs = element_specs(windows, X, cfg["elements"], genome=genome)
        counts["sources"] = len(specs)
    if len(windows) and len(specs) > 50 * len(windows):
        log.warning("shard %d: %d sources in %d windows (%.0f per window); rows grow as its square: lower "
                    "elements.motif_pvalue or per_base_width", shard, len(specs), len(windows), len(specs) / len(windows))
    null_opts = NullOptions.from_config(cfg)
    with _stage(shard, "scoring", t0, f"{len(windows)} windows, {len(specs)} sources, null {null_opts.kind}",
                seconds=stages) as counts:
        ts = time.time()
        res = score_windows(model, X, specs, opts, null=null_opts, ids=windows["index"].to_numpy(), progress=progress)
        counts.update({"mutants": len(res.scored.key), "pairs": len(res.scored.fis), "null rows": len(res.null)})
        if len(windows):
            counts["s per window"] = f"{(time.time() - ts) / len(windows):.2f}"
    with _stage(shard, "writing", t0, seconds=stages) as counts:
        ids = windows["window_id"].to_numpy()
        fis, null = (with_window_ids(t.drop(columns=["key"], errors="ignore"), ids) for t in (res.scored.fis, res.null))
        write_shard(out_h5, windows=windows[["window_id", "peak_set", "chrom", "start", "end", "index"]], X=X,
                    importance=res.scored.importance, delta=res.scored.delta, key=res.scored.key, fis=fis, null=null,
                    mutant_contrib=res.scored.mutant_importance.actual)
    log.info("shard %d: written %s (%.1f s)", shard, out_h5, time.time() - t0)
    _log_split(shard, stages, progress, time.time() - t0)


def _log_split(shard: int, stages: dict, progress, total: float) -> None:
    """End the log with where the job's seconds went: the detailed stages, then the split by kind."""
    log.info("shard %d: scoring stage seconds, detailed: %s", shard, progress.split_line(stages.get("scoring", 0.0)))
    kinds = progress.by_kind()

    def pick(suffix):
        return sum(v for k, v in kinds.items() if k.endswith(suffix))

    split = {
        "model load": stages.get("loading model", 0.0),
        "scorer build": kinds.get("scorer build", 0.0),
        "first batch (tracing)": kinds.get("first batch (tracing)", 0.0),
        "reading windows and sequences": stages.get("reading windows", 0.0) + stages.get("fetching sequences", 0.0),
        "elements": stages.get("finding elements", 0.0),
        "observed scoring": pick(", observed"),
        "null scoring": pick(", null"),
        "ISM double mutants": kinds.get("ISM double mutants", 0.0),
        "writing": stages.get("writing", 0.0),
    }
    split["other"] = total - sum(split.values())
    log.info("shard %d: stage split (s): %s; total %.2f (importance batches timed one by one, a batch holding "
             "observed and null rows split by rows; mutants, references, maps and single-mutant ISM of a pass "
             "that holds both split by rows too; first batch = its seconds beyond the pass's per-row rate)",
             shard, "; ".join(f"{k} {v:.2f}" for k, v in split.items()), total)


@contextmanager
def _stage(shard: int, name: str, t0: float, what: str = "", seconds: dict | None = None):
    """Log the start and end of one stage of a shard job, with counts and elapsed seconds.

    The body fills the yielded dict with counts (``{"windows": 12}``) for the end line;
    the stage's seconds go to ``seconds[name]`` when a dict is given.
    """
    t = time.time()
    log.info("shard %d: %s started%s (%.1f s elapsed)", shard, name, f": {what}" if what else "", t - t0)
    counts: dict = {}
    yield counts
    now = time.time()
    if seconds is not None:
        seconds[name] = seconds.get(name, 0.0) + now - t
    done = ", ".join(f"{k} {v}" for k, v in counts.items())
    log.info("shard %d: %s done%s in %.1f s (%.1f s elapsed)", shard, name, f": {done}" if done else "", now - t,
             now - t0)


def gather_step(shard_paths, interactions_tsv, pairs_tsv, maps_h5, *, cfg: dict, alpha: float = 0.05):
    """All shards → p- and q-values → interactions.tsv, motif_pairs.tsv and maps.h5.

    cfg : the config sections ``null`` and ``pvalue``.
    """
    from .calls import TestOptions, add_pvalues, pair_pvalues
    from .store import check_shard, gather_maps, read_shard_tables
    from .tables import interactions_table, pair_table

    for p in shard_paths:
        check_shard(p)
    windows, fis, null = (pd.concat(t, ignore_index=True) for t in zip(*(read_shard_tables(p) for p in shard_paths)))
    fis = fis[np.isfinite(fis["score"].astype(float))].reset_index(drop=True)  # diagonal: untested
    kind, test = cfg["null"]["kind"], TestOptions.from_config(cfg)
    fis = add_pvalues(fis, null, null_kind=kind, test=test, seq_col="window_id")
    table = interactions_table(fis, windows)
    write_tsv_atomic(table, interactions_tsv)
    pairs = pair_table(table, pair_pvalues(fis, null, null_kind=kind, test=test, seq_col="window_id"), alpha=alpha)
    write_tsv_atomic(pairs, pairs_tsv)
    gather_maps(shard_paths, maps_h5, table)
    log.info("gathered %d shards: %d windows, %d pairs, %d tested, %d calls (q < %g); %d element pairs, %d called",
             len(shard_paths), len(windows), len(table), int(table["pval"].notna().sum()),
             int((table["qval"] < alpha).sum()), alpha, len(pairs), int((pairs["qval"] < alpha).sum()))


def plots_step(interactions_tsv, pairs_tsv, windows_tsv, shard_paths, out_dir, *, cfg: dict, top: int = 4):
    """Heatmaps of the top windows' maps, delta-track logos of the top interactions,
    a QQ plot of observed vs out-of-sample null p-values and the motif-pair summary, into
    ``out_dir``. cfg : the config sections ``null`` and ``pvalue``."""
    from .calls import TestOptions, null_pvalues
    from .deltas import compute_delta_profiles
    from .logos import plot_delta_tracks
    from .maps import by_position, element_labels, labelled_matrix
    from .plots import plot_dfim, plot_motif_pairs, plot_qq
    from .store import read_mutant_scores, read_null
    from .tables import fis_rows

    os.makedirs(out_dir, exist_ok=True)
    table = pd.read_csv(interactions_tsv, sep="\t")
    pairs = pd.read_csv(pairs_tsv, sep="\t")
    windows = read_windows(windows_tsv)
    plot_motif_pairs(pairs, os.path.join(out_dir, "motif_pairs.png"), title="Element pairs, genome-wide")
    p_null = null_pvalues(fis_rows(table), read_null(shard_paths), null_kind=cfg["null"]["kind"],
                          test=TestOptions.from_config(cfg), seq_col="window_id")
    plot_qq(table["pval"].to_numpy(float), os.path.join(out_dir, "qq.png"), p_null=p_null,
            title="Observed vs null interaction p-values")
    if table.empty:
        return
    best = table.groupby("window_id")["qval"].min().sort_values(kind="stable").index[:top]
    for rank, wid in enumerate(best, start=1):
        g = table[(table["window_id"] == wid) & (table["task"] == table["task"].iloc[0])]
        src, tgt = (element_labels(g["source_name"], g["source_win_start"]),
                    element_labels(g["target_name"], g["target_win_start"]))
        M, src, tgt = labelled_matrix(src, tgt, g["score"].to_numpy(),
                                      source_order=by_position(g["source_name"], g["source_win_start"]),
                                      target_order=by_position(g["target_name"], g["target_win_start"]))
        called = labelled_matrix(element_labels(g["source_name"], g["source_win_start"]),
                                 element_labels(g["target_name"], g["target_win_start"]),
                                 (g["qval"] < 0.05).astype(float).to_numpy(), source_order=src, target_order=tgt)[0]
        plot_dfim(M, os.path.join(out_dir, f"map_top{rank}.png"), source_names=src, target_names=tgt,
                  title=f"DFIM of {wid} (rank {rank})", marks=called == 1)
    shard_of = windows.set_index("window_id")["shard"]
    for rank, row in enumerate(table.head(top).itertuples(index=False), start=1):
        orig, mutant, key = read_mutant_scores(shard_paths[int(shard_of[row.window_id])], row.window_id,
                                               row.source_win_start, row.source_win_end, row.task)
        delta = compute_delta_profiles(orig[None], mutant[None], key)[0]
        plot_delta_tracks(orig, mutant, delta, os.path.join(out_dir, f"delta_top{rank}.png"),
                          title=f"{row.source_name} → {row.target_name} in {row.window_id} (q = {row.qval:.2g})",
                          source=(row.source_win_start, row.source_win_end),
                          target=(row.target_win_start, row.target_win_end))


def tracks_step(interactions_tsv, shard_paths, fai, bedpe_out, bed_out, bigwig_out, *, alpha: float = 0.05):
    """interactions.tsv + shards → genome-browser files (:mod:`dfim.tracks`): the calls as
    BEDPE, every scored element as BED, the first task's importance as bigWig."""
    from .genome import read_fai
    from .store import read_shard_contrib
    from .tracks import (element_instances, importance_intervals, interactions_bedpe, write_bed, write_bedpe,
                         write_bigwig)

    table = read_interactions(interactions_tsv)
    bedpe = interactions_bedpe(table, alpha=alpha)
    write_bedpe(bedpe, bedpe_out)
    chroms, starts, tracks, sources = [], [], [], []
    for p in shard_paths:
        w, contrib, key = read_shard_contrib(p)
        if contrib is None or not len(w):
            continue
        chroms += list(w["chrom"].astype(str))
        starts += list(w["start"].astype(np.int64))
        tracks.append(contrib.sum(-1))
        k = key.drop_duplicates(["seq", "mut_name", "mut_start", "mut_end"])
        ws = w["start"].to_numpy(np.int64)[k["seq"].to_numpy(int)]
        sources.append(pd.DataFrame({"chrom": w["chrom"].astype(str).to_numpy()[k["seq"].to_numpy(int)],
                                     "start": ws + k["mut_start"].to_numpy(np.int64),
                                     "end": ws + k["mut_end"].to_numpy(np.int64), "name": k["mut_name"].astype(str)}))
    elements = element_instances(table, pd.concat(sources, ignore_index=True) if sources else None)
    write_bed(elements, bed_out)
    sizes = read_fai(fai)
    L = tracks[0].shape[1] if tracks else 0
    runs = importance_intervals(chroms, starts, np.concatenate(tracks) if tracks else np.zeros((0, L)), list(sizes))
    write_bigwig(bigwig_out, sizes, runs)
    log.info("tracks: %d calls (q < %g) in %s, %d elements in %s, %d windows (%d bases) in %s", len(bedpe), alpha,
             bedpe_out, len(elements), bed_out, len(chroms), sum(len(r[2]) for r in runs), bigwig_out)

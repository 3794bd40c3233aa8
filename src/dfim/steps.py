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
    text = {c: str for c in ("peak_set", "window_id", "chrom", "source_name", "target_name", "relation",
                             "substitution")}
    numbers = ("score", "pred_change", "pval", "qval", "ism_epistasis", "window_scale")
    return pd.read_csv(path, sep="\t", comment="#", dtype=text, keep_default_na=False,
                       na_values={c: ["", "NA", "NaN", "nan"] for c in numbers})


def validate_step(config: dict, peak_set: str, fai, out_txt) -> None:
    """Check every input of ``peak_set`` (:func:`dfim.validate.validate_inputs`); write the summary."""
    from .io import atomic_path
    from .validate import validate_inputs

    facts = {}
    summary = validate_inputs(config, peak_set, fai, facts)
    for line in summary:
        log.info("%s", line)
    with atomic_path(out_txt) as tmp, open(tmp, "w") as fh:
        fh.write(f"# inputs of peak set {peak_set} checked by dfim.validate\n")
        fh.write(f"{_WINDOW_LINE}{facts['window']}\n")
        fh.writelines(f"{line}\n" for line in summary)


_WINDOW_LINE = "# window (bp): "


def validated_window(validated_txt) -> int:
    """The window width that :func:`validate_step` checked against the model (its ``validated.txt``)."""
    with open(validated_txt) as fh:
        for line in fh:
            if line.startswith(_WINDOW_LINE):
                return int(line[len(_WINDOW_LINE):])
    raise InputError(f"{validated_txt} has no '{_WINDOW_LINE.strip()}' line: it was written by an older DFIM; "
                     "delete it and rerun, so that the inputs are checked again")


def n_shards(n_peaks: int, shard_size: int) -> int:
    """Number of scoring jobs for ``n_peaks`` peaks (an upper bound on windows)."""
    return max(1, math.ceil(n_peaks / shard_size))


def windows_step(peak_set, peaks, fai, genome, out_tsv, *, width: int, max_n_fraction, blacklist, n_shards_,
                 shard_size):
    """Peaks → windows.tsv (kept and dropped rows).

    width : the window width :func:`validate_step` checked against the model
    (:func:`validated_window`), so that this job need not load TensorFlow and the model
    again (about 6 s on a Basset-sized model).
    """
    from .windows import assign_shards, make_windows

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
    from .models import device_name, load_model
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
        counts["device"] = device_name(model)
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
                    mutant_contrib=res.scored.mutant_importance.actual,
                    per_base=_per_base_maps(res.scored, cfg, len(X), model.length))
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
    # CPU-seconds of the whole process, every thread (imports included): what the job costs
    # with the cores to itself, which a shared machine does not slow down
    log.info("shard %d: stage split (s): %s; total %.2f; process CPU %.2f (importance batches timed one by one, "
             "a batch holding observed and null rows split by rows; mutants, references, maps and single-mutant "
             "ISM of a pass that holds both split by rows too; first batch = its seconds beyond the pass's per-row "
             "rate)", shard, "; ".join(f"{k} {v:.2f}" for k, v in split.items()), total, time.process_time())


def _per_base_maps(scored, cfg: dict, n_windows: int, length: int):
    """Mode per_base: the shard's 2018 per-base maps (:func:`dfim.maps.per_base_window_maps`), else None."""
    el = cfg["elements"]
    if el["mode"] != "per_base" or not n_windows:
        return None
    from .elements import per_base_window
    from .maps import per_base_window_maps

    return per_base_window_maps(scored.delta, scored.key, n_windows, per_base_window(length, el["per_base_width"]),
                                el["per_base_width"], absolute=cfg["map"]["absolute"], channels=cfg["map"]["channels"])


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


def plots_step(interactions_tsv, pairs_tsv, windows_tsv, shard_paths, out_dir, *, cfg: dict, top: int = 4,
               alpha: float = 0.05):
    """Heatmaps of the top windows' maps (one panel per task), delta-track logos of the
    top distinct interactions, a QQ plot of observed vs out-of-sample null p-values and
    the motif-pair summary, into ``out_dir`` as PNG with PDF and SVG beside, and
    ``figures.tsv`` naming what each figure shows. cfg : the config sections ``null`` and
    ``pvalue``."""
    from .calls import TestOptions, null_pvalues
    from .deltas import compute_delta_profiles
    from .figures import WORKFLOW_FORMATS, save_figure
    from .logos import delta_tracks_figure
    from .plots import dfim_figure, distinct_events, motif_pairs_figure, qq_figure, top_windows, window_maps
    from .store import read_mutant_scores, read_null
    from .tables import fis_rows

    also = WORKFLOW_FORMATS[1:]
    os.makedirs(out_dir, exist_ok=True)
    table = read_interactions(interactions_tsv)
    pairs = pd.read_csv(pairs_tsv, sep="\t")
    windows = read_windows(windows_tsv)
    shown = [("motif_pairs.png", "the most significant element pairs of the peak set"),
             ("qq.png", "observed against null p-values of every tested pair")]
    save_figure(motif_pairs_figure(pairs, title="Element pairs, genome-wide"), os.path.join(out_dir, "motif_pairs.png"),
                also=also)
    p_null = null_pvalues(fis_rows(table), read_null(shard_paths), null_kind=cfg["null"]["kind"],
                          test=TestOptions.from_config(cfg), seq_col="window_id")
    save_figure(qq_figure(table["pval"].to_numpy(float), p_null=p_null, title="Observed vs null interaction p-values"),
                os.path.join(out_dir, "qq.png"), also=also)
    # the table is sorted by task, q, p and score: its first windows and rows are the best
    for rank, wid in enumerate(top_windows(table, top), start=1):
        maps, calls, src, tgt, tasks = window_maps(table[table["window_id"] == wid], alpha=alpha)
        fig = dfim_figure(maps, source_names=src, target_names=tgt, marks=calls,
                          title=f"DFIM of {wid} (rank {rank})",
                          panel_titles=[f"task {t}" for t in tasks] if len(tasks) > 1 else None)
        save_figure(fig, os.path.join(out_dir, f"map_top{rank}.png"), also=also)
        shown.append((f"map_top{rank}.png", f"interaction map of window {wid} (rank {rank} by its best q)"))
    shard_of = windows.set_index("window_id")["shard"]
    for rank, row in enumerate(distinct_events(table, top).itertuples(index=False), start=1):
        orig, mutant, key = read_mutant_scores(shard_paths[int(shard_of[row.window_id])], row.window_id,
                                               row.source_win_start, row.source_win_end, row.task)
        delta = compute_delta_profiles(orig[None], mutant[None], key)[0]
        source, target = (row.source_win_start, row.source_win_end), (row.target_win_start, row.target_win_end)
        lo, hi = _delta_view(len(orig), source, target)
        fig = delta_tracks_figure(orig[lo:hi], mutant[lo:hi], delta[lo:hi], start=lo, source=source, target=target,
                                  title=f"{row.source_name} \u2192 {row.target_name} in {row.window_id}, task {row.task} "
                                        f"(q = {row.qval:.2g})")
        save_figure(fig, os.path.join(out_dir, f"delta_top{rank}.png"), also=also)
        shows = (f"{row.source_name} [{row.source_win_start}, {row.source_win_end}) \u2192 {row.target_name} "
                 f"[{row.target_win_start}, {row.target_win_end}) in window {row.window_id}, task {row.task} "
                 f"(q = {row.qval:.2g})")
        shown.append((f"delta_top{rank}.png", shows))
    _write_figure_list(shown, out_dir)


#: windows up to this length are drawn whole in delta tracks; longer ones around the pair
_DELTA_WHOLE_WINDOW = 400
_DELTA_PAD = 40


def _delta_view(L: int, source, target) -> tuple[int, int]:
    """The in-window range ``[lo, hi)`` a delta-track figure draws: the whole window when
    it is short enough to read letter by letter, else source and target with 40 bp around."""
    if L <= _DELTA_WHOLE_WINDOW:
        return 0, L
    lo = max(0, min(source[0], target[0]) - _DELTA_PAD)
    hi = min(L, max(source[1], target[1]) + _DELTA_PAD)
    return int(lo), int(hi)


def _write_figure_list(shown, out_dir) -> None:
    """plots/figures.tsv: each figure and the window or pair it shows (report labels, run summary)."""
    write_tsv_atomic(pd.DataFrame(shown, columns=["figure", "shows"]), os.path.join(out_dir, "figures.tsv"))


def report_step(interactions_tsv, pairs_tsv, windows_tsv, validated_txt, plots_dir, out: dict, *, peak_set: str,
                settings: dict, alpha: float = 0.05, cap: int | None = None):
    """The run's tables, summary and figure list as self-contained HTML pages for
    ``snakemake --report`` (:mod:`dfim.report_tables`).

    out : paths keyed ``interactions``, ``pairs``, ``windows``, ``summary``.
    settings : the config sections ``null``, ``importance``, ``mutation`` and ``elements``.
    """
    from .io import atomic_path
    from .report_tables import (
        INTERACTION_ROW_CAP,
        interactions_page,
        pairs_page,
        summary_page,
        windows_page,
    )

    table = read_interactions(interactions_tsv)
    pairs = pd.read_csv(pairs_tsv, sep="\t", dtype={"source_name": str, "target_name": str}, keep_default_na=False,
                        na_values={c: ["", "NA", "NaN", "nan"] for c in ("median_score", "frac_q05", "combined_p",
                                                                        "qval")})
    windows = read_windows(windows_tsv)
    with open(validated_txt) as fh:
        validated = [line.rstrip("\n") for line in fh if not line.startswith("#")]
    figures_tsv = os.path.join(plots_dir, "figures.tsv")
    figures = pd.read_csv(figures_tsv, sep="\t", keep_default_na=False) if os.path.exists(figures_tsv) else None
    pages = {
        "interactions": interactions_page(table, peak_set=peak_set, alpha=alpha, cap=cap or INTERACTION_ROW_CAP),
        "pairs": pairs_page(pairs, peak_set=peak_set, alpha=alpha),
        "windows": windows_page(windows, peak_set=peak_set),
        "summary": summary_page(windows, table, pairs, peak_set=peak_set, settings=settings, alpha=alpha,
                                validated=validated, figures=figures),
    }
    for name, text in pages.items():
        with atomic_path(out[name]) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    log.info("report pages of %s: %s", peak_set, ", ".join(str(out[k]) for k in pages))


def config_page_step(config: dict, out_html, *, source: str = "") -> None:
    """The config the run used (defaults filled in) as an HTML page (:func:`dfim.report_tables.config_page`)."""
    from .io import atomic_path
    from .report_tables import config_page

    with atomic_path(out_html) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(config_page(config, source=source))


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


def element_by_base_step(interactions_tsv, windows_tsv, shard_paths, fai, out_h5, bigwig_dir, plot_dir, *,
                         top: int = 4):
    """The element-by-base profiles of the top ``top`` interactions (:func:`dfim.tables.top_rows`:
    by q, then |score|): ``element_by_base.h5`` (:func:`dfim.store.write_element_by_base`), one
    bigWig per row in ``bigwig_dir`` and one figure per row in ``plot_dir``
    (:func:`dfim.plots_by_base.plot_element_by_base`), named by :func:`dfim.tracks.call_file_name`."""
    from .genome import read_fai
    from .plots_by_base import plot_element_by_base
    from .store import read_source_response, write_element_by_base
    from .tables import top_rows
    from .tracks import call_file_name, write_bigwig

    for d in (bigwig_dir, plot_dir):
        os.makedirs(d, exist_ok=True)
    table = read_interactions(interactions_tsv)
    calls = top_rows(table, top)
    shard_of = read_windows(windows_tsv).set_index("window_id")["shard"]
    sizes = read_fai(fai)
    responses, importances = [], []
    for row in calls.to_dict("records"):
        response, importance = read_source_response(
            shard_paths[int(shard_of[row["window_id"]])], row["window_id"], row["source_name"],
            int(row["source_win_start"]), int(row["source_win_end"]), row["task"], row["substitution"])
        responses.append(response)
        importances.append(importance)
        write_bigwig(os.path.join(bigwig_dir, call_file_name(row, ".bw")), sizes,
                     [(str(row["chrom"]), int(row["window_start"]), response)])
        sub = f" ({row['substitution']})" if row["substitution"] else ""
        plot_element_by_base(
            response, importance, os.path.join(plot_dir, call_file_name(row, ".png")),
            title=f"{row['source_name']}{sub} \u2192 {row['target_name']} in {row['window_id']}, task {row['task']} "
                  f"(rank {row['rank']}, q = {row['qval']:.2g})",
            source=(row["source_win_start"], row["source_win_end"]),
            target=(row["target_win_start"], row["target_win_end"]))
    L = len(responses[0]) if responses else 0
    write_element_by_base(out_h5, calls, np.array(responses, np.float32).reshape(len(calls), L),
                          np.array(importances, np.float32).reshape(len(calls), L))
    log.info("element by base: %d top interactions (of %d rows, %d calls) in %s, %s, %s", len(calls), len(table),
             int((table["qval"] < 0.05).sum()), out_h5, bigwig_dir, plot_dir)

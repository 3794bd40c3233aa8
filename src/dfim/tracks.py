"""Genome-browser files of a peak set: the calls, the elements and the importance.

``results/<peak_set>/tracks/`` holds, for IGV, the UCSC browser or bedtools:

========================  ===============================================================
file                      contents
========================  ===============================================================
``interactions.bedpe``    the calls (``qval < alpha``): source → target, one row each
``elements.bed``          every scored element instance (a source, a target or both)
``importance.bw``         per-base importance: actual contributions of the first task
                          summed over the 4 channels, over every kept window
``element_by_base/``      one bigWig per top interaction (:func:`call_file_name`): its
                          element-by-base response Σ_c |Δ| over its window
========================  ===============================================================

Coordinates are 0-based half-open, as BED and BEDPE define them. Functions take the
workflow's tables and arrays and return tables or write one file; every file is written
under a temporary name and renamed when complete (:func:`dfim.io.atomic_path`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .io import atomic_path

#: BEDPE columns: the 10 of the format, then DFIM's extra columns.
BEDPE_COLUMNS = ("chrom1", "start1", "end1", "chrom2", "start2", "end2", "name", "score", "strand1", "strand2",
                 "qval", "ism_epistasis", "task", "window_id")
BED_COLUMNS = ("chrom", "start", "end", "name", "score", "strand")


def interactions_bedpe(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The calls of an interactions table as BEDPE rows.

    table : ``interactions.tsv`` (:data:`dfim.tables.INTERACTION_COLUMNS`). Rows with
    ``qval < alpha`` are kept (untested rows, NaN q, are not), in the table's order
    (most significant first). Element 1 is the source, element 2 the target; ``name``
    is ``source>target``, ``score`` the FIS; strands are ``.`` (a perturbation has none).
    Returns a DataFrame with columns :data:`BEDPE_COLUMNS`.
    """
    calls = table[table["qval"].to_numpy(float) < alpha]
    return pd.DataFrame({
        "chrom1": calls["chrom"].astype(str).to_numpy(),
        "start1": calls["source_start"].to_numpy(np.int64),
        "end1": calls["source_end"].to_numpy(np.int64),
        "chrom2": calls["chrom"].astype(str).to_numpy(),
        "start2": calls["target_start"].to_numpy(np.int64),
        "end2": calls["target_end"].to_numpy(np.int64),
        "name": (calls["source_name"].astype(str) + ">" + calls["target_name"].astype(str)).to_numpy(),
        "score": calls["score"].to_numpy(float),
        "strand1": ".",
        "strand2": ".",
        "qval": calls["qval"].to_numpy(float),
        "ism_epistasis": calls["ism_epistasis"].to_numpy(float),
        "task": calls["task"].to_numpy(),
        "window_id": calls["window_id"].astype(str).to_numpy(),
    }, columns=list(BEDPE_COLUMNS))


def element_instances(table: pd.DataFrame, sources: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every scored element instance once, as BED6 rows sorted by chrom and start.

    table : ``interactions.tsv`` (its sources and targets); sources : optional extra
    source instances with columns ``chrom``, ``start``, ``end``, ``name`` (genomic),
    e.g. sources whose only pair was with themselves and so have no row in ``table``.
    The shard tables keep no FIMO score or strand, so ``score`` and ``strand`` are ``.``.
    Returns a DataFrame with columns :data:`BED_COLUMNS`.
    """
    parts = [table[["chrom", f"{side}_start", f"{side}_end", f"{side}_name"]].set_axis(
        ["chrom", "start", "end", "name"], axis=1) for side in ("source", "target")]
    if sources is not None:
        parts.append(sources[["chrom", "start", "end", "name"]])
    el = pd.concat(parts, ignore_index=True).astype({"chrom": str, "name": str, "start": np.int64, "end": np.int64})
    el = el.drop_duplicates().sort_values(["chrom", "start", "end", "name"], kind="stable").reset_index(drop=True)
    return el.assign(score=".", strand=".")[list(BED_COLUMNS)]


def write_bedpe(bedpe: pd.DataFrame, path) -> None:
    """Write BEDPE rows with a ``#chrom1 ...`` header line (IGV and pybedtools skip it)."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write("#" + "\t".join(bedpe.columns) + "\n")
        bedpe.to_csv(fh, sep="\t", header=False, index=False, float_format="%.6g", na_rep="NA")


def write_bed(bed: pd.DataFrame, path) -> None:
    """Write BED rows without a header (0-based half-open)."""
    with atomic_path(path) as tmp:
        bed.to_csv(tmp, sep="\t", header=False, index=False)


def importance_intervals(chroms, starts, tracks: np.ndarray, contig_order) -> list[tuple[str, int, np.ndarray]]:
    """Window tracks → sorted, non-overlapping runs of per-base values for a bigWig.

    chroms, starts : (N,) window contigs and 0-based starts; tracks : (N, L) values of
    each window; contig_order : contig names in the order of the bigWig header.
    Windows are sorted by (contig, start, input order); where two overlap, the bases
    already covered by an earlier window keep its values and the later window is
    written from the first base after them (so a base's value is that of the window
    starting first). Returns ``(chrom, start, values)`` runs in writing order.
    """
    tracks = np.asarray(tracks)
    rank = {c: i for i, c in enumerate(contig_order)}
    chroms = [str(c) for c in chroms]
    missing = sorted({c for c in chroms if c not in rank})
    if missing:
        raise ValueError(f"windows on contigs {missing} are not in the genome index; rerun the workflow from "
                         f"`genome_index` (delete the .fai)")
    starts = np.asarray(starts, dtype=np.int64)
    order = sorted(range(len(chroms)), key=lambda i: (rank[chroms[i]], starts[i], i))
    runs, chrom, covered = [], None, 0
    for i in order:
        if chroms[i] != chrom:
            chrom, covered = chroms[i], 0
        a = max(int(starts[i]), covered)
        end = int(starts[i]) + tracks.shape[1]
        if a < end:
            runs.append((chrom, a, tracks[i, a - int(starts[i]):]))
            covered = end
    return runs


def call_file_name(row, suffix: str) -> str:
    """File name of one ranked interactions row (:func:`dfim.tables.top_rows`):
    ``top<rank>_<window>_<source>@<start>_<target>@<start>[_<substitution>]<suffix>``, with
    in-window starts and every character but letters, digits, ``.``, ``@``, ``-`` and ``_`` as ``_``."""
    import re

    parts = [f"top{int(row['rank'])}", str(row["window_id"]), f"{row['source_name']}@{int(row['source_win_start'])}",
             f"{row['target_name']}@{int(row['target_win_start'])}"]
    sub = str(row.get("substitution", "") or "")
    if sub and sub != "nan":
        parts.append(sub.replace(">", "to"))
    return re.sub(r"[^A-Za-z0-9.@_-]+", "_", "_".join(parts)) + suffix


def write_bigwig(path, chrom_sizes: dict, runs) -> None:
    """Write ``(chrom, start, values)`` runs (:func:`importance_intervals`) as a bigWig.

    chrom_sizes : contig → length, in the header's (and the runs') order. Values are
    written one base per entry (float32 in the file).
    """
    import pyBigWig

    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(str(c), int(n)) for c, n in chrom_sizes.items()])
            for chrom, start, values in runs:
                bw.addEntries(chrom, int(start), values=np.asarray(values, dtype=np.float64), span=1, step=1)
        finally:
            bw.close()

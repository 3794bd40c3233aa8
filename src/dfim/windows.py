"""Peaks → fixed-width windows → sequences, with every dropped peak recorded.

Peak files are BED or narrowPeak (optionally gzipped), 0-based half-open. Windows of
``width`` bp are centred on the narrowPeak summit (column 10, ``start + summit``) or,
without one, on the interval midpoint. A window that runs off its chromosome, holds
more than ``max_n_fraction`` N, overlaps the blacklist, or repeats an earlier window
exactly is dropped and recorded with its reason; nothing disappears silently.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError
from .genome import contig_name, read_fai
from .io import first_non_utf8_line, open_text

WINDOW_COLUMNS = ("window_id", "peak_set", "peak_name", "chrom", "start", "end", "peak_chrom", "peak_start",
                  "peak_end", "summit", "status", "reason", "index")


MAX_COORDINATE = 2**40  # far beyond any chromosome, far inside int64


@dataclass
class Peak:
    chrom: str
    start: int
    end: int
    name: str
    summit: int  # absolute position
    line: int


def read_peaks(path, what: str = "peak file", key: str = "peaks") -> list[Peak]:
    """Parse a BED/narrowPeak file; header lines (``track``, ``browser``, ``#``) are skipped.

    what : what the file is and key : the config key naming it, for the messages.
    Raises :class:`InputError` naming ``file:line`` for malformed rows.
    """
    peaks = []
    try:
        with open_text(path, what, key) as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.rstrip("\r\n").rstrip("\r")
                if not line.strip() or line.startswith(("track", "browser", "#")):
                    continue
                peaks.append(_parse_peak(line, path, lineno))
    except UnicodeDecodeError:
        raise InputError(
            f"{path}:{first_non_utf8_line(path)}: not UTF-8 text; {what}s are tab-separated text (BED), optionally gzipped; "
            "is this a binary file (e.g. bigBed, BAM)? Convert it to BED"
        ) from None
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(
            f"{path}: cannot be read to the end ({type(exc).__name__}: {exc}); the gzip file is probably "
            "truncated or corrupt; re-copy or re-compress it (gzip -t checks it)"
        ) from None
    return peaks


def _parse_peak(line: str, path, lineno: int) -> Peak:
    fields = line.split("\t")
    if len(fields) < 3:
        fields = line.split()
    where = f"{path}:{lineno}"
    if len(fields) < 3:
        raise InputError(f"{where}: expected at least 3 tab-separated columns (chrom, start, end), got {len(fields)}: {line[:80]!r}")
    chrom = fields[0]
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise InputError(
            f"{where}: start and end must be non-negative integers, got {fields[1]!r} and {fields[2]!r}; "
            "BED coordinates are 0-based integers"
        ) from None
    if start < 0 or end < 0:
        raise InputError(f"{where}: negative coordinate ({start}, {end}); BED coordinates are >= 0")
    if start >= end:
        raise InputError(f"{where}: start ({start}) must be < end ({end}); fix or remove this line")
    if end > MAX_COORDINATE:
        raise InputError(f"{where}: coordinate {end} is larger than any chromosome (> {MAX_COORDINATE}); "
                         "fix the coordinates or remove this line")
    name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else f"{chrom}:{start}-{end}"
    summit = (start + end) // 2
    if len(fields) >= 10:
        try:
            off = int(fields[9])
        except ValueError:
            raise InputError(f"{where}: narrowPeak column 10 (summit offset) must be an integer, got {fields[9]!r}") from None
        if off < -1:
            raise InputError(f"{where}: narrowPeak summit offset {off} is negative; it is the summit's distance "
                             "from the start (>= 0), or -1 when there is no summit")
        if off >= 0:
            if off >= end - start:
                raise InputError(f"{where}: summit offset {off} lies outside the peak of length {end - start}")
            summit = start + off
    return Peak(chrom, start, end, name, summit, lineno)


def make_windows(peak_set: str, peaks_path, fai_path, *, width: int, fasta_path=None,
                 max_n_fraction: float = 0.1, blacklist=None) -> pd.DataFrame:
    """Windows for one peak set; one row per peak, kept or dropped with a reason.

    Returns a DataFrame with ``WINDOW_COLUMNS``; kept windows have ``status == "kept"``
    and a running ``index`` (0..n_kept-1) that fixes their order in every later step.
    """
    peaks = read_peaks(peaks_path)
    if not peaks:
        raise InputError(f"peak file {peaks_path} holds no peaks (peak set {peak_set!r}); give a non-empty BED/narrowPeak file")
    contigs = read_fai(fai_path)
    rows = []
    for p in peaks:
        chrom = contig_name(p.chrom, contigs)
        if chrom is None:
            some = ", ".join(list(contigs)[:5])
            raise InputError(
                f"{peaks_path}:{p.line}: contig {p.chrom!r} is not in the genome FASTA (its contigs include {some}); "
                "use the FASTA the peaks were called on, or remove peaks on other contigs"
            )
        if p.start >= contigs[chrom]:
            raise InputError(
                f"{peaks_path}:{p.line}: peak {p.chrom}:{p.start}-{p.end} starts past the end of contig {chrom} "
                f"({contigs[chrom]} bp in the genome FASTA); the peaks were called on another assembly, or the line is wrong"
            )
        start = p.summit - width // 2
        end = start + width
        reason = ""
        if start < 0 or end > contigs[chrom]:
            reason = "off_chromosome_end"
        rows.append(dict(peak_set=peak_set, peak_name=p.name, chrom=chrom, start=start, end=end,
                         peak_chrom=p.chrom, peak_start=p.start, peak_end=p.end, summit=p.summit, reason=reason))
    df = pd.DataFrame(rows)
    dup = df.duplicated(["chrom", "start", "end"]) & (df["reason"] == "")
    df.loc[dup, "reason"] = "duplicate_window"
    if blacklist:
        hit = _blacklisted(df[df["reason"] == ""], read_regions(blacklist, contigs, "blacklist", "blacklist"))
        df.loc[hit, "reason"] = "blacklist"
    if fasta_path is not None and max_n_fraction < 1.0:
        import pysam

        with pysam.FastaFile(str(fasta_path)) as fa:
            for i in df.index[df["reason"] == ""]:
                s = fa.fetch(df.at[i, "chrom"], int(df.at[i, "start"]), int(df.at[i, "end"])).upper()
                n_frac = 1.0 - sum(s.count(b) for b in "ACGT") / max(len(s), 1)
                if n_frac > max_n_fraction:
                    df.at[i, "reason"] = "too_many_N"
    df["status"] = np.where(df["reason"] == "", "kept", "dropped")
    kept = df["status"] == "kept"
    df["index"] = -1
    df.loc[kept, "index"] = np.arange(int(kept.sum()))
    df["window_id"] = [f"{peak_set}:{c}:{s}-{e}" for c, s, e in zip(df["chrom"], df["start"], df["end"])]
    return df[list(WINDOW_COLUMNS)]


def read_regions(path, contigs, what: str, key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Regions of a BED file by the FASTA's contig name (:func:`dfim.genome.contig_name`),
    merged: ``{chrom: (starts, ends)}`` sorted and disjoint. Rows on contigs the genome
    lacks are left out; a file none of whose rows is on a genome contig is an error."""
    by_chrom: dict[str, list] = {}
    rows = read_peaks(path, what, key)
    for p in rows:
        c = contig_name(p.chrom, contigs)
        if c is not None:
            by_chrom.setdefault(c, []).append((p.start, p.end))
    if rows and not by_chrom:
        some = ", ".join(list(contigs)[:5])
        raise InputError(f"{path}: no row is on a contig of the genome FASTA (the file names "
                         f"{rows[0].chrom!r}, the FASTA {some}); give the {what} of the genome's assembly "
                         f"(`{key}` in the config)")
    merged = {}
    for c, iv in by_chrom.items():
        iv.sort()
        starts, ends = [iv[0][0]], [iv[0][1]]
        for a, b in iv[1:]:
            if a < ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        merged[c] = (np.array(starts, np.int64), np.array(ends, np.int64))
    return merged


def _blacklisted(df: pd.DataFrame, regions) -> pd.Index:
    """Index of the rows of ``df`` (chrom, start, end) sharing a base with ``regions``."""
    hit = []
    for c, g in df.groupby("chrom", sort=False):
        if c not in regions:
            continue
        starts, ends = regions[c]
        k = np.searchsorted(starts, g["end"].to_numpy(np.int64), side="left") - 1
        ok = (k >= 0) & (ends[np.maximum(k, 0)] > g["start"].to_numpy(np.int64))
        hit.extend(g.index[ok])
    return pd.Index(sorted(hit))


def count_peaks(path) -> int:
    """Number of peak lines (headers excluded); fixes the shard count at parse time."""
    n = 0
    try:
        with open_text(path, "peak file", "peaks") as fh:
            for line in fh:
                if line.strip() and not line.startswith(("track", "browser", "#")):
                    n += 1
    except UnicodeDecodeError:
        raise InputError(f"{path}:{first_non_utf8_line(path)}: not UTF-8 text; peak files are tab-separated text (BED or "
                         "narrowPeak), optionally gzipped; convert binary files (bigBed, BAM) to BED") from None
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{path}: cannot be read to the end ({type(exc).__name__}: {exc}); the gzip file is "
                         "probably truncated or corrupt; re-copy or re-compress it (gzip -t checks it)") from None
    return n


def assign_shards(df: pd.DataFrame, shard_size: int, n_shards: int) -> pd.DataFrame:
    """Add a ``shard`` column: kept window ``index // shard_size``, -1 for dropped rows.

    ``n_shards`` is the count the workflow fixed at parse time from the peak lines.
    """
    kept = df["status"] == "kept"
    if kept.sum() == 0:
        raise InputError(f"peak set {df['peak_set'].iloc[0]!r}: every peak was dropped "
                         f"({df['reason'].value_counts().to_dict()}); see the windows table for the reasons")
    df = df.copy()
    df["shard"] = -1
    df.loc[kept, "shard"] = df.loc[kept, "index"] // shard_size
    if df["shard"].max() >= n_shards:
        raise RuntimeError("more windows than peaks: shard count is inconsistent")
    return df

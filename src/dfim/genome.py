"""The reference genome: contig lengths, contig names across files, window sequences.

Peak, blacklist, element BED and VCF files often name contigs differently from the
FASTA (``chr1`` vs ``1``, ``chrM`` vs ``MT``); :func:`contig_name` is the one place
that reconciles them, so every file is read the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .sequences import one_hot

_MITOCHONDRIA = {"chrM": "MT", "MT": "chrM"}


def read_fai(fai_path) -> dict[str, int]:
    """Contig lengths from a ``.fai`` index: ``{name: length}`` in file order."""
    out = {}
    with open(fai_path) as fh:
        for line in fh:
            f = line.split("\t")
            if len(f) >= 2:
                out[f[0]] = int(f[1])
    return out


def contig_name(chrom: str, contigs) -> str | None:
    """The FASTA's name for ``chrom`` (``chr1`` vs ``1``, ``chrM`` vs ``MT``), or None.

    contigs : the FASTA's contig names (any container supporting ``in``).
    """
    if chrom in contigs:
        return chrom
    alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
    if alt in contigs:
        return alt
    if _MITOCHONDRIA.get(chrom) in contigs:
        return _MITOCHONDRIA[chrom]
    return None


def fetch_sequences(fasta_path, windows: pd.DataFrame) -> np.ndarray:
    """One-hot ``(n, L, 4)`` float32 sequences of ``windows`` (columns chrom, start, end).

    Soft-masked bases are upper-cased; N and other IUPAC codes become all-zero rows.
    """
    import pysam

    with pysam.FastaFile(str(fasta_path)) as fa:
        seqs = [fa.fetch(c, int(s), int(e)).upper() for c, s, e in zip(windows["chrom"], windows["start"], windows["end"])]
    for s, (c, a, b) in zip(seqs, windows[["chrom", "start", "end"]].itertuples(index=False)):
        if len(s) != b - a:
            raise InputError(f"{fasta_path}: window {c}:{a}-{b} is past the contig end (got {len(s)} bp)")
    if not seqs:
        return np.zeros((0, 0, 4), np.float32)
    return one_hot(seqs)

"""Source and target elements of each window, as mutation specs.

Modes (config key ``elements.mode``):

* ``summit``: mutate ``summit_width`` bp at the window centre, respond over the whole
  window (the 2018 README example);
* ``motifs``: motif instances found by FIMO (memelite) above a p-value threshold;
  every instance is a source and every instance outside its overlap cluster a target
  (hits sharing bases are one feature; the diagonal is NaN);
* ``bed``: user element BED files (genomic coordinates) for sources and targets; a
  target that shares bases with its source is not tested against it;
* ``per_base``: every base of a central sub-window (:func:`per_base_window`) is a
  1-bp source and a target; the workflow mutates each to its 3 other bases (strategy
  ``per_base``) and keeps the 2018 per-base maps (:func:`dfim.maps.per_base_window_maps`);
* ``variants``: SNVs of a VCF inside the windows are sources (mutated to the ALT
  allele) and the window's motif instances are targets (variant × motif); a variant
  inside a motif is reported as its disruption (:func:`relations`), not tested.

Element coordinates in specs are in-window (0-based half-open); ``seq`` is the
window's row in the shard's sequence array.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import logging

from .errors import InputError
from .genome import contig_name
from .specs import MutationSpecs, make_source
from .windows import read_peaks

log = logging.getLogger("dfim")

MODES = ("summit", "motifs", "bed", "per_base", "variants")


def element_specs(windows: pd.DataFrame, X: np.ndarray, el: dict, *, genome=None) -> MutationSpecs:
    """The mutation specs of one set of windows for the config section ``elements``.

    windows : rows of the windows table, in the order of ``X``; X : ``(n, L, 4)``
    their sequences; el : the ``elements`` config (``mode`` and that mode's keys);
    genome : the FASTA, needed by ``variants`` to check REF alleles.
    """
    mode = el["mode"]
    length = X.shape[1]
    if mode == "summit":
        return summit_specs(windows, length, el["summit_width"])
    if mode == "motifs":
        return motif_specs(windows, scan_motifs(X, el["motif_file"], el["motif_pvalue"]))
    if mode == "bed":
        return bed_specs(windows, el["sources_bed"], el.get("targets_bed"))
    if mode == "per_base":
        return per_base_specs(windows, length, el["per_base_width"])
    if mode == "variants":
        variants, skipped = read_variants(el["vcf"], windows, genome)
        log.info("%d SNVs in windows; skipped: %s", len(variants), skipped)
        return variant_specs(windows, variants, scan_motifs(X, el["motif_file"], el["motif_pvalue"]))
    raise InputError(f"config key elements.mode: unknown mode {mode!r}; choose one of {list(MODES)}")


def overlap_clusters(intervals) -> list[int]:
    """Cluster id of each ``(start, end)``: intervals joined by a chain of shared bases.

    FIMO hits of different motifs on the same bases (e.g. a FOXA1 hit inside a TAL1::TCF3
    site) are one feature to the model; their clusters say which hits those are.
    """
    order = sorted(range(len(intervals)), key=lambda k: intervals[k])
    cluster, current, end = [0] * len(intervals), -1, None
    for k in order:
        s, e = intervals[k]
        if end is None or s >= end:
            current += 1
            end = e
        else:
            end = max(end, e)
        cluster[k] = current
    return cluster


def _all_pairs(rows, seq, window_id, elements):
    """Append one spec per element of a window, each against every element of it.

    An element is not a target of any element of its overlap cluster
    (:func:`overlap_clusters`): perturbing the source destroys bases of those, which is
    not an interaction. The element itself stays (its map entry is the NaN diagonal).
    """
    cluster = overlap_clusters([(s, e) for _, s, e in elements])
    for k, (name, s, e) in enumerate(elements):
        targets = [el for m, el in enumerate(elements) if m == k or cluster[m] != cluster[k]]
        rows.append(make_source(key=f"{window_id}|{name}@{s}", seq=seq, mut_start=s, mut_end=e, mut_name=name,
                                resp_start=[a for _, a, _ in targets], resp_end=[b for _, _, b in targets],
                                resp_names=[n for n, _, _ in targets], alt="", where=f"window {window_id}"))


def relations(fis: pd.DataFrame, strategy: str) -> np.ndarray:
    """``"interaction"`` or ``"disruption"`` for every FIS row.

    A variant (strategy ``alt``) inside its target motif changes that motif's own bases:
    the target's importance changes because it is disrupted, not through an interaction,
    so such rows are reported but never tested or called.
    """
    if strategy != "alt" or not len(fis):
        return np.full(len(fis), "interaction", dtype=object)
    inside = (fis["mut_start"].to_numpy(int) < fis["resp_end"].to_numpy(int)) & (
        fis["resp_start"].to_numpy(int) < fis["mut_end"].to_numpy(int))
    return np.where(inside, "disruption", "interaction").astype(object)


def summit_specs(windows: pd.DataFrame, width: int, summit_width: int = 10) -> MutationSpecs:
    """One source of ``summit_width`` bp at each window's centre, one target: the window."""
    if not 0 < summit_width <= width:
        raise InputError(f"elements.summit_width must be within 1..{width} (the window width), got {summit_width}")
    s = width // 2 - summit_width // 2
    rows = [
        make_source(key=f"{w}|summit", seq=i, mut_start=s, mut_end=s + summit_width, mut_name="summit",
                     resp_start=[0], resp_end=[width], resp_names=["window"], alt="", where=f"window {w}")
        for i, w in enumerate(windows["window_id"])
    ]
    return MutationSpecs(rows)


def per_base_window(width: int, sub_width: int = 20) -> int:
    """Start of the central ``sub_width`` bp sub-window of mode ``per_base`` in a ``width`` bp window."""
    if not 0 < sub_width <= width:
        raise InputError(f"elements.per_base_width must be within 1..{width}, got {sub_width}")
    return width // 2 - sub_width // 2


def per_base_specs(windows: pd.DataFrame, width: int, sub_width: int = 20) -> MutationSpecs:
    """Each base of a central ``sub_width`` bp sub-window against each other base."""
    a = per_base_window(width, sub_width)
    rows = []
    for i, w in enumerate(windows["window_id"]):
        _all_pairs(rows, i, w, [(f"b{p}", p, p + 1) for p in range(a, a + sub_width)])
    return MutationSpecs(rows)


def scan_motifs(X: np.ndarray, motif_file: str, threshold: float = 1e-4) -> pd.DataFrame:
    """FIMO hits in ``X (n, L, 4)``: columns seq, motif, start, end, strand, score, pval.

    Overlapping hits of one motif (e.g. both strands of a palindrome) are reduced to the
    best-scoring one, so an instance is mutated once.
    """
    from memelite import fimo

    if len(X) == 0:
        return pd.DataFrame(columns=["seq", "motif", "start", "end", "strand", "score", "pval"])
    try:
        hits = fimo(motif_file, X.transpose(0, 2, 1).astype(np.float32), threshold=threshold)
    except (ValueError, IndexError, AttributeError, UnicodeDecodeError) as exc:
        raise InputError(f"motif file {motif_file} is not a valid MEME file ({type(exc).__name__}: {exc}); "
                         "dfim.validate.check_motif_file names the line") from None
    frames = [h for h in hits if len(h)]
    if not frames:
        return pd.DataFrame(columns=["seq", "motif", "start", "end", "strand", "score", "pval"])
    df = pd.concat(frames, ignore_index=True).rename(
        columns={"motif_name": "motif", "sequence_name": "seq", "p-value": "pval"})
    df["motif"] = df["motif"].astype(str).str.split().str[-1]  # "MA0035.4 GATA1" -> "GATA1"
    df = df.sort_values(["seq", "motif", "score", "start"], ascending=[True, True, False, True], kind="stable")
    keep = []
    for (_, _), g in df.groupby(["seq", "motif"], sort=False):
        taken = []
        for r in g.itertuples():
            if all(r.end <= s or r.start >= e for s, e in taken):
                taken.append((r.start, r.end))
                keep.append(r.Index)
    out = df.loc[keep, ["seq", "motif", "start", "end", "strand", "score", "pval"]]
    return out.sort_values(["seq", "start", "motif"], kind="stable").reset_index(drop=True)


def motif_specs(windows: pd.DataFrame, hits: pd.DataFrame) -> MutationSpecs:
    """Every motif instance of a window is a source and a target."""
    rows = []
    for i, w in enumerate(windows["window_id"]):
        h = hits[hits["seq"] == i]
        _all_pairs(rows, i, w, [(m, int(s), int(e)) for m, s, e in zip(h["motif"], h["start"], h["end"])])
    return MutationSpecs(rows)


def bed_specs(windows: pd.DataFrame, sources_bed: str, targets_bed: str | None = None) -> MutationSpecs:
    """Sources and targets from element BED files (genomic); elements wholly inside a window are used."""
    src = read_peaks(sources_bed, "element BED", "elements.sources_bed")
    tgt = read_peaks(targets_bed, "element BED", "elements.targets_bed") if targets_bed else src
    # element contigs by the windows' (the FASTA's) names: chr1 vs 1 as everywhere else
    contigs = set(windows["chrom"].astype(str))
    for p in (*src, *tgt):
        p.chrom = contig_name(p.chrom, contigs) or p.chrom
    rows = []
    for i, (w, c, ws, we) in enumerate(windows[["window_id", "chrom", "start", "end"]].itertuples(index=False)):
        def inside(elems):
            return [(p.name, p.start - ws, p.end - ws) for p in elems if p.chrom == c and p.start >= ws and p.end <= we]
        s_el, t_el = inside(src), inside(tgt)
        for name, s, e in s_el:
            # as in mode motifs: a target sharing bases with the source is no target of it
            targets = [(n, a, b) for n, a, b in t_el if (a, b) == (s, e) or b <= s or a >= e]
            if not targets:
                continue
            rows.append(make_source(key=f"{w}|{name}@{s}", seq=i, mut_start=s, mut_end=e, mut_name=name,
                                    resp_start=[a for _, a, _ in targets], resp_end=[b for _, _, b in targets],
                                    resp_names=[n for n, _, _ in targets], alt="", where=f"{sources_bed}: element {name}"))
    return MutationSpecs(rows)


def read_variants(vcf_path, windows: pd.DataFrame, fasta_path) -> tuple[pd.DataFrame, dict]:
    """SNVs of a VCF (pysam) that fall inside the windows.

    Indels and multi-allelic sites are skipped and counted (returned as a dict of
    reason -> count). A REF allele that disagrees with the genome stops the run: the
    VCF was made on another assembly or is malformed.

    Returns a DataFrame ``seq, pos (in-window), ref, alt, name`` and the skip counts.
    """
    import pysam

    skipped = {"indel": 0, "multi_allelic": 0, "outside_windows": 0}
    by_chrom = {c: g for c, g in windows.reset_index(drop=True).reset_index().groupby("chrom")}
    rows = []
    try:
        vf = pysam.VariantFile(str(vcf_path))
    except (OSError, ValueError, NotImplementedError) as exc:
        raise InputError(f"cannot read VCF {vcf_path}: {exc}; check the file (bgzip/tabix or plain VCF)") from None
    with vf, pysam.FastaFile(str(fasta_path)) as fa:
        contigs = set(fa.references)
        for rec in vf:
            alts = rec.alts or ()
            if len(alts) != 1:
                skipped["multi_allelic"] += 1
                continue
            if len(rec.ref) != 1 or len(alts[0]) != 1 or alts[0] not in tuple("ACGTacgt"):
                skipped["indel"] += 1
                continue
            chrom = contig_name(rec.chrom, contigs) or rec.chrom
            g = by_chrom.get(chrom)
            pos0 = rec.pos - 1
            if chrom in contigs:
                genome_base = fa.fetch(chrom, pos0, pos0 + 1).upper()
                if genome_base != rec.ref.upper():
                    raise InputError(
                        f"{vcf_path}: variant {rec.chrom}:{rec.pos} has REF {rec.ref} but the genome has {genome_base}; "
                        "the VCF and the FASTA must be on the same assembly"
                    )
            inside = g[(g["start"] <= pos0) & (g["end"] > pos0)] if g is not None else []
            if len(inside) == 0:
                skipped["outside_windows"] += 1
                continue
            name = rec.id or f"{rec.chrom}:{rec.pos}{rec.ref}>{alts[0]}"
            for seq, start in zip(inside["index"], inside["start"]):
                rows.append((int(seq), int(pos0 - start), rec.ref.upper(), alts[0].upper(), name))
    return pd.DataFrame(rows, columns=["seq", "pos", "ref", "alt", "name"]), skipped


def variant_specs(windows: pd.DataFrame, variants: pd.DataFrame, hits: pd.DataFrame) -> MutationSpecs:
    """Each SNV is a source (mutated to its ALT allele); the window's motif instances are targets."""
    rows = []
    for i, w in enumerate(windows["window_id"]):
        h = hits[hits["seq"] == i]
        if h.empty:
            continue
        for v in variants[variants["seq"] == i].itertuples(index=False):
            rows.append(make_source(key=f"{w}|{v.name}", seq=i, mut_start=v.pos, mut_end=v.pos + 1, mut_name=v.name,
                                     resp_start=h["start"].astype(int).tolist(), resp_end=h["end"].astype(int).tolist(),
                                     resp_names=h["motif"].tolist(), alt=v.alt, where=f"variant {v.name}"))
    return MutationSpecs(rows)

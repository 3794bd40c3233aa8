"""Checking everything a run depends on, once, before any scoring job.

Two levels, both raising :mod:`dfim.errors` exceptions whose message names the file and
line (or the config key) and says how to fix it:

* :func:`check_config` runs when the workflow is parsed (so ``snakemake -n`` already
  reports it): keys repeated in the config file (YAML silently keeps the last), repeated
  task indices, peak-set names, and that every file the config names is a regular file
  (not missing, a directory or a named pipe).
* :func:`validate_inputs` is the rule ``validate``, the first job of every peak set: the
  genome index, the model and its tasks, the peaks, the blacklist, the element BEDs,
  the VCF and the motif file are read in full, and every contig name is reconciled with
  the FASTA by :func:`dfim.genome.contig_name`. It returns a short summary (and logs
  warnings, e.g. when the number of elements per window explodes).
"""

from __future__ import annotations

import logging
import re

import yaml

from .errors import ConfigError, InputError
from .genome import contig_name, read_fai
from .io import require_file
from .models import check_model_path
from .windows import read_peaks, read_regions

log = logging.getLogger("dfim")

#: above this many elements per window, a warning gives the counts (pairs grow as its square)
MAX_ELEMENTS_PER_WINDOW = 50
_PEAK_SET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MOTIF_MODES = ("motifs", "variants")


# ---------------------------------------------------------------------------- config
class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key repeated in one mapping."""


def _strict_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigError(
                f"{loader.name}:{line}: key {key!r} is given twice (first at line {seen[key]}); YAML keeps only "
                "the last one, so the first would be ignored silently. Rename or remove one of them"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def load_config_strict(path) -> dict:
    """Load a YAML config file, raising :class:`ConfigError` (file:line) on a repeated key."""
    path = require_file(path, "config file")
    with open(path) as fh:
        loader = _StrictLoader(fh)
        loader.name = path
        try:
            return loader.get_single_data() or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        finally:
            loader.dispose()


def config_files(config: dict) -> list[tuple[str, str, str]]:
    """``(path, what, key)`` of every input file the config names (after schema defaults)."""
    el = config.get("elements", {})
    mode = el.get("mode", "summit")
    out = [(config["genome"], "genome FASTA", "genome"), (config["model"]["path"], "model file", "model.path")]
    out += [(p, "peak file", f"peaks.{name}") for name, p in config["peaks"].items()]
    if config.get("blacklist"):
        out.append((config["blacklist"], "blacklist", "blacklist"))
    if mode in _MOTIF_MODES and el.get("motif_file"):
        out.append((el["motif_file"], "motif file", "elements.motif_file"))
    if mode == "bed":
        out.append((el["sources_bed"], "element BED", "elements.sources_bed"))
        if el.get("targets_bed"):
            out.append((el["targets_bed"], "element BED", "elements.targets_bed"))
    if mode == "variants":
        out.append((el["vcf"], "VCF", "elements.vcf"))
    return out


def check_config(config: dict, configfiles=()) -> None:
    """The cheap checks of a schema-validated config, run when the workflow is parsed.

    configfiles : the YAML files the config came from; each is re-read refusing repeated
    keys. Raises :class:`ConfigError` or :class:`InputError`.
    """
    for f in configfiles:
        load_config_strict(f)
    tasks = list(config["model"].get("tasks", [0]))
    repeated = sorted({t for t in tasks if tasks.count(t) > 1})
    if repeated:
        raise ConfigError(
            f"config key model.tasks lists task {repeated[0]} more than once ({tasks}); every row and null value "
            f"would be counted twice. List each task once, e.g. tasks: {sorted(set(tasks))}"
        )
    for name in config["peaks"]:
        if not isinstance(name, str) or not _PEAK_SET.match(name):
            raise ConfigError(f"config key peaks: peak-set name {name!r} is used in file names (results/<name>/); "
                              "use letters, digits, '_', '.' and '-' only")
    for path, what, key in config_files(config):
        if what == "model file":
            check_model_path(path)
        else:
            require_file(path, what, key)


# ---------------------------------------------------------------------------- files
def check_bed(path, contigs, what: str, key: str, *, window: int | None = None) -> dict:
    """Read an element BED or blacklist in full; counts of its rows.

    Rows on contigs the genome lacks are counted (``off_genome``); a file with no row on
    a genome contig, or (given ``window``) no element that fits in a window, is an error.
    """
    rows = read_peaks(path, what, key)
    if not rows:
        raise InputError(f"{what} {path} holds no rows; give a non-empty BED file (`{key}` in the config)")
    read_regions(path, contigs, what, key)  # no row on a genome contig -> error
    off = sum(contig_name(p.chrom, contigs) is None for p in rows)
    if window is not None and all(p.end - p.start > window for p in rows):
        raise InputError(f"{path}: every element is longer than the {window} bp window, so none lies inside a "
                         f"window; give elements shorter than the window (`{key}`)")
    return {"rows": len(rows), "off_genome": off}


def read_motif_file(path, key: str = "elements.motif_file") -> list[dict]:
    """Parse a MEME motif file as memelite reads it, checking every line.

    Returns one dict per motif (``id``, ``name``, ``width``, ``line``) in file order.
    Raises :class:`InputError` naming ``file:line`` for a malformed matrix, a repeated
    motif id or a file without motifs.
    """
    path = require_file(path, "motif file", key)
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text; a MEME motif file is text (MEME minimal format)") from None
    motifs, current, rows_left, first = [], None, 0, {}
    lines = text.splitlines()
    for n, line in enumerate(lines, start=1):
        where = f"{path}:{n}"
        if current is not None and rows_left == 0 and "width" not in current:
            if line.startswith("MOTIF"):
                raise InputError(f"{path}:{current['line']}: motif {current['id']} has no 'letter-probability "
                                 "matrix:' line before the next MOTIF; add its matrix or remove it")
            if line.startswith("letter"):
                m = re.search(r"\bw=\s*(\d+)", line)
                if not m or int(m.group(1)) == 0:
                    raise InputError(f"{where}: the matrix line of motif {current['id']} needs 'w= <width>' "
                                     f"(a positive integer), got {line.strip()[:80]!r}")
                a = re.search(r"\balength=\s*(\d+)", line)
                if a and int(a.group(1)) != 4:
                    raise InputError(f"{where}: motif {current['id']} has alength= {a.group(1)}; DNA motifs have "
                                     "4 letters (A C G T)")
                current["width"] = rows_left = int(m.group(1))
            continue
        if rows_left:
            try:
                vals = [float(v) for v in line.split()]
            except ValueError:
                vals = None
            if vals is None or len(vals) != 4:
                raise InputError(
                    f"{where}: row {current['width'] - rows_left + 1} of motif {current['id']} must be 4 numbers "
                    f"(A C G T probabilities), got {line.strip()[:80]!r}; the matrix line says w= "
                    f"{current['width']}, so {current['width']} rows must follow it with no blank line")
            if min(vals) < 0 or abs(sum(vals) - 1) > 0.1:
                raise InputError(f"{where}: row of motif {current['id']} sums to {sum(vals):.3g}; MEME rows are "
                                 "letter probabilities (>= 0, summing to 1), not counts: normalise each row")
            rows_left -= 1
            if rows_left == 0:
                motifs.append(current)
                current = None
            continue
        if line.startswith("MOTIF"):
            parts = line[5:].split()
            if not parts:
                raise InputError(f"{where}: MOTIF line without an id; write 'MOTIF <id> [<name>]'")
            ident = parts[0]
            if ident in first:
                raise InputError(f"{where}: motif id {ident!r} appears twice (first at line {first[ident]}); the "
                                 "second would silently replace the first. Give each motif its own id")
            first[ident] = n
            current = {"id": ident, "name": parts[-1], "line": n}
    if current is not None:
        what = "has no 'letter-probability matrix:' line" if "width" not in current else (
            f"ends after {current['width'] - rows_left} of its {current['width']} rows")
        raise InputError(f"{path}:{current['line']}: motif {current['id']} {what}; the file is truncated")
    if not motifs:
        raise InputError(f"motif file {path} holds no motif (no 'MOTIF' line with a matrix); give a MEME-format "
                         f"file (`{key}`), or JASPAR ids in elements.jaspar_ids")
    return motifs


def check_vcf(path, fasta, contigs) -> dict:
    """Read a VCF in full against the genome; counts of SNVs and of skipped records.

    Refuses plain-gzip (not bgzip) files, REF alleles that disagree with the genome,
    and a VCF none of whose SNVs lies on a genome contig.
    """
    import pysam

    path = require_file(path, "VCF", "elements.vcf")
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] == b"\x1f\x8b" and not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
        raise InputError(f"VCF {path} is gzip-compressed but not with bgzip; recompress it: "
                         f"zcat {path} | bgzip > fixed.vcf.gz (bgzip comes with htslib/tabix)")
    counts = {"snv": 0, "indel": 0, "multi_allelic": 0, "off_genome": 0}
    try:
        vf = pysam.VariantFile(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise InputError(f"cannot read VCF {path}: {exc}; give a VCF (plain text or bgzipped) with a "
                         "'#CHROM POS ID REF ALT' header") from None
    off_names = set()
    n = 0
    try:
        with vf, pysam.FastaFile(str(fasta)) as fa:
            for n, rec in enumerate(vf, start=1):
                alts = rec.alts or ()
                if len(alts) != 1:
                    counts["multi_allelic"] += 1
                    continue
                if len(rec.ref) != 1 or len(alts[0]) != 1 or alts[0] not in tuple("ACGTacgt"):
                    counts["indel"] += 1
                    continue
                chrom = contig_name(rec.chrom, contigs)
                if chrom is None:
                    counts["off_genome"] += 1
                    off_names.add(rec.chrom)
                    continue
                if rec.pos < 1 or rec.pos > contigs[chrom]:
                    raise InputError(f"{path}: variant {rec.chrom}:{rec.pos} lies outside contig {chrom} "
                                     f"({contigs[chrom]} bp); the VCF and the FASTA must be on the same assembly")
                base = fa.fetch(chrom, rec.pos - 1, rec.pos).upper()
                if base != rec.ref.upper():
                    raise InputError(f"{path}: variant {rec.chrom}:{rec.pos} has REF {rec.ref} but the genome has "
                                     f"{base}; the VCF and the FASTA must be on the same assembly")
                counts["snv"] += 1
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: record {n + 1} (after the header) cannot be read ({exc}); fix or remove it") from None
    if counts["snv"] == 0:
        some = ", ".join(list(contigs)[:5])
        why = (f"its SNVs are on contigs the genome lacks ({', '.join(sorted(off_names)[:5])}; the FASTA has {some})"
               if off_names else "it holds no SNV (indels and multi-allelic sites are skipped)")
        raise InputError(f"VCF {path} gives no variant to score: {why}; check `elements.vcf` and `genome`")
    if off_names:
        log.warning("VCF %s: %d SNVs on contigs the genome lacks (%s) are skipped", path, counts["off_genome"],
                    ", ".join(sorted(off_names)[:5]))
    return counts


def check_genome(genome, fai) -> dict[str, int]:
    """Contig lengths of the genome's index; the FASTA must open with pysam."""
    import pysam

    require_file(genome, "genome FASTA", "genome")
    contigs = read_fai(fai)
    if not contigs:
        raise InputError(f"genome FASTA {genome} has no sequence (its index {fai} is empty); give a FASTA file")
    try:
        with pysam.FastaFile(str(genome)) as fa:
            first = next(iter(contigs))
            fa.fetch(first, 0, 1)
    except (OSError, ValueError) as exc:
        raise InputError(f"genome FASTA {genome} cannot be read ({exc}); give a plain or bgzipped FASTA "
                         "(plain gzip cannot be indexed: zcat it, or recompress with bgzip)") from None
    return contigs


# ---------------------------------------------------------------------------- the rule
def validate_inputs(config: dict, peak_set: str, fai, facts: dict | None = None) -> list[str]:
    """Check every input of ``peak_set``'s run (the workflow's rule ``validate``).

    config : the schema-validated workflow config; fai : the genome's ``.fai`` index.
    facts : if given, receives ``window``, the checked window width (the model's input
    length), so that later jobs need not load the model again.
    Returns summary lines; raises :class:`InputError`, :class:`ModelError` or
    :class:`ConfigError` with file/line or key and the fix.
    """
    from .models import load_model

    check_config(config)
    summary = []
    contigs = check_genome(config["genome"], fai)
    summary.append(f"genome {config['genome']}: {len(contigs)} contigs")

    model = load_model(config["model"]["path"])
    tasks = model.check_tasks(config["model"]["tasks"])
    width = config.get("window") or model.length
    if width != model.length:
        raise InputError(
            f"config key `window` is {width} bp but the model {model.path} takes {model.length} bp inputs; "
            f"set window: {model.length} (or leave it empty to use the model's length)")
    summary.append(f"model {model.path}: {model.length} bp inputs, {model.n_outputs} output(s), tasks {tasks}")
    if facts is not None:
        facts["window"] = width

    peaks_path = config["peaks"][peak_set]
    peaks = read_peaks(peaks_path, "peak file", f"peaks.{peak_set}")
    if not peaks:
        raise InputError(f"peak file {peaks_path} holds no peaks (peak set {peak_set!r}); give a non-empty "
                         "BED/narrowPeak file")
    for p in peaks:
        chrom = contig_name(p.chrom, contigs)
        if chrom is None:
            raise InputError(
                f"{peaks_path}:{p.line}: contig {p.chrom!r} is not in the genome FASTA (its contigs include "
                f"{', '.join(list(contigs)[:5])}); use the FASTA the peaks were called on, or remove peaks on "
                "other contigs")
        if p.start >= contigs[chrom]:
            raise InputError(
                f"{peaks_path}:{p.line}: peak {p.chrom}:{p.start}-{p.end} starts past the end of contig {chrom} "
                f"({contigs[chrom]} bp in the genome FASTA); the peaks were called on another assembly, or the "
                "line is wrong")
    summary.append(f"peaks {peaks_path}: {len(peaks)} peaks")

    if config.get("blacklist"):
        c = check_bed(config["blacklist"], contigs, "blacklist", "blacklist")
        summary.append(f"blacklist {config['blacklist']}: {c['rows']} regions, {c['off_genome']} on other contigs")

    el = config["elements"]
    mode = el["mode"]
    n_elements = None
    if mode == "bed":
        for key in ("sources_bed", "targets_bed"):
            if el.get(key):
                c = check_bed(el[key], contigs, "element BED", f"elements.{key}", window=width)
                summary.append(f"{key} {el[key]}: {c['rows']} elements, {c['off_genome']} on other contigs")
    if mode in _MOTIF_MODES:
        motif_file = el["motif_file"] or "results/jaspar_motifs.meme"
        motifs = read_motif_file(motif_file)
        long = [m for m in motifs if m["width"] > width]
        if long:
            m = long[0]
            raise InputError(f"{motif_file}:{m['line']}: motif {m['id']} is {m['width']} bp, longer than the "
                             f"{width} bp window, so it can never be found; remove it or use a longer window/model")
        fitting = sum(width - m["width"] + 1 for m in motifs)
        n_elements = 2 * fitting * el["motif_pvalue"]  # both strands, hits expected in random sequence
        summary.append(f"motif file {motif_file}: {len(motifs)} motifs; ~{n_elements:.3g} hits per window expected "
                       f"by chance at motif_pvalue {el['motif_pvalue']:g}")
    if mode == "variants":
        c = check_vcf(el["vcf"], config["genome"], contigs)
        summary.append(f"VCF {el['vcf']}: {c['snv']} SNVs; skipped {c['indel']} indels, {c['multi_allelic']} "
                       f"multi-allelic, {c['off_genome']} on other contigs")
    if mode == "per_base":
        if el["per_base_width"] > width:
            raise InputError(f"config key elements.per_base_width is {el['per_base_width']} bp, wider than the "
                             f"{width} bp window; set it to at most {width}")
        n_elements = el["per_base_width"]
    if mode == "summit" and el["summit_width"] > width:
        raise InputError(f"config key elements.summit_width is {el['summit_width']} bp, wider than the {width} bp "
                         f"window; set it to at most {width}")
    if n_elements is not None and n_elements > MAX_ELEMENTS_PER_WINDOW:
        hint = ("lower elements.motif_pvalue (e.g. 0.0001)" if mode in _MOTIF_MODES
                else "lower elements.per_base_width")
        log.warning("~%.0f elements per window (more than %d): about %.3g source x target pairs per window and "
                    "task, %.3g rows for %d peaks; %s", n_elements, MAX_ELEMENTS_PER_WINDOW, n_elements ** 2,
                    n_elements ** 2 * len(peaks) * len(tasks), len(peaks), hint)
    return summary

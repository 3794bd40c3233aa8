# Paths, input functions and config look-ups of the rule files. Every file that more
# than one rule names is spelled here once; {peak_set} (and {shard}) stay wildcards.

from snakemake.exceptions import WorkflowError

from dfim.steps import count_peaks, n_shards
from dfim.validate import check_config

GENOME = config["genome"]
GENOME_FAI = f"{GENOME}.fai"
MODEL = config["model"]["path"]
JASPAR_MOTIFS = "results/jaspar_motifs.meme"
WINDOWS = "results/{peak_set}/windows.tsv"
SHARD = "results/{peak_set}/shards/{shard}.h5"
INTERACTIONS = "results/{peak_set}/interactions.tsv"
MOTIF_PAIRS = "results/{peak_set}/motif_pairs.tsv"
MAPS = "results/{peak_set}/maps.h5"
VALIDATED = "results/{peak_set}/validated.txt"
PLOTS = "results/{peak_set}/plots"
TRACKS_BEDPE = "results/{peak_set}/tracks/interactions.bedpe"
TRACKS_ELEMENTS = "results/{peak_set}/tracks/elements.bed"
TRACKS_IMPORTANCE = "results/{peak_set}/tracks/importance.bw"
REPORT_PAGES = "results/{peak_set}/report/{page}.html"
CONFIG_PAGE = "results/config.html"
ELEMENT_BY_BASE = "results/{peak_set}/element_by_base.h5"
ELEMENT_BY_BASE_TRACKS = "results/{peak_set}/tracks/element_by_base"
ELEMENT_BY_BASE_PLOTS = "results/{peak_set}/element_by_base"


def check_config_at_parse():
    """Repeated YAML keys and tasks, missing/folder/pipe files: stop before any job (`-n` too)."""
    try:
        check_config(config, workflow.configfiles)
    except ValueError as exc:
        raise WorkflowError(f"DFIM input error: {exc}") from None


def peak_sets():
    return list(config["peaks"])


def peak_file(wildcards):
    return config["peaks"][wildcards.peak_set]


def shard_count(peak_set):
    # Fixed at parse time from the number of peak lines (an upper bound on windows),
    # so `snakemake -n` lists every job; trailing shards may hold no window.
    return n_shards(count_peaks(config["peaks"][peak_set]), config["shard_size"])


def shard_files(wildcards):
    return expand(
        SHARD,
        peak_set=wildcards.peak_set,
        shard=range(shard_count(wildcards.peak_set)),
    )


def validation_config(wildcards):
    """The config keys the inputs of one peak set are checked against (others do not rerun it)."""
    keys = ("genome", "blacklist", "window", "model", "elements")
    return dict(
        {k: config[k] for k in keys}, peaks={wildcards.peak_set: peak_file(wildcards)}
    )


def blacklist_file():
    return config["blacklist"] or []


def element_files():
    """The element BEDs of mode bed and the VCF of mode variants: inputs of every shard."""
    el = config["elements"]
    if el["mode"] == "bed":
        return [f for f in (el["sources_bed"], el["targets_bed"]) if f]
    if el["mode"] == "variants":
        return [el["vcf"]]
    return []


def motif_file():
    """The motif file of modes motifs/variants: the user's, or one written from JASPAR."""
    el = config["elements"]
    if el["mode"] not in ("motifs", "variants"):
        return []
    return el["motif_file"] or JASPAR_MOTIFS


def report_page(page):
    return expand(REPORT_PAGES, page=page, allow_missing=True)[0]


def scoring_settings():
    """The config sections the run summary reports (what was scored, how)."""
    return {k: config[k] for k in ("null", "importance", "mutation", "elements")}


def plot_labels(wildcards, output):
    """Report labels of one figure in plots/: its peak set, name and what it shows (the
    window or pair, from plots/figures.tsv written beside the figures)."""
    import csv
    import os

    shows = ""
    listing = os.path.join(output[0], "figures.tsv")
    if os.path.exists(listing):
        with open(listing) as fh:
            rows = {r["figure"]: r["shows"] for r in csv.DictReader(fh, delimiter="\t")}
        shows = rows.get(f"{wildcards.name}.png", "")
    return {"peak set": wildcards.peak_set, "plot": wildcards.name, "shows": shows}


def final_outputs():
    pages = [report_page(p) for p in ("summary", "interactions", "pairs", "windows")]
    return [CONFIG_PAGE] + expand(
        [
            INTERACTIONS,
            MOTIF_PAIRS,
            MAPS,
            WINDOWS,
            PLOTS,
            TRACKS_BEDPE,
            TRACKS_ELEMENTS,
            TRACKS_IMPORTANCE,
            *pages,
            ELEMENT_BY_BASE,
            ELEMENT_BY_BASE_TRACKS,
            ELEMENT_BY_BASE_PLOTS,
        ],
        peak_set=peak_sets(),
    )


check_config_at_parse()

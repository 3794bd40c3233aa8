# Paths, input functions and config look-ups of the rule files. Every file that more
# than one rule names is spelled here once; {peak_set} (and {shard}) stay wildcards.

from dfim.steps import count_peaks, n_shards

GENOME = config["genome"]
GENOME_FAI = f"{GENOME}.fai"
MODEL = config["model"]["path"]
JASPAR_MOTIFS = "results/jaspar_motifs.meme"
WINDOWS = "results/{peak_set}/windows.tsv"
SHARD = "results/{peak_set}/shards/{shard}.h5"
INTERACTIONS = "results/{peak_set}/interactions.tsv"
MOTIF_PAIRS = "results/{peak_set}/motif_pairs.tsv"
MAPS = "results/{peak_set}/maps.h5"
PLOTS = "results/{peak_set}/plots"


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


def motif_file():
    """The motif file of modes motifs/variants: the user's, or one written from JASPAR."""
    el = config["elements"]
    if el["mode"] not in ("motifs", "variants"):
        return []
    return el["motif_file"] or JASPAR_MOTIFS


def final_outputs():
    return expand(
        [INTERACTIONS, MOTIF_PAIRS, MAPS, WINDOWS, PLOTS],
        peak_set=peak_sets(),
    )

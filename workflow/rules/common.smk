import os

from dfim.steps import count_peaks, n_shards


def peak_sets():
    return list(config["peaks"])


def shard_count(peak_set):
    # Fixed at parse time from the number of peak lines (an upper bound on windows),
    # so `snakemake -n` lists every job; trailing shards may hold no window.
    return n_shards(count_peaks(config["peaks"][peak_set]), config["shard_size"])


def shard_files(wildcards):
    return expand(
        "results/{peak_set}/shards/{shard}.h5",
        peak_set=wildcards.peak_set,
        shard=range(shard_count(wildcards.peak_set)),
    )


def motif_file():
    """The motif file of modes motifs/variants: the user's, or one written from JASPAR."""
    el = config["elements"]
    if el["mode"] not in ("motifs", "variants"):
        return []
    return el["motif_file"] or "results/jaspar_motifs.meme"


def peak_file(wildcards):
    return config["peaks"][wildcards.peak_set]


def final_outputs():
    return expand(
        [
            "results/{peak_set}/interactions.tsv",
            "results/{peak_set}/motif_pairs.tsv",
            "results/{peak_set}/maps.h5",
            "results/{peak_set}/windows.tsv",
            "results/{peak_set}/plots",
        ],
        peak_set=peak_sets(),
    )

rule windows:
    input:
        validated=VALIDATED,
        peaks=peak_file,
        genome=GENOME,
        fai=GENOME_FAI,
        blacklist=blacklist_file(),
    output:
        WINDOWS,
    log:
        "logs/{peak_set}/windows.log",
    benchmark:
        "benchmarks/{peak_set}/windows.tsv"
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        max_n_fraction=config["max_n_fraction"],
        shard_size=config["shard_size"],
        n_shards=lambda w: shard_count(w.peak_set),
    script:
        "../scripts/windows.py"

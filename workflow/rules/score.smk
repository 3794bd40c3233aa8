rule score_shard:
    input:
        validated=VALIDATED,
        windows=WINDOWS,
        motifs=motif_file(),
        elements=element_files(),
        genome=GENOME,
        fai=GENOME_FAI,
        model=MODEL,
    output:
        SHARD,
    log:
        "logs/{peak_set}/score_shard/{shard}.log",
    benchmark:
        "benchmarks/{peak_set}/score_shard/{shard}.tsv"
    conda:
        "../../envs/dfim.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: 6000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    params:
        elements=config["elements"],
        importance=config["importance"],
        mutation=config["mutation"],
        map=config["map"],
        null=config["null"],
        model=config["model"],
        seed=config["seed"],
    script:
        "../scripts/score_shard.py"

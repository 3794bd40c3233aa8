rule score_shard:
    input:
        windows=WINDOWS,
        motifs=motif_file(),
        genome=GENOME,
        fai=GENOME_FAI,
        model=MODEL,
    output:
        SHARD,
    params:
        elements=config["elements"],
        importance=config["importance"],
        mutation=config["mutation"],
        map=config["map"],
        null=config["null"],
        model=config["model"],
        seed=config["seed"],
    threads: 2
    log:
        "logs/{peak_set}/score_shard/{shard}.log",
    benchmark:
        "benchmarks/{peak_set}/score_shard/{shard}.tsv"
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=lambda wildcards, attempt: 120 * attempt,
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/score_shard.py"

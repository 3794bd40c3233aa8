rule jaspar_motifs:
    output:
        "results/jaspar_motifs.meme",
    params:
        ids=config["elements"]["jaspar_ids"],
        release=config["elements"]["jaspar_release"],
    log:
        "logs/jaspar_motifs.log",
    benchmark:
        "benchmarks/jaspar_motifs.tsv"
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/jaspar_motifs.py"


rule score_shard:
    input:
        windows="results/{peak_set}/windows.tsv",
        motifs=motif_file(),
        genome=config["genome"],
        fai=config["genome"] + ".fai",
        model=config["model"]["path"],
    output:
        "results/{peak_set}/shards/{shard}.h5",
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

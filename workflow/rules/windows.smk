rule genome_index:
    input:
        config["genome"],
    output:
        config["genome"] + ".fai",
    log:
        "logs/genome_index.log",
    benchmark:
        "benchmarks/genome_index.tsv"
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/genome_index.py"


rule windows:
    input:
        peaks=peak_file,
        genome=config["genome"],
        fai=config["genome"] + ".fai",
        model=config["model"]["path"],
    output:
        "results/{peak_set}/windows.tsv",
    params:
        window=config["window"],
        max_n_fraction=config["max_n_fraction"],
        blacklist=config["blacklist"],
        shard_size=config["shard_size"],
        tasks=config["model"]["tasks"],
        n_shards=lambda w: shard_count(w.peak_set),
    log:
        "logs/{peak_set}/windows.log",
    benchmark:
        "benchmarks/{peak_set}/windows.tsv"
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/windows.py"

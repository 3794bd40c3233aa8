rule plots:
    input:
        interactions=INTERACTIONS,
        pairs=MOTIF_PAIRS,
        windows=WINDOWS,
        shards=shard_files,
    output:
        report(
            directory(PLOTS),
            patterns=["{name}.png"],
            caption="../report/plots.rst",
            category="Plots",
            labels={"peak set": "{peak_set}", "plot": "{name}"},
        ),
    log:
        "logs/{peak_set}/plots.log",
    benchmark:
        "benchmarks/{peak_set}/plots.tsv"
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        top=config["plots"]["top"],
    script:
        "../scripts/plots.py"

rule gather:
    input:
        shards=shard_files,
    output:
        interactions=report(
            "results/{peak_set}/interactions.tsv",
            caption="../report/interactions.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "interactions"},
        ),
        pairs=report(
            "results/{peak_set}/motif_pairs.tsv",
            caption="../report/motif_pairs.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "motif pairs"},
        ),
        maps="results/{peak_set}/maps.h5",
    params:
        pvalue=config["pvalue"],
    log:
        "logs/{peak_set}/gather.log",
    benchmark:
        "benchmarks/{peak_set}/gather.tsv"
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=60,
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/gather.py"


rule plots:
    input:
        interactions="results/{peak_set}/interactions.tsv",
        pairs="results/{peak_set}/motif_pairs.tsv",
        windows="results/{peak_set}/windows.tsv",
        shards=shard_files,
    output:
        report(
            directory("results/{peak_set}/plots"),
            patterns=["{name}.png"],
            caption="../report/plots.rst",
            category="Plots",
            labels={"peak set": "{peak_set}", "plot": "{name}"},
        ),
    params:
        top=config["plots"]["top"],
    log:
        "logs/{peak_set}/plots.log",
    benchmark:
        "benchmarks/{peak_set}/plots.tsv"
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/plots.py"

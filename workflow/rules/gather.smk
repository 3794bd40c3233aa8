rule gather:
    input:
        shards=shard_files,
    output:
        interactions=report(
            INTERACTIONS,
            caption="../report/interactions.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "interactions"},
        ),
        pairs=report(
            MOTIF_PAIRS,
            caption="../report/motif_pairs.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "motif pairs"},
        ),
        maps=MAPS,
    log:
        "logs/{peak_set}/gather.log",
    benchmark:
        "benchmarks/{peak_set}/gather.tsv"
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=60,
    params:
        null=config["null"],
        pvalue=config["pvalue"],
    script:
        "../scripts/gather.py"

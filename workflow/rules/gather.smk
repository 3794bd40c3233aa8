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

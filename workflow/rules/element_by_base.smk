rule element_by_base:
    input:
        interactions=INTERACTIONS,
        windows=WINDOWS,
        shards=shard_files,
        fai=GENOME_FAI,
    output:
        h5=ELEMENT_BY_BASE,
        bigwigs=directory(ELEMENT_BY_BASE_TRACKS),
        plots=report(
            directory(ELEMENT_BY_BASE_PLOTS),
            patterns=["{name}.png"],
            caption="../report/element_by_base.rst",
            category="Element by base",
            labels={"peak set": "{peak_set}", "interaction": "{name}"},
        ),
    log:
        "logs/{peak_set}/element_by_base.log",
    benchmark:
        "benchmarks/{peak_set}/element_by_base.tsv"
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        top=config["outputs"]["element_by_base_top"],
    script:
        "../scripts/element_by_base.py"

rule validate:
    input:
        peaks=peak_file,
        genome=GENOME,
        fai=GENOME_FAI,
        model=MODEL,
        blacklist=blacklist_file(),
        elements=element_files(),
        motifs=motif_file(),
    output:
        VALIDATED,
    log:
        "logs/{peak_set}/validate.log",
    benchmark:
        "benchmarks/{peak_set}/validate.tsv"
    retries: 0
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        config=validation_config,
    script:
        "../scripts/validate.py"

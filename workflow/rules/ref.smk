rule genome_index:
    input:
        GENOME,
    output:
        GENOME_FAI,
    log:
        "logs/genome_index.log",
    benchmark:
        "benchmarks/genome_index.tsv"
    conda:
        "../../envs/dfim.yaml"
    script:
        "../scripts/genome_index.py"

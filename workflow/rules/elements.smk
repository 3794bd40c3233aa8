rule jaspar_motifs:
    output:
        JASPAR_MOTIFS,
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

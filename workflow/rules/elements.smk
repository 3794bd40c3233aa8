rule jaspar_motifs:
    output:
        JASPAR_MOTIFS,
    log:
        "logs/jaspar_motifs.log",
    benchmark:
        "benchmarks/jaspar_motifs.tsv"
    conda:
        "../../envs/dfim.yaml"
    params:
        ids=config["elements"]["jaspar_ids"],
        release=config["elements"]["jaspar_release"],
    script:
        "../scripts/jaspar_motifs.py"

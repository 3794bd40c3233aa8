rule tracks:
    input:
        interactions=INTERACTIONS,
        shards=shard_files,
        fai=GENOME_FAI,
    output:
        bedpe=TRACKS_BEDPE,
        bed=TRACKS_ELEMENTS,
        bigwig=TRACKS_IMPORTANCE,
    log:
        "logs/{peak_set}/tracks.log",
    benchmark:
        "benchmarks/{peak_set}/tracks.tsv"
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=30,
    script:
        "../scripts/tracks.py"

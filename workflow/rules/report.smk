rule report_tables:
    input:
        interactions=INTERACTIONS,
        pairs=MOTIF_PAIRS,
        windows=WINDOWS,
        validated=VALIDATED,
        plots=PLOTS,
    output:
        summary=report(
            report_page("summary"),
            caption="../report/summary.rst",
            category="Run summary",
            labels={"peak set": "{peak_set}", "page": "run summary"},
        ),
        interactions=report(
            report_page("interactions"),
            caption="../report/interactions_table.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "interactions (searchable)"},
        ),
        pairs=report(
            report_page("pairs"),
            caption="../report/motif_pairs.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "motif pairs (searchable)"},
        ),
        windows=report(
            report_page("windows"),
            caption="../report/windows.rst",
            category="Tables",
            labels={"peak set": "{peak_set}", "table": "windows (searchable)"},
        ),
    log:
        "logs/{peak_set}/report_tables.log",
    benchmark:
        "benchmarks/{peak_set}/report_tables.tsv"
    conda:
        "../../envs/dfim.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=scoring_settings(),
    script:
        "../scripts/report_tables.py"


rule config_page:
    output:
        report(
            CONFIG_PAGE,
            caption="../report/config.rst",
            category="Run summary",
            labels={"page": "config used"},
        ),
    log:
        "logs/config_page.log",
    benchmark:
        "benchmarks/config_page.tsv"
    conda:
        "../../envs/dfim.yaml"
    params:
        config=config,
    script:
        "../scripts/config_page.py"

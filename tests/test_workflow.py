"""The workflow end to end on a tiny input, plus lint and dry runs for every mode."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfim.tables import INTERACTION_COLUMNS, PAIR_COLUMNS
from workflow_data import make_inputs

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"),
             "--workflow-profile", "none"]


def run_smk(root, *args, check=True):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    res = subprocess.run(SNAKEMAKE + ["--directory", str(root), *args], capture_output=True, text=True, env=env)
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
    return res


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wf")
    make_inputs(root)
    run_smk(root, "--cores", "2")
    return root


def test_end_to_end_tables_follow_the_contract(tiny_run):
    out = tiny_run / "results" / "tiny"
    inter = pd.read_csv(out / "interactions.tsv", sep="\t")
    assert tuple(inter.columns) == INTERACTION_COLUMNS
    assert len(inter) > 0
    assert np.isfinite(inter["score"]).all()
    assert ((inter["pval"] > 0) & (inter["pval"] <= 1)).all()
    assert (inter["qval"] >= inter["pval"] - 1e-12).all()
    assert (inter["source_start"] - inter["window_start"] == inter["source_win_start"]).all()
    pairs = pd.read_csv(out / "motif_pairs.tsv", sep="\t")
    assert tuple(pairs.columns) == PAIR_COLUMNS
    assert set(pairs["source_name"]) <= {"GATA", "TAL"}
    assert pairs["combined_p"].is_monotonic_increasing
    windows = pd.read_csv(out / "windows.tsv", sep="\t")
    assert (windows["status"] == "kept").sum() == 6
    listed = pd.read_csv(out / "plots" / "figures.tsv", sep="\t")
    assert sorted(listed["figure"]) == sorted(p.name for p in (out / "plots").glob("*.png"))
    for name in ("qq", "motif_pairs", "map_top1", "delta_top1"):
        for ext in ("png", "pdf", "svg"):  # every figure in the three formats
            assert (out / "plots" / f"{name}.{ext}").stat().st_size > 0
    import h5py

    with h5py.File(out / "maps.h5") as f:
        assert f["hyp_scores"].shape == f["input_seqs"].shape == (6, 100, 4)
        assert f["coords_chrom"].shape == (6,)
    assert not list(out.rglob("*.tmp"))


def test_end_to_end_browser_tracks(tiny_run):
    import pyBigWig
    import pybedtools

    out = tiny_run / "results" / "tiny"
    tracks = out / "tracks"
    inter = pd.read_csv(out / "interactions.tsv", sep="\t")
    calls = pybedtools.BedTool(str(tracks / "interactions.bedpe"))
    assert len(calls) == int((inter["qval"] < 0.05).sum())
    elements = pybedtools.BedTool(str(tracks / "elements.bed"))
    assert {iv.name for iv in elements} >= set(inter["source_name"]) and len(elements) > 0
    windows = pd.read_csv(out / "windows.tsv", sep="\t")
    w = windows[windows["status"] == "kept"].iloc[0]
    with pyBigWig.open(str(tracks / "importance.bw")) as bw:
        assert set(bw.chroms()) == {"chr1", "chr2"}
        assert np.isfinite(bw.values(w["chrom"], int(w["start"]), int(w["end"]))).all()
    assert len(list((tracks / "element_by_base").glob("top*.bw"))) == min(4, len(inter))
    assert len(list((out / "element_by_base").glob("top*.png"))) == min(4, len(inter))
    log = (tiny_run / "logs" / "tiny" / "score_shard" / "0.log").read_text()
    assert "shard 0: scoring done" in log and "s elapsed" in log


@pytest.fixture(scope="module")
def per_base_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wf_per_base")
    make_inputs(root, mode="per_base", extra={"elements": {"mode": "per_base", "per_base_width": 6},
                                              "outputs": {"element_by_base_top": 2}})
    run_smk(root, "--cores", "2")
    return root


def test_per_base_mode_writes_the_2018_per_base_maps(per_base_run):
    """Each base of the 6-bp sub-window (47-53) mutated to its 3 other bases: the table's rows
    are the L x L summary (max over the substitutions), and maps.h5 keeps the 5-D deltas."""
    import h5py

    out = per_base_run / "results" / "tiny"
    inter = pd.read_csv(out / "interactions.tsv", sep="\t")
    assert tuple(inter.columns) == INTERACTION_COLUMNS
    assert len(inter) == 6 * 6 * 5  # windows x (source, target) base pairs off the diagonal
    assert inter["substitution"].str.fullmatch(r"[ACGT]>[ACGT]").all()
    assert (inter["source_win_end"] - inter["source_win_start"] == 1).all() and inter["pval"].notna().all()
    with h5py.File(out / "maps.h5") as f:
        delta, summary = f["per_base/delta"][()], f["per_base/summary"][()]
        start = int(f["per_base/positions"][0])
        wid = list(f["window_id"][()].astype(str))
        seqs = f["input_seqs"][()]
        mutants = {c: f[f"mutants/{c}"][()] for c in ("mutant", "seq", "pos", "orig_base", "new_base")}
        tracks = f["delta_tracks"][()]
    assert start == 47 and delta.shape == (1, 6, 6, 4, 4, 6, 4) and summary.shape == (1, 6, 6, 6)
    n = np.array([wid.index(w) for w in inter["window_id"]])
    p, i = inter["source_win_start"] - start, inter["target_win_start"] - start
    np.testing.assert_allclose(inter["score"], summary[0, n, p, i], rtol=1e-5)
    # the named substitution is the one whose channel-summed |delta| is the summary
    o = seqs[n, inter["source_win_start"]].argmax(-1)
    m = inter["substitution"].str[2].map("ACGT".index).to_numpy()
    np.testing.assert_allclose(np.abs(delta[0, n, p, o, m, i]).sum(-1), inter["score"], rtol=1e-5)
    assert np.isnan(np.diagonal(summary, axis1=2, axis2=3)).all()

    # element by base: the top 2 rows' responses over the whole window, as HDF5, bigWig and figures
    import pyBigWig

    with h5py.File(out / "element_by_base.h5") as f:
        response = f["response"][()]
        calls = pd.DataFrame({c: f[f"calls/{c}"][()] for c in ("rank", "window_id", "source_win_start",
                                                               "substitution", "window_start", "chrom")})
    assert response.shape == (2, 100) and list(calls["rank"]) == [1, 2]
    best = inter.sort_values(["qval", "score"], ascending=[True, False], kind="stable").iloc[0]
    row = calls.iloc[0]
    assert row["window_id"].decode() == best["window_id"] and row["substitution"].decode() == best["substitution"]
    sub = best["substitution"]
    k = np.flatnonzero((mutants["seq"] == wid.index(best["window_id"])) & (mutants["pos"] == best["source_win_start"])
                       & (mutants["orig_base"].astype(str) == sub[0]) & (mutants["new_base"].astype(str) == sub[2]))
    np.testing.assert_allclose(response[0], tracks[0, mutants["mutant"][k[0]]], rtol=1e-6)
    assert response[0, best["source_win_start"]] == 0 and response[0].max() > 0  # the source is masked
    bigwigs = sorted((out / "tracks" / "element_by_base").glob("*.bw"))
    pngs = sorted((out / "element_by_base").glob("*.png"))
    assert [b.name.split("_")[0] for b in bigwigs] == ["top1", "top2"] and len(pngs) == 2
    with pyBigWig.open(str(bigwigs[0])) as bw:
        assert set(bw.chroms()) == {"chr1", "chr2"}
        ws = int(row["window_start"])
        got = np.array(bw.values(row["chrom"].decode(), ws, ws + 100))
        np.testing.assert_allclose(got, response[0], rtol=1e-6)
        assert np.isnan(bw.values(row["chrom"].decode(), ws - 5, ws)).all()  # nothing outside the window


def test_rerun_is_a_no_op(tiny_run):
    res = run_smk(tiny_run, "--cores", "1", "-n")
    assert "Nothing to be done" in res.stdout + res.stderr


def test_lint_is_clean(tiny_run):
    res = run_smk(tiny_run, "--lint", check=False)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("mode", ["summit", "motifs", "per_base", "bed", "variants"])
def test_dry_run_every_mode(tmp_path, mode):
    extra = {"elements": {"mode": mode, "sources_bed": "peaks.narrowPeak", "vcf": "variants.vcf"}}
    make_inputs(tmp_path, mode=mode, extra=extra)
    (tmp_path / "variants.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    res = run_smk(tmp_path, "-n", "--cores", "1")
    assert "validate" in res.stdout and "score_shard" in res.stdout


def embedded_pages(report_html: str) -> dict:
    """The HTML pages a Snakemake report embeds (base64 data URIs), by file name."""
    import base64
    import re

    found = re.findall(r"data:text/html;charset=utf8;filename=([^;]+);base64,([A-Za-z0-9+/=]+)", report_html)
    return {name: base64.b64decode(data).decode() for name, data in found}


def test_report_embeds_tables_and_plots(tiny_run):
    run_smk(tiny_run, "--report", "report.html")
    html = (tiny_run / "report.html").read_text(errors="replace")
    assert "interactions.tsv" in html and "qq.png" in html
    pages = embedded_pages(html)
    assert {"summary.html", "interactions.html", "pairs.html", "windows.html", "config.html"} <= set(pages)
    out = tiny_run / "results" / "tiny"
    inter = pd.read_csv(out / "interactions.tsv", sep="\t")
    # every row of the (small) table is in the page: one <tr> per row plus the header
    assert pages["interactions.html"].count("<tr") == len(inter) + 1
    for wid in inter["window_id"].unique():
        assert f"<td>{wid}</td>" in pages["interactions.html"]
    windows = pd.read_csv(out / "windows.tsv", sep="\t")
    assert pages["windows.html"].count("<tr") == len(windows) + 1
    pairs = pd.read_csv(out / "motif_pairs.tsv", sep="\t")
    assert pages["pairs.html"].count("<tr") == len(pairs) + 1
    assert "random_source" in pages["summary.html"] and "deeplift" in pages["summary.html"]
    assert "motifs.meme" in pages["config.html"]
    # the figures' labels name what each shows (plots/figures.tsv)
    assert "interaction map of window" in html


def test_mode_without_its_file_is_a_schema_error(tmp_path):
    make_inputs(tmp_path, extra={"elements": {"mode": "variants"}})
    res = run_smk(tmp_path, "-n", check=False)
    assert res.returncode != 0 and "vcf" in res.stdout + res.stderr


def test_schema_violation_names_the_key(tmp_path):
    make_inputs(tmp_path, extra={"shard_size": "ten"})
    res = run_smk(tmp_path, "-n", check=False)
    assert res.returncode != 0
    assert "shard_size" in res.stdout + res.stderr


@pytest.mark.parametrize("extra,message", [
    ({"window": 50}, "takes 100 bp inputs"),
    ({"model": {"path": "model.h5", "tasks": [3]}}, "task index 3 is past the model's outputs"),
])
def test_bad_model_settings_stop_before_scoring(tmp_path, extra, message):
    make_inputs(tmp_path, extra=extra)
    res = run_smk(tmp_path, "--cores", "1", check=False)
    assert res.returncode != 0
    assert message in (tmp_path / "logs" / "tiny" / "validate.log").read_text()
    assert "DFIM ERROR: " in res.stderr and message in res.stderr  # on the terminal, once, no traceback
    assert res.stderr.count(message) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "results" / "tiny" / "shards").exists()


def test_missing_contig_stops_with_file_and_line(tmp_path):
    make_inputs(tmp_path)
    with open(tmp_path / "peaks.narrowPeak", "a") as fh:
        fh.write("chrUn\t10\t90\tbad\t0\t.\t1\t1\t1\t40\n")
    res = run_smk(tmp_path, "--cores", "1", check=False)
    assert res.returncode != 0
    message = "peaks.narrowPeak:7: contig 'chrUn' is not in the genome FASTA"
    assert message in (tmp_path / "logs" / "tiny" / "validate.log").read_text() and message in res.stderr


def test_side_files_are_inputs_of_their_rules(tmp_path):
    """Editing the blacklist, a VCF, an element BED or the motif file reruns the jobs that read it."""
    extra = {"blacklist": "blacklist.bed", "elements": {"mode": "variants", "vcf": "variants.vcf"}}
    make_inputs(tmp_path, mode="variants", extra=extra)
    (tmp_path / "blacklist.bed").write_text("chr1\t0\t10\n")
    (tmp_path / "variants.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    res = run_smk(tmp_path, "-n", "--cores", "1")
    jobs = {}
    for block in res.stdout.split("rule ")[1:]:
        name = block.split(":")[0].split()[-1]
        inputs = [ln for ln in block.splitlines() if ln.strip().startswith("input:")]
        jobs.setdefault(name, inputs[0] if inputs else "")
    assert all(f in jobs["validate"] for f in ("blacklist.bed", "variants.vcf", "motifs.meme", "model.h5"))
    assert "blacklist.bed" in jobs["windows"] and "validated.txt" in jobs["windows"]
    assert all(f in jobs["score_shard"] for f in ("variants.vcf", "motifs.meme", "validated.txt"))
    make_inputs(tmp_path, mode="bed", extra={"elements": {"mode": "bed", "sources_bed": "peaks.narrowPeak",
                                                          "targets_bed": "targets.bed"}})
    (tmp_path / "targets.bed").write_text("chr1\t0\t10\n")
    res = run_smk(tmp_path, "-n", "--cores", "1")
    shard_block = res.stdout.split("rule score_shard:")[1].split("\n\n")[0]
    assert "targets.bed" in shard_block and "peaks.narrowPeak" in shard_block


@pytest.mark.parametrize("edit,message", [
    (lambda c: c.replace("peaks:\n", "peaks:\n  tiny: other.bed\n"), "key 'tiny' is given twice"),
    (lambda c: c.replace("path: model.h5", "path: model.h5\n  tasks: [0, 0]"), "lists task 0 more than once"),
    (lambda c: c.replace("motif_file: motifs.meme", "motif_file: missing.meme"), "missing.meme does not exist"),
])
def test_config_errors_stop_the_dry_run(tmp_path, edit, message):
    make_inputs(tmp_path)
    cfg = tmp_path / "config" / "config.yaml"
    cfg.write_text(edit(cfg.read_text()))
    res = run_smk(tmp_path, "-n", check=False)
    assert res.returncode != 0 and message in res.stdout + res.stderr


def test_motifs_from_jaspar_ids(tmp_path):
    make_inputs(tmp_path, extra={"elements": {"mode": "motifs", "motif_file": None,
                                              "jaspar_ids": ["MA0035.4", "TAL1::TCF3"]}})
    res = run_smk(tmp_path, "-n", "--cores", "1")
    assert "jaspar_motifs" in res.stdout
    run_smk(tmp_path, "--cores", "1", "results/jaspar_motifs.meme")
    from memelite.io import read_meme

    motifs = read_meme(str(tmp_path / "results" / "jaspar_motifs.meme"))
    assert [k.split()[1] for k in motifs] == ["GATA1", "TAL1::TCF3"]


def test_configfile_on_the_command_line_is_the_whole_config(tmp_path):
    """`--configfile other.yaml` replaces config/config.yaml: its peak set `demo` gets no job."""
    import yaml

    cfg = make_inputs(tmp_path)
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({**cfg, "peaks": {"demo": "peaks.narrowPeak"}}))
    (tmp_path / "other.yaml").write_text(yaml.safe_dump({**cfg, "peaks": {"mine": "peaks.narrowPeak"}}))
    res = run_smk(tmp_path, "-n", "--cores", "1", "--configfile", str(tmp_path / "other.yaml"))
    assert "results/mine/interactions.tsv" in res.stdout
    jobs = res.stdout.split("\nrule ")[1:]
    assert jobs and not any("demo" in b.split("\n\n")[0] for b in jobs)
    assert "demo" not in res.stdout
    # without --configfile the working directory's config/config.yaml is the config
    res = run_smk(tmp_path, "-n", "--cores", "1")
    assert "results/demo/interactions.tsv" in res.stdout and "mine" not in res.stdout

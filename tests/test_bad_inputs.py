"""The bad-input corpus (tests/data/bad_inputs/cases.yaml): every malformed or awkward
input ends in its documented outcome, a clear error or a counted skip."""

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml

from dfim.elements import bed_specs, read_variants, scan_motifs
from dfim.errors import ConfigError, InputError, ModelError
from dfim.genome import fetch_sequences
from dfim.models import load_model
from dfim.steps import read_windows, validate_step, validated_window
from dfim.store import check_shard
from dfim.validate import check_bed, check_config, check_vcf, read_motif_file, validate_inputs
from dfim.windows import count_peaks, make_windows

DATA = Path(__file__).parent / "data" / "bad_inputs"
CASES = yaml.safe_load((DATA / "cases.yaml").read_text())
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """Copies of the corpus FASTAs with their indexes, so the corpus stays read-only."""
    d = tmp_path_factory.mktemp("genome")
    for name in ("upper.fa", "soft_masked.fa", "iupac.fa", "numeric.fa"):
        (d / name).write_bytes((DATA / name).read_bytes())
        pysam.faidx(str(d / name))
    return d


def check_accept(df, expected):
    assert (df["status"] == "kept").sum() == expected["kept"]
    dropped = df.loc[df["status"] == "dropped", "reason"].value_counts().to_dict()
    assert dropped == expected.get("dropped", {})


SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
#: config keys (dotted) whose values are corpus file names
PATH_KEYS = ("genome", "blacklist", "model.path", "elements.motif_file", "elements.sources_bed",
             "elements.targets_bed", "elements.vcf")


def case_file(case, tmp_path, key="file"):
    """The case's input: a corpus file, or (``make:``) a missing path, a folder or a named pipe."""
    make = case.get("make")
    if make == "missing":
        return tmp_path / "no_such_file.bed"
    if make == "directory":
        (tmp_path / "folder").mkdir()
        return tmp_path / "folder"
    if make == "fifo":
        os.mkfifo(tmp_path / "pipe")
        return tmp_path / "pipe"
    return DATA / case[key]


def corpus_config(case, genome, tmp_path):
    """A schema-validated config for the corpus genome and model, with the case's keys."""
    from snakemake.utils import validate

    cfg = {"genome": "upper.fa", "peaks": {"s": "two_peaks.bed"}, "model": {"path": "model_L50.h5"},
           "elements": {"mode": "summit"}}
    for k, v in case.get("config", {}).items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    for dotted in PATH_KEYS:
        *parents, leaf = dotted.split(".")
        d = cfg
        for p in parents:
            d = d.get(p, {})
        if isinstance(d.get(leaf), str):
            d[leaf] = str(genome / d[leaf]) if dotted == "genome" else str(DATA / d[leaf])
    if case.get("make"):
        d = cfg
        *parents, leaf = case["make_key"].split(".")
        for p in parents:
            d = d[p]
        d[leaf] = str(case_file(case, tmp_path))
    cfg["peaks"] = {k: str(DATA / v) if not os.path.isabs(v) else v for k, v in cfg["peaks"].items()}
    validate(cfg, SCHEMA)
    return cfg


def write_test_shard(path):
    from dfim.importance import Importance
    from dfim.store import write_shard

    T, n, m, L = 1, 1, 2, 5
    key = pd.DataFrame({"mutant": [0, 1], "spec": [0, 1], "seq": [0, 0]})
    write_shard(path, windows=pd.DataFrame({"window_id": ["w"], "chrom": ["chr1"], "start": [0], "end": [L],
                                            "index": [0]}),
                X=np.zeros((n, L, 4), np.float32), importance=Importance(np.zeros((T, n, L, 4)), np.zeros((T, n, L, 4)), [0]),
                delta=np.ones((T, m, L, 4), np.float32), key=key, fis=pd.DataFrame({"score": [1.0]}),
                null=pd.DataFrame({"score": [1.0]}), mutant_contrib=np.zeros((T, m, L, 4)))


def run_case(case, genome, tmp_path):
    kind = case["kind"]
    if kind == "peaks":
        fa = genome / case.get("genome", "upper.fa")
        return make_windows("s", case_file(case, tmp_path), f"{fa}.fai", width=50, fasta_path=fa)
    if kind == "count_peaks":
        return count_peaks(case_file(case, tmp_path))
    if kind == "blacklist":
        fa = genome / "upper.fa"
        return make_windows("s", DATA / "two_peaks.bed", f"{fa}.fai", width=50, fasta_path=fa,
                            blacklist=case_file(case, tmp_path))
    if kind == "numeric_genome":
        fa = genome / "numeric.fa"
        df = make_windows("s", DATA / case["file"], f"{fa}.fai", width=50, fasta_path=fa)
        df.to_csv(tmp_path / "w.tsv", sep="\t", index=False)
        back = read_windows(tmp_path / "w.tsv")
        X = fetch_sequences(fa, back[back["status"] == "kept"])
        return df, X
    if kind == "bed_specs":
        fa = genome / case.get("genome", "upper.fa")
        w = make_windows("s", DATA / "two_peaks.bed", f"{fa}.fai", width=50, fasta_path=fa)
        return bed_specs(w[w["status"] == "kept"], str(case_file(case, tmp_path)))
    if kind == "bed_check":
        from dfim.genome import read_fai

        return check_bed(case_file(case, tmp_path), read_fai(genome / "upper.fa.fai"), "element BED",
                         "elements.sources_bed", window=50)
    if kind == "vcf_check":
        from dfim.genome import read_fai

        return check_vcf(case_file(case, tmp_path), genome / "upper.fa", read_fai(genome / "upper.fa.fai"))
    if kind == "motifs":
        return read_motif_file(case_file(case, tmp_path))
    if kind == "scan_motifs":
        return scan_motifs(np.eye(4, dtype=np.float32)[np.zeros(50, int)][None], str(DATA / case["file"]))
    if kind == "validate":
        cfg = corpus_config(case, genome, tmp_path)
        return validate_inputs(cfg, "s", f"{genome / 'upper.fa'}.fai")
    if kind == "config_file":
        f = tmp_path / "config.yaml"
        f.write_text(case["yaml"])
        cfg = corpus_config({"config": yaml.safe_load(case["yaml"])}, genome, tmp_path)
        return check_config(cfg, [f])
    if kind == "parse_config":
        return check_config(corpus_config(case, genome, tmp_path))
    if kind == "shard":
        path = tmp_path / "shards" / "3.h5"
        path.parent.mkdir()
        if case.get("make") == "truncated":
            write_test_shard(path)
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif case.get("make") == "empty_h5":
            import h5py

            h5py.File(path, "w").close()
        else:
            path.write_bytes((DATA / case["file"]).read_bytes())
        return check_shard(path)
    if kind == "fasta":
        win = pd.DataFrame({"chrom": ["chr1"], "start": [100], "end": [200]})
        return fetch_sequences(genome / case["file"], win), fetch_sequences(genome / case["same_as"], win)
    if kind == "fasta_n":
        fa = genome / case["file"]
        bed = tmp_path / "w.bed"
        a, b = case["window"]
        bed.write_text(f"chr1\t{a}\t{b}\tw\n")
        win = pd.DataFrame({"chrom": ["chr1"], "start": [a], "end": [b]})
        return make_windows("s", bed, f"{fa}.fai", width=b - a, fasta_path=fa), fetch_sequences(fa, win)
    if kind == "vcf":
        win = pd.DataFrame({"window_id": ["w"], "chrom": ["chr1"], "start": [100], "end": [200], "index": [0]})
        return read_variants(DATA / case["file"], win, genome / "upper.fa")
    if kind == "model":
        model = load_model(DATA / case["file"])
        return model.check_tasks(case["tasks"]) if "tasks" in case else model
    if kind == "config":
        from snakemake.utils import validate

        cfg = {"genome": "g.fa", "peaks": {"p": "p.bed"}, "model": {"path": "m.h5"}, **case["config"]}
        return validate(cfg, SCHEMA)
    raise AssertionError(f"unknown case kind {kind}")


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, genome, tmp_path, caplog):
    case = CASES[name]
    if "error" in case:
        with pytest.raises(Exception) as info:
            run_case(case, genome, tmp_path)
        assert isinstance(info.value, (InputError, ModelError, ConfigError)) or case["kind"] == "config"
        assert re.search(case["error"], str(info.value)), str(info.value)
        return
    with caplog.at_level(logging.INFO, logger="dfim"):
        out = run_case(case, genome, tmp_path)
    if "warning" in case:
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(re.search(case["warning"], w) for w in warnings), warnings
    kind = case["kind"]
    if kind in ("peaks", "blacklist"):
        check_accept(out, case["accept"])
    elif kind == "numeric_genome":
        check_accept(out[0], case["accept"])
        assert out[1].shape == (case["accept"]["kept"], 50, 4) and (out[1].sum(-1) == 1).all()
    elif kind == "bed_specs":
        assert len(out) == case["accept"]["sources"]
    elif kind in ("bed_check", "vcf_check"):
        assert out == case["accept"]
    elif kind == "motifs":
        assert [m["id"] for m in out] == case["accept"]["motifs"]
    elif kind == "count_peaks":
        assert out == case["accept"]["peaks"]
    elif kind == "validate":
        assert re.search(case["summary"], "\n".join(out)), out
    elif case["kind"] == "fasta":
        np.testing.assert_array_equal(out[0], out[1])  # soft-masked bases are upper-cased
    elif case["kind"] == "fasta_n":
        windows, X = out
        check_accept(windows, case["accept"])
        assert int((X[0].sum(axis=1) == 0).sum()) == case["n_rows"]  # IUPAC codes are zero rows
    elif case["kind"] == "vcf":
        variants, skipped = out
        assert len(variants) == case["accept"]["snvs"] and skipped == case["accept"]["skipped"]


def test_windows_job_reads_the_width_validate_checked(genome, tmp_path):
    """validate writes the window it checked against the model; the windows job reads it
    instead of loading the model, and a validated.txt without it is an error naming the fix."""
    cfg = corpus_config({}, genome, tmp_path)
    validate_step(cfg, "s", f"{genome / 'upper.fa'}.fai", tmp_path / "validated.txt")
    assert validated_window(tmp_path / "validated.txt") == load_model(DATA / "model_L50.h5").length == 50
    old = tmp_path / "old.txt"
    old.write_text("# inputs of peak set s checked by dfim.validate\nmodel m.h5: 50 bp inputs\n")
    with pytest.raises(InputError, match="old.txt has no .* line: .* delete it and rerun"):
        validated_window(old)

"""The bad-input corpus (tests/data/bad_inputs/cases.yaml): every malformed or awkward
input ends in its documented outcome, a clear error or a counted skip."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml

from dfim.elements import read_variants
from dfim.errors import InputError, ModelError
from dfim.genome import fetch_sequences
from dfim.models import load_model
from dfim.steps import windows_step
from dfim.windows import make_windows

DATA = Path(__file__).parent / "data" / "bad_inputs"
CASES = yaml.safe_load((DATA / "cases.yaml").read_text())
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """Copies of the corpus FASTAs with their indexes, so the corpus stays read-only."""
    d = tmp_path_factory.mktemp("genome")
    for name in ("upper.fa", "soft_masked.fa", "iupac.fa"):
        (d / name).write_bytes((DATA / name).read_bytes())
        pysam.faidx(str(d / name))
    return d


def check_accept(df, expected):
    assert (df["status"] == "kept").sum() == expected["kept"]
    dropped = df.loc[df["status"] == "dropped", "reason"].value_counts().to_dict()
    assert dropped == expected.get("dropped", {})


def run_case(case, genome, tmp_path):
    kind = case["kind"]
    if kind == "peaks":
        fa = genome / "upper.fa"
        return make_windows("s", DATA / case["file"], f"{fa}.fai", width=50, fasta_path=fa)
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
        if "tasks" in case or "window" in case:
            fa = genome / "upper.fa"
            bed = tmp_path / "p.bed"
            bed.write_text("chr1\t100\t200\tp\n")
            return windows_step("s", bed, f"{fa}.fai", fa, tmp_path / "w.tsv", model_path=DATA / case["file"],
                                window=case.get("window"), max_n_fraction=0.1, blacklist=None, n_shards_=1,
                                shard_size=10, tasks=case.get("tasks", [0]))
        return load_model(DATA / case["file"])
    if kind == "config":
        from snakemake.utils import validate

        cfg = {"genome": "g.fa", "peaks": {"p": "p.bed"}, "model": {"path": "m.h5"}, **case["config"]}
        return validate(cfg, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    raise AssertionError(f"unknown case kind {kind}")


def test_corpus_is_large_enough():
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, genome, tmp_path):
    case = CASES[name]
    if "error" in case:
        with pytest.raises(Exception) as info:
            run_case(case, genome, tmp_path)
        assert isinstance(info.value, (InputError, ModelError)) or case["kind"] == "config"
        assert re.search(case["error"], str(info.value)), str(info.value)
        return
    out = run_case(case, genome, tmp_path)
    if case["kind"] == "peaks":
        check_accept(out, case["accept"])
    elif case["kind"] == "fasta":
        np.testing.assert_array_equal(out[0], out[1])  # soft-masked bases are upper-cased
    elif case["kind"] == "fasta_n":
        windows, X = out
        check_accept(windows, case["accept"])
        assert int((X[0].sum(axis=1) == 0).sum()) == case["n_rows"]  # IUPAC codes are zero rows
    elif case["kind"] == "vcf":
        variants, skipped = out
        assert len(variants) == case["accept"]["snvs"] and skipped == case["accept"]["skipped"]

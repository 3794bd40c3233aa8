"""Tests of dfim.simulate and of the bundled demo data in resources/demo/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfim.sequences import one_hot
from dfim.motifs import Motif, jaspar_motif, read_meme, reverse_complement_str, write_meme
from dfim.simulate import simulate_sequences

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def _pwm(consensus: str, p: float = 0.85) -> np.ndarray:
    """A PWM peaked on ``consensus`` with the rest of the mass spread evenly."""
    X = one_hot(consensus).astype(np.float64)
    return X * p + (1 - X) * (1 - p) / 3


@pytest.fixture(scope="module")
def motifs():
    a = Motif("SIM0001.1", "GATA", _pwm("AGATAAGG"))
    b = Motif("SIM0002.1", "EBOX", _pwm("CCATCTGTT"))
    c = Motif("SIM0003.1", "CEBP", _pwm("TTGCGCAA"))
    d = Motif("SIM0004.1", "FOX", np.array([[0.5, 0, 0, 0.5], [0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0.2, 0.3, 0.3, 0.2]]))
    return a, b, c, d


@pytest.fixture(scope="module")
def tiny(motifs):
    a, b, c, d = motifs
    return simulate_sequences(50, 100, "and", [a, b], seed=7, distractors=[c, d], min_site_frac=0.6)


def _same(s1, s2):
    assert s1.seqs == s2.seqs
    np.testing.assert_array_equal(s1.labels, s2.labels)
    pd.testing.assert_frame_equal(s1.instances, s2.instances)


def test_deterministic_for_a_seed(motifs, tiny):
    a, b, c, d = motifs
    again = simulate_sequences(50, 100, "and", [a, b], seed=7, distractors=[c, d], min_site_frac=0.6)
    _same(tiny, again)
    other = simulate_sequences(50, 100, "and", [a, b], seed=8, distractors=[c, d], min_site_frac=0.6)
    assert other.seqs != tiny.seqs
    # sequence i depends only on (seed, i): a shorter run is a prefix
    head = simulate_sequences(20, 100, "and", [a, b], seed=7, distractors=[c, d], min_site_frac=0.6)
    assert head.seqs == tiny.seqs[:20]
    np.testing.assert_array_equal(head.labels, tiny.labels[:20])


def test_sequences_and_shapes(tiny):
    assert len(tiny.seqs) == 50 and all(len(s) == 100 and set(s) <= set("ACGT") for s in tiny.seqs)
    assert tiny.labels.shape == (50,) and set(np.unique(tiny.labels)) <= {0, 1}
    assert tiny.X.shape == (50, 100, 4)
    assert list(tiny.instances.columns[:6]) == ["seq", "motif", "motif_id", "start", "end", "strand"]


def test_instances_inside_and_not_overlapping(tiny, motifs):
    inst = tiny.instances
    assert len(inst) > 0
    widths = {m.name: m.width for m in motifs}
    assert ((inst["start"] >= 0) & (inst["end"] <= 100)).all()
    assert (inst["end"] - inst["start"] == inst["motif"].map(widths)).all()
    assert set(inst["strand"]) <= {"+", "-"}
    for _, g in inst.groupby("seq"):
        g = g.sort_values("start")
        assert (g["start"].to_numpy()[1:] >= g["end"].to_numpy()[:-1]).all()
        assert g["role"].isin(["A", "B"]).sum() == len(set(g["role"]) & {"A", "B"})  # at most one each


def test_and_rule_exact(tiny):
    both = tiny.present("A") & tiny.present("B")
    np.testing.assert_array_equal(tiny.labels, both.astype(int))
    assert 0 < tiny.labels.sum() < 50


def test_sites_are_strong_pwm_draws(tiny, motifs):
    by_name = {m.name: m for m in motifs}
    for r in tiny.instances.itertuples():
        m = by_name[r.motif]
        site = tiny.seqs[r.seq][r.start : r.end]
        if r.strand == "-":
            site = reverse_complement_str(site)
        assert m.probability(site) > 0
        assert m.score(site, gc=0.46) >= 0.6 * m.max_score(gc=0.46) - 1e-9


def test_spacing_and_additive_rules(motifs):
    a, b, c, _ = motifs
    s = simulate_sequences(60, 120, "spacing", [a, b], seed=1, distractors=[c], max_gap=20)
    inst = s.instances
    for i in range(60):
        g = inst[inst["seq"] == i]
        ra, rb = g[g["role"] == "A"], g[g["role"] == "B"]
        want = 0
        if len(ra) and len(rb):
            gap = max(ra.start.iloc[0], rb.start.iloc[0]) - min(ra.end.iloc[0], rb.end.iloc[0])
            assert gap >= 0
            want = int(gap <= 20)
        assert s.labels[i] == want
    add = simulate_sequences(300, 60, "additive", [a, b], seed=2, weight=3.0, bias=3.0)
    n = add.present("A").astype(int) + add.present("B").astype(int)
    assert add.labels[n == 2].mean() > 0.8 and add.labels[n == 0].mean() < 0.2


def test_label_noise_flips_some(motifs):
    a, b, _, _ = motifs
    s = simulate_sequences(200, 60, "and", [a, b], seed=3, label_noise=0.2)
    rule = (s.present("A") & s.present("B")).astype(int)
    assert 0 < (s.labels != rule).sum() < 100


def test_write_meme_round_trips_through_memelite(tmp_path, motifs):
    from memelite.io import read_meme as memelite_read

    path = write_meme(motifs, tmp_path / "m.meme")
    text = path.read_text()
    assert text.startswith("MEME version 4") and "ALPHABET= ACGT" in text and "strands: + -" in text
    got = memelite_read(str(path))
    assert list(got) == [f"{m.id} {m.name}" for m in motifs]
    for m in motifs:
        np.testing.assert_allclose(got[f"{m.id} {m.name}"], m.pwm.T, atol=1e-6)
    back = read_meme(path)
    assert [(m.id, m.name, m.width) for m in back] == [(m.id, m.name, m.width) for m in motifs]


def test_jaspar_motif_offline():
    m = jaspar_motif("MA0035.3")
    assert (m.id, m.name, m.pwm.shape) == ("MA0035.3", "Gata1", (11, 4))
    np.testing.assert_allclose(m.pwm.sum(axis=1), 1.0)
    assert "GATAA" in reverse_complement_str(m.consensus)
    assert jaspar_motif("TAL1::TCF3").id == "MA0091.2"
    assert jaspar_motif("GATA1").id.startswith("MA0035.")  # human CORE matrix, not the plant one
    with pytest.raises(KeyError):
        jaspar_motif("NOSUCHFACTOR")


# ----------------------------------------------------------------------- demo data


def _read_peaks():
    cols = ["chrom", "start", "end", "name", "score", "strand", "signal", "p", "q", "summit"]
    return pd.read_csv(DEMO / "peaks.narrowPeak", sep="\t", header=None, names=cols)


def test_demo_files_exist():
    for f in ["motifs.meme", "model.h5", "genome.fa", "genome.fa.fai", "peaks.narrowPeak",
              "truth.tsv", "inserts.tsv", "README.md"]:
        assert (DEMO / f).is_file(), f
    total = sum(p.stat().st_size for p in DEMO.iterdir() if p.is_file())
    assert total < 3_000_000


def test_demo_peaks_truth_and_genome_agree():
    import pysam

    peaks = _read_peaks()
    truth = pd.read_csv(DEMO / "truth.tsv", sep="\t")
    inserts = pd.read_csv(DEMO / "inserts.tsv", sep="\t")
    motifs = {m.name: m for m in read_meme(DEMO / "motifs.meme")}
    assert {"GATA1", "TAL1::TCF3"} <= set(motifs) and len(motifs) >= 4

    assert peaks[["chrom", "start"]].equals(peaks.sort_values(["chrom", "start"])[["chrom", "start"]])
    assert peaks["name"].is_unique and (peaks["strand"] == ".").all()
    assert set(peaks["chrom"]) == {"chr1", "chr2"}
    starts, ends = peaks["start"].to_numpy(), peaks["end"].to_numpy()
    same = peaks["chrom"].to_numpy()[1:] == peaks["chrom"].to_numpy()[:-1]
    assert (starts[1:][same] >= ends[:-1][same]).all()  # peaks do not overlap

    ins = inserts.set_index("peak")
    pk = peaks.set_index("name")
    assert set(ins.index) == set(pk.index)
    assert (ins["label"] == 1).sum() >= 50 and (ins["label"] == 0).sum() >= 30
    np.testing.assert_array_equal(ins["label"], ins["GATA1"] & ins["TAL1"])
    centre = pk.loc[ins.index, "start"] + pk.loc[ins.index, "summit"]
    np.testing.assert_array_equal(centre.to_numpy(), ((ins["start"] + ins["end"]) // 2).to_numpy())
    assert (pk.loc[ins.index, "end"] - pk.loc[ins.index, "start"] > 200).all()

    fa = pysam.FastaFile(str(DEMO / "genome.fa"))
    assert set(fa.references) == {"chr1", "chr2"}
    assert all(150_000 <= fa.get_reference_length(c) <= 250_000 for c in fa.references)
    for peak, r in ins.iterrows():
        assert fa.fetch(r.chrom, int(r.start), int(r.end)) == r.sequence
        p = pk.loc[peak]
        assert p.chrom == r.chrom and p.start <= r.start and r.end <= p.end

    for t in truth.itertuples():
        p = pk.loc[t.peak]
        assert t.chrom == p.chrom and p.start <= t.start and t.end <= p.end
        site = fa.fetch(t.chrom, int(t.start), int(t.end))
        if t.strand == "-":
            site = reverse_complement_str(site)
        assert motifs[t.motif].probability(site) > 0
    fa.close()


def test_demo_model_loads():
    import tf_keras as keras

    model = keras.models.load_model(DEMO / "model.h5", compile=False)
    assert tuple(model.input_shape) == (None, 200, 4)
    assert tuple(model.output_shape) == (None, 1)
    allowed = {"InputLayer", "Conv1D", "MaxPooling1D", "Flatten", "Dense", "Dropout", "BatchNormalization"}
    assert {type(layer).__name__ for layer in model.layers} <= allowed

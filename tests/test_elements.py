import numpy as np
import pandas as pd

from dfim.elements import bed_specs, motif_specs, overlap_clusters, per_base_specs, relations, scan_motifs, summit_specs
from dfim.sequences import one_hot
from workflow_data import GATA, TAL, write_meme

WIN = pd.DataFrame({"window_id": ["w0", "w1"]})


def test_summit_is_the_seed_example():
    s = summit_specs(WIN, 100, 10)
    assert s.to_dict()["w0|summit"] == {"seq": 0, "mut_start": 45, "mut_end": 55, "mut_name": "summit",
                                         "resp_start": [0], "resp_end": [100], "resp_names": ["window"]}


def test_motif_instances_are_sources_and_non_overlapping_targets():
    hits = pd.DataFrame({"seq": [0, 0, 0, 1], "motif": ["A", "B", "C", "A"], "start": [5, 30, 33, 10],
                         "end": [12, 38, 40, 17]})
    specs = motif_specs(WIN, hits).to_dict()
    assert specs["w0|A@5"]["resp_names"] == ["A", "B", "C"]
    # B [30, 38) and C [33, 40) overlap: neither is a target of the other
    assert specs["w0|B@30"]["resp_names"] == ["A", "B"]
    assert specs["w0|C@33"]["resp_names"] == ["A", "C"]
    assert specs["w1|A@10"]["resp_names"] == ["A"]


def test_hits_chained_by_shared_bases_are_one_feature():
    """The demo's artefact: two FOXA1 hits side by side, both inside one TAL1::TCF3 site."""
    assert overlap_clusters([(29, 37), (32, 42), (37, 45), (150, 161)]) == [0, 0, 0, 1]
    hits = pd.DataFrame({"seq": [0, 0, 0, 0], "motif": ["FOXA1", "TAL1", "FOXA1", "GATA1"],
                         "start": [29, 32, 37, 150], "end": [37, 42, 45, 161]})
    specs = motif_specs(WIN.iloc[:1], hits).to_dict()
    assert specs["w0|FOXA1@29"]["resp_start"] == [29, 150]
    assert specs["w0|FOXA1@37"]["resp_start"] == [37, 150]
    assert specs["w0|GATA1@150"]["resp_start"] == [29, 32, 37, 150]


def test_bed_targets_sharing_bases_with_the_source_are_not_tested(tmp_path):
    (tmp_path / "s.bed").write_text("chr1\t110\t120\tsrc\n")
    (tmp_path / "t.bed").write_text("chr1\t110\t120\tsame\nchr1\t115\t125\tpart\nchr1\t150\t160\tfar\n")
    win = pd.DataFrame({"window_id": ["w0"], "chrom": ["chr1"], "start": [100], "end": [200]})
    specs = bed_specs(win, str(tmp_path / "s.bed"), str(tmp_path / "t.bed")).to_dict()
    assert specs["w0|src@10"]["resp_names"] == ["same", "far"]


def test_a_variant_inside_its_target_motif_is_a_disruption():
    fis = pd.DataFrame({"mut_start": [20, 20], "mut_end": [21, 21], "resp_start": [15, 40], "resp_end": [25, 48]})
    assert list(relations(fis, "alt")) == ["disruption", "interaction"]
    assert list(relations(fis, "gc")) == ["interaction", "interaction"]  # a motif source never disrupts


def test_fimo_scan_finds_planted_motifs(tmp_path):
    write_meme(tmp_path / "m.meme")
    rng = np.random.default_rng(0)
    seq = list("".join(rng.choice(list("ACGT"), 100)))
    seq[20:20 + len(GATA)] = GATA
    seq[60:60 + len(TAL)] = TAL
    hits = scan_motifs(one_hot(["".join(seq)]), str(tmp_path / "m.meme"), threshold=1e-3)
    found = {(m, s) for m, s in zip(hits["motif"], hits["start"])}
    assert ("GATA", 20) in found and ("TAL", 60) in found


def test_per_base_elements():
    s = per_base_specs(WIN.iloc[:1], 100, 4)
    assert len(s) == 4 and s[0].resp_start == (48, 49, 50, 51) and s[0].mut_end - s[0].mut_start == 1

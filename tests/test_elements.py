import numpy as np
import pandas as pd

from dfim.elements import motif_specs, per_base_specs, scan_motifs, summit_specs
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

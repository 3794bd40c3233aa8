"""Genome-browser files read back with pyBigWig and pybedtools equal what was written."""

import numpy as np
import pandas as pd
import pyBigWig
import pybedtools
import pytest

from dfim.tables import INTERACTION_COLUMNS
from dfim.tracks import (BEDPE_COLUMNS, element_instances, importance_intervals, interactions_bedpe, write_bed,
                         write_bedpe, write_bigwig)


def interactions():
    rows = [
        # chrom, window_start, source (name, start, end), target (name, start, end), score, qval, ism
        ("chr1", 100, ("GATA", 120, 128), ("TAL", 160, 166), 0.8, 0.001, 0.3),
        ("chr1", 100, ("TAL", 160, 166), ("GATA", 120, 128), 0.2, 0.2, 0.01),
        ("chr2", 0, ("GATA", 10, 18), ("TAL", 50, 56), 0.5, 0.04, np.nan),
        ("chr2", 0, ("GATA", 10, 18), ("FOX", 70, 76), 0.1, np.nan, np.nan),  # untested
    ]
    t = pd.DataFrame([{
        "peak_set": "s", "window_id": f"s:{c}:{ws}", "chrom": c, "window_start": ws, "window_end": ws + 100,
        "task": 0, "source_name": s[0], "source_start": s[1], "source_end": s[2], "source_win_start": s[1] - ws,
        "source_win_end": s[2] - ws, "target_name": g[0], "target_start": g[1], "target_end": g[2],
        "target_win_start": g[1] - ws, "target_win_end": g[2] - ws, "score": sc, "pred_change": 0.0,
        "pval": q, "qval": q, "ism_epistasis": e, "window_scale": 1.0, "relation": "interaction",
        "substitution": "",
    } for c, ws, s, g, sc, q, e in rows])
    return t[list(INTERACTION_COLUMNS)]


def test_bedpe_holds_the_calls_source_first(tmp_path):
    bedpe = interactions_bedpe(interactions())
    assert tuple(bedpe.columns) == BEDPE_COLUMNS
    assert list(bedpe["name"]) == ["GATA>TAL", "GATA>TAL"]  # q < 0.05 only; NaN q is no call
    path = tmp_path / "calls.bedpe"
    write_bedpe(bedpe, path)
    rows = [iv.fields for iv in pybedtools.BedTool(str(path))]
    assert rows[0][:10] == ["chr1", "120", "128", "chr1", "160", "166", "GATA>TAL", "0.8", ".", "."]
    assert rows[1][:6] == ["chr2", "10", "18", "chr2", "50", "56"]
    assert [float(r[10]) for r in rows] == [0.001, 0.04]
    assert rows[0][11] == "0.3" and rows[1][11] == "NA"
    assert open(path).readline().startswith("#chrom1\tstart1\tend1\tchrom2")


def test_elements_bed_lists_every_instance_once(tmp_path):
    extra = pd.DataFrame({"chrom": ["chr2"], "start": [90], "end": [96], "name": ["lonely"]})
    bed = element_instances(interactions(), extra)
    path = tmp_path / "elements.bed"
    write_bed(bed, path)
    got = [(iv.chrom, iv.start, iv.end, iv.name, iv.fields[4], iv.strand) for iv in pybedtools.BedTool(str(path))]
    assert got == [("chr1", 120, 128, "GATA", ".", "."), ("chr1", 160, 166, "TAL", ".", "."),
                   ("chr2", 10, 18, "GATA", ".", "."), ("chr2", 50, 56, "TAL", ".", "."),
                   ("chr2", 70, 76, "FOX", ".", "."), ("chr2", 90, 96, "lonely", ".", ".")]


def test_bigwig_values_and_overlaps_keep_the_first_window(tmp_path):
    L = 10
    tracks = np.arange(4 * L, dtype=np.float32).reshape(4, L) - 7.5
    chroms, starts = ["chr2", "chr1", "chr1", "chr1"], [0, 30, 5, 12]  # chr1: 5-15 overlaps 12-22
    runs = importance_intervals(chroms, starts, tracks, ["chr1", "chr2"])
    assert [(c, s, len(v)) for c, s, v in runs] == [("chr1", 5, 10), ("chr1", 15, 7), ("chr1", 30, 10),
                                                    ("chr2", 0, 10)]
    path = tmp_path / "importance.bw"
    write_bigwig(path, {"chr1": 100, "chr2": 50}, runs)
    with pyBigWig.open(str(path)) as bw:
        assert bw.chroms() == {"chr1": 100, "chr2": 50}
        chr1 = np.array(bw.values("chr1", 0, 100))
        np.testing.assert_array_equal(chr1[5:15], tracks[2])              # window starting at 5
        np.testing.assert_array_equal(chr1[15:22], tracks[3][3:])         # 12-22 after the overlap
        np.testing.assert_array_equal(chr1[30:40], tracks[1])
        assert np.isnan(chr1[:5]).all() and np.isnan(chr1[22:30]).all()  # no window there
        np.testing.assert_array_equal(np.array(bw.values("chr2", 0, 10)), tracks[0])


def test_bigwig_refuses_a_contig_outside_the_index():
    with pytest.raises(ValueError, match="chrX"):
        importance_intervals(["chrX"], [0], np.zeros((1, 4)), ["chr1"])

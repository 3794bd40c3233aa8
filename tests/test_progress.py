"""Progress lines of a scoring pass and the stage clock (dfim.progress)."""

import logging
import re
from itertools import pairwise

import numpy as np
import pytest
from conftest import random_onehot
from models import small_cnn

from dfim import MutationSpecs
from dfim.models import load_model
from dfim.pipeline import NullOptions, ScoringOptions, score_windows
from dfim.progress import Progress, _rows_by_kind

LINE = re.compile(r"shard 0: (.+): (\d+) / (\d+) sequences scored")


def two_sources_per_window(n):
    """Each window: sources at 10-20 and 60-70, both also the targets (a 2 x 2 map)."""
    specs = {}
    for i in range(n):
        for s in (10, 60):
            specs[f"w{i}_{s}"] = {"seq": i, "mut_start": s, "mut_end": s + 10, "mut_name": f"m{s}",
                                  "resp_start": [10, 60], "resp_end": [20, 70], "resp_names": ["m10", "m60"]}
    return MutationSpecs.from_dict(specs)


def progress_lines(caplog):
    return [(m.group(1), int(m.group(2)), int(m.group(3))) for r in caplog.records
            if (m := LINE.search(r.getMessage()))]


@pytest.mark.parametrize("kind", ["random_source", "dinuc"])
def test_progress_lines_count_up_to_the_total(tmp_path, rng, caplog, kind):
    model = load_model(small_cnn(100, tmp_path / "m.h5"))
    n = 5
    X = random_onehot(rng, n, 100)
    # batches of 8 rows against 2 references: 4 sequences a call, so many progress lines
    opts = ScoringOptions(n_refs=2, batch_size=8)
    null = NullOptions(kind=kind, segments=3, shuffles=2)
    progress = Progress("shard 0", every=0)
    with caplog.at_level(logging.INFO, logger="dfim"):
        res = score_windows(model, X, two_sources_per_window(n), opts, null=null, progress=progress)
    lines = progress_lines(caplog)
    passes = list(dict.fromkeys(name for name, _, _ in lines))
    sources = 2 * n  # one mutant per source (strategy gc)
    if kind == "random_source":
        assert passes == ["scoring observed and random-source null"]
        # the segment mutants are scored in the same pass, after the originals and sources
        segs = [int(m.group(1)) for r in caplog.records
                if (m := re.search(r"random-source null: (\d+) segment mutants", r.getMessage()))]
        assert len(segs) == 1 and segs[0] > 0
        assert {t for _, _, t in lines} == {n + sources + segs[0]}
    else:
        # the observed windows, then their 2 shuffled copies each, with the same sources
        assert passes == ["scoring (observed windows)", "scoring (null windows)"]
        assert {t for name, _, t in lines if name == passes[0]} == {n + sources}
        assert {t for name, _, t in lines if name == passes[1]} == {2 * (n + sources)}
    for name in passes:
        done = [d for p, d, _ in lines if p == name]
        total = {t for p, _, t in lines if p == name}
        assert len(total) == 1 and len(done) > 1
        assert all(b > a for a, b in pairwise(done))  # strictly increasing
        assert done[-1] == total.pop()  # and ending at the total
    assert not np.isnan(res.scored.fis["score"]).all()


def test_progress_changes_no_number(tmp_path, rng):
    model = load_model(small_cnn(100, tmp_path / "m.h5"))
    X = random_onehot(rng, 3, 100)
    specs, opts = two_sources_per_window(3), ScoringOptions(n_refs=2, batch_size=8)
    a = score_windows(model, X, specs, opts)
    b = score_windows(model, X, specs, opts, progress=Progress("shard 0", every=0))
    np.testing.assert_array_equal(a.scored.fis["score"].to_numpy(), b.scored.fis["score"].to_numpy())
    np.testing.assert_array_equal(a.null["score"].to_numpy(), b.null["score"].to_numpy())


def test_rows_by_kind_repeat_every_sweep():
    parts = [("observed", 3), ("null", 5)]  # a sweep of 8 rows, once per task
    assert _rows_by_kind(0, 8, parts, 8) == {"observed": 3, "null": 5}
    assert _rows_by_kind(2, 4, parts, 8) == {"observed": 1, "null": 1}
    assert _rows_by_kind(6, 11, parts, 8) == {"null": 2, "observed": 3}  # into the second task's sweep


def test_batch_seconds_go_to_the_kinds_of_their_rows():
    t = [0.0]
    p = Progress("shard 0", every=1e9, clock=lambda: t[0])
    p.begin("scoring", {"observed": 4, "null": 4})
    for step, rows in ((9.0, 4), (2.0, 2), (2.0, 2)):  # the first batch also traces
        t[0] += step
        p.advance(rows)
    # the others ran at 1 s a row: the first batch's 4 observed rows get 4 s, tracing the rest
    assert p.seconds["first batch (tracing)"] == 5.0
    assert p.seconds["importance, observed"] == 4.0
    assert p.seconds["importance, null"] == 4.0  # rows 4-5 and 6-7: both batches null
    with p.stage("maps, observed + null"):
        t[0] += 8.0
    # 4 observed and 4 null rows: the shared stage splits in half
    assert p.by_kind()["maps, observed"] == 4.0 and p.by_kind()["maps, null"] == 4.0
    assert p.split_line(30.0).endswith("other 9.00; total 30.00")  # 30 - (5 + 4 + 4 + 8)

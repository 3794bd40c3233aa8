"""The seed's README example end to end: mutate 45-55 of seq_0, respond over 0-100."""

import numpy as np
import pytest

from conftest import random_onehot
from dfim import MutationSpecs
from dfim.models import load_model
from dfim.calls import TestOptions
from dfim.pipeline import NullOptions, ScoringOptions, run_dfim
from models import small_cnn

SEED_EXAMPLE = {
    "seq_0": {"seq": 0, "mut_start": 45, "mut_end": 55, "mut_name": "summit",
              "resp_start": [0], "resp_end": [100], "resp_names": ["flank_size_100"]},
}


@pytest.mark.parametrize("method,backend", [("deeplift", "deeplift"), ("grad_x_input", "native")])
def test_seed_readme_example_end_to_end(tmp_path, rng, method, backend):
    model = load_model(small_cnn(100, tmp_path / "m.h5"))
    X = random_onehot(rng, 1, 100)
    specs = MutationSpecs.from_dict(SEED_EXAMPLE)
    opts = ScoringOptions(method=method, backend=backend, reference="shuffle", n_refs=4, seed=3)
    fis, null, scored = run_dfim(model, X, specs, opts, null=NullOptions(kind="dinuc", shuffles=8),
                                 test=TestOptions(level="per_map"))
    assert len(fis) == 1  # a 1 x 1 map
    row = fis.iloc[0]
    assert row.mut_name == "summit" and row.resp_name == "flank_size_100"
    assert np.isfinite(row.score) and row.score > 0
    assert 0 < row.pval <= 1 and row.qval >= row.pval
    assert len(null) == 8 and set(null["shuffle"]) == set(range(8))
    # the delta profile over the target: (100, 4), zero inside the source
    delta = scored.delta[0, 0, 0:100]
    assert delta.shape == (100, 4)
    assert np.all(delta[45:55] == 0) and np.abs(delta).sum() > 0
    # the score is the max over positions of the channel-summed |delta|
    assert row.score == pytest.approx(np.abs(delta).sum(-1).max(), rel=1e-6)
    # and the prediction change is f(X) - f(X_s)
    assert np.isfinite(row.pred_change)


def test_random_source_null_segments_lie_in_the_window_beside_the_source(tmp_path, rng):
    """The summit example: the target (the window) holds its source, so the null's
    segments are the window's other 10-bp stretches nearest the source's distance."""
    model = load_model(small_cnn(100, tmp_path / "m.h5"))
    X = random_onehot(rng, 1, 100)
    fis, null, _ = run_dfim(model, X, MutationSpecs.from_dict(SEED_EXAMPLE), ScoringOptions(n_refs=2))
    assert len(null) == 10 and sorted(null["k"]) == list(range(10))
    starts = null["segment_start"].to_numpy()
    assert ((starts + 10 <= 45) | (starts >= 55)).all() and (starts % 3 == 0).all()
    assert np.isfinite(null["score"]).all() and 0 < fis["pval"].iloc[0] <= 1


def test_same_seed_same_result(tmp_path, rng):
    model = load_model(small_cnn(100, tmp_path / "m.h5"))
    X = random_onehot(rng, 2, 100)
    specs = MutationSpecs.from_dict({**SEED_EXAMPLE, "seq_1": {**SEED_EXAMPLE["seq_0"], "seq": 1}})
    opts = ScoringOptions(reference="shuffle", n_refs=3, strategy="shuffle", seed=5)
    a = run_dfim(model, X, specs, opts)[0]
    b = run_dfim(model, X, specs, opts)[0]
    np.testing.assert_array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    np.testing.assert_array_equal(a["pval"].to_numpy(), b["pval"].to_numpy())


def test_api_defaults_are_the_workflow_schema_defaults():
    """`run_dfim(model, X, specs)` scores the way `make run` does with a minimal config."""
    from pathlib import Path

    import yaml
    from snakemake.utils import validate

    repo = Path(__file__).resolve().parents[1]
    cfg = {"genome": "g.fa", "peaks": {"p": "p.bed"}, "model": {"path": "m.h5"}}
    validate(cfg, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    assert ScoringOptions.from_config(cfg) == ScoringOptions()
    shipped = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    shipped["null"] = shipped.pop(None)  # YAML reads `null:` as None, as the Snakefile notes
    validate(shipped, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    assert ScoringOptions.from_config(shipped) == ScoringOptions()
    for c in (cfg, shipped):
        assert NullOptions.from_config(c) == NullOptions() and TestOptions.from_config(c) == TestOptions()


def _per_base_run(model, X, width):
    """Mode per_base through the scoring pipeline: per-element rows and the window maps."""
    import pandas as pd

    from dfim.elements import per_base_specs, per_base_window
    from dfim.maps import per_base_window_maps
    from dfim.pipeline import score_sequences

    L = X.shape[1]
    specs = per_base_specs(pd.DataFrame({"window_id": [f"w{i}" for i in range(len(X))]}), L, width)
    opts = ScoringOptions(method="grad_x_input", reference="zero", strategy="per_base")
    scored = score_sequences(model, X, specs, opts)
    start = per_base_window(L, width)
    return scored, per_base_window_maps(scored.delta, scored.key, len(X), start, width), start


def test_per_base_maps_of_a_linear_model_are_zero(tmp_path, rng):
    """grad x input of a model linear in x: a substitution changes no other base's contribution."""
    from models import linear_model

    model = load_model(linear_model(30, tmp_path / "lin.h5"))
    scored, maps, _ = _per_base_run(model, random_onehot(rng, 2, 30), 10)
    off = ~np.isnan(maps["summary"])
    assert off.sum() == 2 * 10 * 9  # every (source, target) base pair but the diagonal
    assert np.abs(maps["summary"][off]).max() < 1e-6
    assert np.nanmax(np.abs(maps["delta"])) < 1e-6
    assert scored.fis["score"].dropna().abs().max() < 1e-6


@pytest.mark.parametrize("c", [0.0, 0.7])
def test_per_base_maps_of_one_multiplicative_pair(tmp_path, rng, c):
    """f = a*m1 + b*m2 + c*m1*m2 with linear motif detectors m1 at 8-11 and m2 at 18-21.

    grad x input at a motif-2 base i holding base ci is (b + c*m1) W2[i, ci], so changing
    motif-1 base p from o to n changes it by Δ[i, ci] = -c (W1[p, n] - W1[p, o]) W2[i, ci]
    and nothing else: the summary is |c| max_n |W1[p, n] - W1[p, o]| |W2[i, ci]| on the
    pair (and its mirror), 0 everywhere else.
    """
    from dfim.sequences import gc_background
    from models import motif_pair_model

    L, s1, s2, w = 30, 8, 18, 3
    w1, w2 = rng.normal(size=(w, 4)).astype(np.float32), rng.normal(size=(w, 4)).astype(np.float32)
    path, W1, W2 = motif_pair_model(L, w1, w2, s1, s2, 0.5, -0.3, c, tmp_path / "pair.h5")
    X = random_onehot(rng, 2, L)
    scored, maps, start = _per_base_run(load_model(path), X, 20)
    assert start == 5
    codes = X.argmax(-1)
    expected = np.zeros((2, 20, 20))
    delta = np.zeros((2, 20, 4, 4, 20, 4))
    for n in range(2):
        for (Ws, Wt, ps, pt) in ((W1, W2, s1, s2), (W2, W1, s2, s1)):
            for p in range(ps, ps + w):
                o = codes[n, p]
                for i in range(pt, pt + w):
                    ci = codes[n, i]
                    for m in range(4):
                        if m != o:
                            delta[n, p - start, o, m, i - start, ci] = -c * (Ws[p, m] - Ws[p, o]) * Wt[i, ci]
                    expected[n, p - start, i - start] = abs(c) * np.abs(Ws[p] - Ws[p, o]).max() * abs(Wt[i, ci])
    got = maps["summary"][0]
    assert np.isnan(np.diagonal(got, axis1=1, axis2=2)).all()
    off = ~np.eye(20, dtype=bool)[None].repeat(2, 0)
    np.testing.assert_allclose(got[off], expected[off], rtol=1e-5, atol=1e-6)
    defined = np.isfinite(maps["delta"][0])
    np.testing.assert_allclose(maps["delta"][0][defined], delta[defined], rtol=1e-5, atol=1e-6)
    assert defined.sum() == 2 * 20 * 3 * 19 * 4  # observed base x 3 new bases, off the diagonal
    # the table: one row per (source base, target base), the summary as score, the substitution named
    fis = scored.fis.dropna(subset=["score"])
    assert len(fis) == 2 * 20 * 19
    p, i, n = fis["mut_start"].to_numpy() - start, fis["resp_start"].to_numpy() - start, fis["seq"].to_numpy()
    np.testing.assert_allclose(fis["score"], expected[n, p, i], rtol=1e-5, atol=1e-6)
    if c:
        row = fis[(fis["seq"] == 0) & (fis["mut_start"] == s1) & (fis["resp_start"] == s2)].iloc[0]
        o = codes[0, s1]
        m = int(np.argmax(np.abs(W1[s1] - W1[s1, o])))
        assert row.substitution == "ACGT"[o] + ">" + "ACGT"[m]
        dm1 = W1[s1, m] - W1[s1, o]
        m2 = (W2 * X[0]).sum()
        assert row.pred_change == pytest.approx(-(0.5 + c * m2) * dm1, rel=1e-4, abs=1e-5)
        # its epistasis: that substitution at the source, the soft GC background at the target base
        dm2 = W2[s2, codes[0, s2]] - (gc_background(0.46) * W2[s2]).sum()
        assert row.ism_epistasis == pytest.approx(c * -dm1 * dm2, rel=1e-4, abs=1e-5)


def test_observed_prediction_changes_do_not_depend_on_the_null(tmp_path, rng):
    """The random-source null skips its segments' forward passes (nothing reads them); the
    observed rows' f(x) - f(x_s) and double-mutant epistasis are those the shuffled null's run computes."""
    model = load_model(small_cnn(100, tmp_path / "m.h5"))
    X = random_onehot(rng, 2, 100)
    spec = {f"s{i}_{j}": {"seq": i, "mut_start": a, "mut_end": a + 8, "mut_name": f"m{j}",
                          "resp_start": [5, 40, 80], "resp_end": [13, 48, 88], "resp_names": ["a", "b", "c"]}
            for i in range(2) for j, a in enumerate([5, 40, 80])}
    specs = MutationSpecs.from_dict(spec)
    opts = ScoringOptions(n_refs=2)
    rs = run_dfim(model, X, specs, opts, null=NullOptions(segments=3))[0]
    dn = run_dfim(model, X, specs, opts, null=NullOptions(kind="dinuc", shuffles=2))[0]
    assert len(rs) == len(dn) == 18
    for col in ("pred_change", "ism_epistasis"):
        a, b = rs[col].to_numpy(float), dn[col].to_numpy(float)
        assert np.isfinite(a[~np.isnan(b)]).all()
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

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

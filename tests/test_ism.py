"""Double-mutant epistasis on a hand-built model f = a*m1 + b*m2 + c*m1*m2, where the
algebra gives e = c * (m1(x) - m1(x_s)) * (m2(x) - m2(x_t)) for disjoint motifs."""

import numpy as np
import pytest

from conftest import random_onehot
from dfim.ism import double_mutant_epistasis, outputs, prediction_change
from dfim.models import load_model
from dfim.mutants import generate_mutants_and_key
from dfim.sequences import gc_background
from dfim.specs import MutationSpecs
from models import motif_pair_model

L = 40
S1, S2, W = 5, 25, 6


def _specs(n):
    """Per sequence: motif 1 against itself (diagonal), motif 2, and an interval overlapping it."""
    return MutationSpecs.from_dict({
        f"s{i}": {"seq": i, "mut_start": S1, "mut_end": S1 + W, "mut_name": "m1",
                  "resp_start": [S1, S2, S1 + 2], "resp_end": [S1 + W, S2 + W, S1 + W + 2],
                  "resp_names": ["m1", "m2", "over"]}
        for i in range(n)})


@pytest.mark.parametrize("c", [0.0, 0.7])
def test_epistasis_matches_the_algebra(tmp_path, rng, c):
    w1, w2 = rng.normal(size=(W, 4)).astype(np.float32), rng.normal(size=(W, 4)).astype(np.float32)
    path, W1, W2 = motif_pair_model(L, w1, w2, S1, S2, 0.5, -0.3, c, tmp_path / "m.h5")
    model = load_model(path)
    X = random_onehot(rng, 5, L)
    specs = _specs(len(X))
    mutants, key = generate_mutants_and_key(X, specs, strategy="gc")
    f_x, f_s = outputs(model, X, [0]), outputs(model, mutants, [0])
    e = double_mutant_epistasis(model, X, specs, mutants, key, f_x, f_s, [0], strategy="gc")
    assert e.shape == (1, 3 * len(X))
    e = e[0].reshape(len(X), 3)
    assert np.isnan(e[:, 0]).all() and np.isnan(e[:, 2]).all()  # diagonal, overlapping target
    g = gc_background(0.46)
    d1 = (X[:, S1 : S1 + W] * w1).sum((1, 2)) - (g * w1).sum()
    d2 = (X[:, S2 : S2 + W] * w2).sum((1, 2)) - (g * w2).sum()
    np.testing.assert_allclose(e[:, 1], c * d1 * d2, rtol=1e-4, atol=1e-5)
    # the single-mutant ISM is the algebra's too: f(x) - f(x_s) = d1 * (a + c * m2(x))
    m2 = (X[:, S2 : S2 + W] * w2).sum((1, 2))
    np.testing.assert_allclose(prediction_change(f_x, f_s, key["seq"])[0], d1 * (0.5 + c * m2), rtol=1e-4, atol=1e-5)


def test_epistasis_with_a_chosen_source_mutant_per_task(tmp_path, rng):
    """per_base sources have 3 mutants a position: each task's row uses the one it names."""
    c = 0.7
    w1, w2 = rng.normal(size=(W, 4)).astype(np.float32), rng.normal(size=(W, 4)).astype(np.float32)
    path, W1, W2 = motif_pair_model(L, w1, w2, S1, S2, 0.5, -0.3, c, tmp_path / "m.h5")
    model = load_model(path)
    X = random_onehot(rng, 1, L)
    specs = MutationSpecs.from_dict({"s": {"seq": 0, "mut_start": S1 + 1, "mut_end": S1 + 2, "mut_name": "b",
                                           "resp_start": [S2], "resp_end": [S2 + W], "resp_names": ["m2"]}})
    mutants, key = generate_mutants_and_key(X, specs, strategy="per_base")
    tasks = [0, 0]  # the same output twice, each row computed with another substitution
    f_x, f_s = outputs(model, X, tasks), outputs(model, mutants, tasks)
    chosen = np.array([[2], [1]])
    e = double_mutant_epistasis(model, X, specs, mutants, key, f_x, f_s, tasks, source_mutant=chosen)
    g = gc_background(0.46)
    d2 = (X[0, S2 : S2 + W] * w2).sum() - (g * w2).sum()
    for t, m in enumerate(chosen[:, 0]):
        d1 = ((X[0] - mutants[m]) * W1).sum()
        assert e[t, 0] == pytest.approx(c * d1 * d2, rel=1e-4, abs=1e-5)
    assert e[0, 0] != pytest.approx(e[1, 0])


def test_each_distinct_double_mutant_is_computed_once(tmp_path, rng):
    """Two motifs, each a source responding over the other, perturbed by the GC background: the pairs
    (m1, m2) and (m2, m1) are one double mutant, and each target alone is the other source's mutant, so
    the model sees one new sequence per window; e equals f(x) - f(x_s) - f(x_t) + f(x_st) computed row by row."""
    c = 0.7
    w1, w2 = rng.normal(size=(W, 4)).astype(np.float32), rng.normal(size=(W, 4)).astype(np.float32)
    path, _, _ = motif_pair_model(L, w1, w2, S1, S2, 0.5, -0.3, c, tmp_path / "m.h5")
    model = load_model(path)
    X = random_onehot(rng, 3, L)
    specs = MutationSpecs.from_dict({
        f"{name}{i}": {"seq": i, "mut_start": a, "mut_end": a + W, "mut_name": name, "resp_start": [b],
                       "resp_end": [b + W], "resp_names": [other]}
        for i in range(len(X)) for name, a, other, b in (("m1", S1, "m2", S2), ("m2", S2, "m1", S1))})
    mutants, key = generate_mutants_and_key(X, specs, strategy="gc")
    f_x, f_s = outputs(model, X, [0]), outputs(model, mutants, [0])
    seen = []
    logits = model.logits
    model.logits = lambda rows, *a, **k: (seen.append(len(rows)), logits(rows, *a, **k))[1]
    e = double_mutant_epistasis(model, X, specs, mutants, key, f_x, f_s, [0], strategy="gc")[0]
    assert sum(seen) == len(X)
    model.logits = logits
    g = gc_background(0.46)
    for i in range(len(X)):
        both = X[i].copy()
        both[S1 : S1 + W] = g
        both[S2 : S2 + W] = g
        f_st = outputs(model, both[None], [0])[0, 0]
        for r, (s, t) in enumerate(((S1, S2), (S2, S1))):
            x_s, x_t = X[i].copy(), X[i].copy()
            x_s[s : s + W], x_t[t : t + W] = g, g
            f = outputs(model, np.stack([X[i], x_s, x_t]), [0])[:, 0]
            assert e[2 * i + r] == f[0] - f[1] - f[2] + f_st

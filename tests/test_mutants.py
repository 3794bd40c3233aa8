import numpy as np
import pytest

from dfim.mutants import generate_mutants_and_key
from dfim.sequences import decode, one_hot
from dfim.specs import MutationSpecs

SEQ = "ACGTACGTACGGGCCCATATACGTACGT"


def specs(**extra):
    return MutationSpecs.from_dict({"s": {"seq": 0, "mut_start": 10, "mut_end": 16, "mut_name": "m",
                                          "resp_start": [0], "resp_end": [28], **extra}})


def test_gc_and_zero_change_only_the_source():
    X = one_hot([SEQ])
    gc, key = generate_mutants_and_key(X, specs(), strategy="gc", gc=0.4)
    np.testing.assert_allclose(gc[0, 10:16], np.tile([0.3, 0.2, 0.2, 0.3], (6, 1)))
    np.testing.assert_array_equal(gc[0, :10], X[0, :10])
    np.testing.assert_array_equal(gc[0, 16:], X[0, 16:])
    zero, _ = generate_mutants_and_key(X, specs(), strategy="zero")
    assert zero[0, 10:16].sum() == 0 and zero[0].sum() == 22
    assert list(key.columns[:4]) == ["mutant", "spec", "key", "seq"]


def test_shuffle_keeps_source_bases_and_is_seeded():
    X = one_hot([SEQ])
    a, _ = generate_mutants_and_key(X, specs(), strategy="shuffle", seed=3)
    b, _ = generate_mutants_and_key(X, specs(), strategy="shuffle", seed=3)
    np.testing.assert_array_equal(a, b)
    assert sorted(decode(a[0])[10:16]) == sorted(SEQ[10:16])


def test_random_gives_one_hot_bases():
    X = one_hot([SEQ])
    a, _ = generate_mutants_and_key(X, specs(), strategy="random", seed=1)
    np.testing.assert_array_equal(a[0, 10:16].sum(axis=1), 1)


def test_alt_allele():
    X = one_hot([SEQ])
    a, _ = generate_mutants_and_key(X, specs(alt="TTTTTT"), strategy="alt")
    assert decode(a[0])[10:16] == "TTTTTT"
    with pytest.raises(ValueError, match="needs an alternate allele"):
        generate_mutants_and_key(X, specs(), strategy="alt")


def test_per_base_three_mutants_per_position():
    X = one_hot([SEQ])
    m, key = generate_mutants_and_key(X, specs(), strategy="per_base")
    assert len(m) == 18
    for x, (_, row) in zip(m, key.iterrows()):
        s = decode(x)
        assert s[row.pos] == row.new_base != SEQ[row.pos] == row.orig_base
        assert s[: row.pos] + s[row.pos + 1 :] == SEQ[: row.pos] + SEQ[row.pos + 1 :]


def test_unknown_strategy():
    with pytest.raises(ValueError, match="unknown mutation strategy 'foo'"):
        generate_mutants_and_key(one_hot([SEQ]), specs(), strategy="foo")


def test_spec_outside_sequence_is_rejected_before_mutating():
    bad = MutationSpecs.from_dict({"s": {"seq": 0, "mut_start": 20, "mut_end": 40, "resp_start": [0], "resp_end": [10]}})
    with pytest.raises(ValueError, match="not inside sequence"):
        generate_mutants_and_key(one_hot([SEQ]), bad)

from collections import Counter

import numpy as np
import pytest

from dfim.sequences import decode, dinuc_shuffle, one_hot, reverse_complement, shuffle, shuffled_copies


def dinucs(s):
    return Counter(s[i : i + 2] for i in range(len(s) - 1))


def test_one_hot_order_and_n():
    X = one_hot("ACGTNacgtR")
    assert X.shape == (10, 4)
    np.testing.assert_array_equal(X[:4], np.eye(4))
    np.testing.assert_array_equal(X[5:9], np.eye(4))  # soft-masked = upper case
    assert X[4].sum() == 0 and X[9].sum() == 0  # N and IUPAC R are zero rows


def test_decode_round_trip_and_batch():
    seqs = ["ACGTN", "TTGCA"]
    assert decode(one_hot(seqs)) == seqs
    with pytest.raises(ValueError, match="share one length"):
        one_hot(["AC", "ACG"])


def test_reverse_complement():
    assert decode(reverse_complement(one_hot("AACGTN"))) == "NACGTT"


@pytest.mark.parametrize("seed", range(40))
def test_dinuc_shuffle_keeps_every_dinucleotide_count(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(3, 300))
    alphabet = np.array(list("ACGTN"))
    p = [0.3, 0.2, 0.2, 0.25, 0.05] if seed % 2 else [0.25, 0.25, 0.25, 0.25, 0.0]
    s = "".join(alphabet[rng.choice(5, size=L, p=p)])
    out = decode(dinuc_shuffle(one_hot(s), rng))
    assert dinucs(out) == dinucs(s)
    assert out[0] == s[0] and out[-1] == s[-1]


def test_dinuc_shuffle_changes_sequence_and_is_seeded():
    s = one_hot("ACGTTGCAAGCTAGCTAGGATCCGATCGATCGGCTAGCTAGCTTTAGC")
    a = dinuc_shuffle(s, np.random.default_rng(1))
    b = dinuc_shuffle(s, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    outs = {decode(dinuc_shuffle(s, np.random.default_rng(i))) for i in range(20)}
    assert len(outs) > 5


def test_plain_shuffle_keeps_base_counts():
    s = "AACCGGTTNAC"
    out = decode(shuffle(one_hot(s), np.random.default_rng(0)))
    assert Counter(out) == Counter(s)


def test_shuffled_copies_depend_on_global_ids_not_batch_position():
    X = one_hot(["ACGTACGGTACGATCGATTTGACA", "GGGCCCATATATCGCGATATTTAA"])
    whole = shuffled_copies(X, 3, seed=7, ids=[10, 11])
    second_alone = shuffled_copies(X[1:], 3, seed=7, ids=[11])
    np.testing.assert_array_equal(whole[1], second_alone[0])
    assert whole.shape == (2, 3, 24, 4)

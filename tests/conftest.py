import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_onehot(rng, n, L):
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, L))]


def assert_close(a, b, rel=1e-4):
    err = np.abs(a - b).max()
    assert err <= rel * np.abs(b).max(), f"max|a-b| = {err:.3g}, max|b| = {np.abs(b).max():.3g}"

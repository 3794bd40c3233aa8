"""The simulations' CNN builds with the paper's architecture and trains deterministically."""

import numpy as np

from dfim.motifs import Motif
from dfim.sequences import one_hot
from dfim.simulate import simulate_sequences
from dfim.training import build_cnn, train_cnn


def _pwm(consensus: str, p: float = 0.85) -> np.ndarray:
    X = one_hot(consensus).astype(np.float64)
    return X * p + (1 - X) * (1 - p) / 3


def test_build_and_train_one_epoch():
    a = Motif("SIM0001.1", "GATA", _pwm("AGATAAGG"))
    b = Motif("SIM0002.1", "EBOX", _pwm("CCATCTGTT"))
    s = simulate_sequences(64, 100, "and", [a, b], seed=0)
    model = build_cnn(100, seed=0)
    assert tuple(model.input_shape) == (None, 100, 4) and tuple(model.output_shape) == (None, 1)
    res = train_cnn(model, s.X, s.labels, seed=0, epochs=1, batch_size=32, test_fraction=0.25)
    assert len(res.test_index) == 16 and len(res.train_index) == 48
    assert 0.0 <= res.accuracy <= 1.0 and len(res.history["loss"]) == 1

"""Scoring throughput (sequences per second) of the engine on a demo-sized CNN.

Run by `make bench-throughput`; writes bench/results/throughput.md. Not a test:
numbers depend on the machine.
"""

import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import numpy as np  # noqa: E402

from dfim.importance import compute_importance, make_scorer  # noqa: E402
from dfim.models import load_model  # noqa: E402


def demo_sized_model(path, L=200):
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(32, 15, activation="relu", padding="same"),
        keras.layers.MaxPooling1D(4),
        keras.layers.Conv1D(32, 5, activation="relu", padding="same"),
        keras.layers.MaxPooling1D(4),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    m.save(path)
    return path


def main():
    L, n, batch = 200, 2048, 256
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        model = load_model(demo_sized_model(os.path.join(d, "m.h5"), L))
        for backend, method, ref in [("deeplift", "deeplift", "gc"), ("deeplift", "rescale", "gc"),
                                     ("deeplift", "grad_x_input", "zero"), ("native", "grad_x_input", "zero"),
                                     ("deeplift", "deeplift", "shuffle")]:
            scorer = make_scorer(model, method, backend)
            compute_importance(model, X[:batch], scorer=scorer, reference=ref, n_refs=10, batch_size=batch)  # warm-up
            t = time.perf_counter()
            compute_importance(model, X, scorer=scorer, reference=ref, n_refs=10, batch_size=batch)
            dt = time.perf_counter() - t
            scorer.close()
            rows.append((backend, method, ref, n, batch, dt, n / dt))
            print(f"{backend:9s} {method:13s} ref={ref:8s} {n / dt:9.0f} seq/s", flush=True)
    out = os.path.join(os.path.dirname(__file__), "results", "throughput.md")
    with open(out, "w") as fh:
        fh.write("# Scoring throughput\n\n")
        fh.write(f"Command: `make bench-throughput` ({time.strftime('%Y-%m-%d')}); machine: {platform.machine()}, "
                 f"{os.cpu_count()} CPU cores, Python {platform.python_version()}.\n\n")
        fh.write(f"Model: Conv1D(32,15)-MaxPool(4)-Conv1D(32,5)-MaxPool(4)-Dense(32)-Dense(1), input {L} bp, "
                 f"random weights; {n} random sequences, batch size {batch}. One task. For the `shuffle` "
                 "reference each sequence is scored against 10 shuffles (10 model passes per sequence).\n\n")
        fh.write("| backend | method | reference | sequences | batch | seconds | sequences / s |\n|---|---|---|---|---|---|---|\n")
        for b, m, r, nn, bs, dt, thr in rows:
            fh.write(f"| {b} | {m} | {r} | {nn} | {bs} | {dt:.2f} | {thr:.0f} |\n")
    print("wrote", out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""One speed row per model kind (issue #14): a Keras chain CNN, a BPNet-like Keras graph
(two heads, dilated residual blocks, cropping) and the same chain CNN in PyTorch.

    .venv/bin/python bench/speed/kinds.py        # part of make bench-speed

Each row scores the same random one-hot sequences the way the workflow does by default
(DeepLIFT against 10 dinucleotide-shuffled references per sequence, one task) through
``dfim.importance.compute_importance`` and reports sequences per second of wall time,
after one warm-up call on a few sequences (tracing, compilation). The section between the
markers below is replaced in ``bench/results/speed.md``.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # the model builders the tests use

import numpy as np  # noqa: E402

L = 500
N = 256
START, END = "<!-- model kinds: start -->", "<!-- model kinds: end -->"


def keras_and_torch_cnn(folder: Path, seed: int = 0):
    """Conv1D(64, 19) > ReLU > MaxPool(4) > Conv1D(64, 11) > ReLU > MaxPool(4) > Flatten >
    Dense(64) > ReLU > Dense(1), random weights, saved as tf_keras .h5 and as a whole PyTorch module."""
    import tf_keras as keras
    import torch

    keras.utils.set_random_seed(seed)
    km = keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(64, 19, activation="relu"), keras.layers.MaxPooling1D(4),
        keras.layers.Conv1D(64, 11, activation="relu"), keras.layers.MaxPooling1D(4),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1),
    ])
    km.save(folder / "cnn.h5")
    c1, _, c2, _, _, d1, d2 = km.layers
    Lp = km.layers[3].output_shape[1]  # after the second max-pool
    tm = torch.nn.Sequential(torch.nn.Conv1d(4, 64, 19), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                             torch.nn.Conv1d(64, 64, 11), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                             torch.nn.Flatten(), torch.nn.Linear(64 * Lp, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    with torch.no_grad():
        for conv, layer in ((tm[0], c1), (tm[3], c2)):
            k, b = layer.get_weights()
            conv.weight.copy_(torch.from_numpy(k.transpose(2, 1, 0).copy()))
            conv.bias.copy_(torch.from_numpy(b))
        W, b = d1.get_weights()  # Keras flattens (L', C) as i*C + c, torch (C, L') as c*L' + i
        tm[7].weight.copy_(torch.from_numpy(W.reshape(Lp, 64, 64).transpose(2, 1, 0).reshape(64, -1).copy()))
        tm[7].bias.copy_(torch.from_numpy(b))
        W, b = d2.get_weights()
        tm[9].weight.copy_(torch.from_numpy(W.T.copy()))
        tm[9].bias.copy_(torch.from_numpy(b))
    tm.input_length = L
    torch.save(tm, folder / "cnn.pt")
    return folder / "cnn.h5", folder / "cnn.pt"


def rate(path, backend: str, tasks, X) -> tuple[float, float]:
    """(sequences per second, seconds) of the default scoring of ``X``, after a warm-up."""
    from dfim.importance import compute_importance, make_scorer
    from dfim.models import load_model

    model = load_model(path)
    with make_scorer(model, "deeplift", backend) as scorer:
        compute_importance(model, X[:4], scorer=scorer, reference="shuffle", n_refs=10, tasks=tasks)
        t0 = time.perf_counter()
        compute_importance(model, X, scorer=scorer, reference="shuffle", n_refs=10, tasks=tasks)
        seconds = time.perf_counter() - t0
    return len(X) / seconds, seconds


def main() -> None:
    from models import bpnet_like

    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (N, L))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        chain, torch_cnn = keras_and_torch_cnn(folder)
        graph = bpnet_like(L, folder / "bpnet.keras", filters=64, n_dilated=6)
        for label, path, backend, tasks in (
            ("Keras chain CNN (tf_keras .h5)", chain, "native", [0]),
            ("BPNet-like Keras graph (Keras 3 .keras, 64 filters, 6 dilated residual blocks), counts head",
             graph, "native", ["counts:0"]),
            ("the same chain CNN in PyTorch (.pt, tangermeme deep_lift_shap)", torch_cnn, "torch", [0]),
        ):
            r, s = rate(path, backend, tasks, X)
            rows.append(f"| {label} | `{backend}` | {r:.1f} | {s:.1f} |")
            print(rows[-1], flush=True)
    import tensorflow as tf
    import torch

    section = "\n".join([
        START,
        "## One row per model kind",
        "",
        f"`bench/speed/kinds.py`: {N} random {L}-bp sequences, DeepLIFT against 10 dinucleotide-shuffled "
        "references each (the workflow's default), one task, wall time after a warm-up call; "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"tensorflow {tf.__version__}, torch {torch.__version__}, no GPU. The chain CNN is the same weights in "
        "both frameworks.",
        "",
        "| model | backend | sequences / s | seconds |",
        "|---|---|---|---|",
        *rows,
        END,
    ])
    out = ROOT / "bench" / "results" / "speed.md"
    text = out.read_text()
    if START in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

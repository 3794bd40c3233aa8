"""The model zoo of the accuracy benchmark: no-interaction controls and interacting models (issue #12).

Every model is a small CNN (``dfim.training.build_cnn``, kernels (15, 9), pools (4, 25)) on
200-bp windows (GC 0.46) with the JASPAR motifs of :mod:`grammars`:

* ``reg_fact``: regression target y = [A] + [B] (GATA1, TAL1::TCF3), factorial design
  (A and B each present with probability 0.5, so neither / A / B / A+B are about equally
  frequent), MSE loss, linear output. The target is additive: the model has no reason to
  make A and B interact. Label-independent motifs C, D, N, X.
* ``reg_noneither``: the same without the "neither" class (only A, B, A+B windows).
* ``additive``: the logistic-additive grammar, P(1) = sigmoid(3 (n_C + n_D) - 3), binary
  cross-entropy. Additive in log-odds; label-independent N, X.
* ``and``: label 1 iff A and B are both present. Label-independent C, D, N, X.
* ``spacing``: label 1 iff A and B are both present at most 20 bp apart (half of the A+B
  windows have them further apart). Label-independent C, D, N, X.

Simulation, initial weights and training are functions of (model, seed) only
(``train_cnn`` turns on TensorFlow op determinism).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import grammars
import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    name: str
    grammar: str                       # dfim.simulate grammar that places the motifs
    motifs: tuple[str, ...]            # the grammar's motifs (element labels)
    distractors: tuple[str, ...]       # label-independent motifs
    kind: str                          # "logistic", "reg" or "reg_noneither"
    epochs: int
    seed_base: int
    sim_kwargs: dict = field(default_factory=dict)
    control: bool = False              # a no-interaction control (no pair interacts by design)

    @property
    def interacting(self) -> bool:
        return not self.control


ZOO = [
    ModelSpec("reg_fact", "and", ("A", "B"), ("C", "D", "N", "X"), "reg", 12, 21, control=True),
    ModelSpec("reg_noneither", "and", ("A", "B"), ("C", "D", "N", "X"), "reg_noneither", 12, 22, control=True),
    ModelSpec("additive", "additive", ("C", "D"), ("N", "X"), "logistic", 12, 23, dict(weight=3.0, bias=3.0),
              control=True),
    ModelSpec("and", "and", ("A", "B"), ("C", "D", "N", "X"), "logistic", 15, 24),
    ModelSpec("spacing", "spacing", ("A", "B"), ("C", "D", "N", "X"), "logistic", 15, 25,
              dict(p_present=0.7, max_gap=grammars.MAX_GAP, p_far=0.5)),
]
BY_NAME = {m.name: m for m in ZOO}

RULES = {
    "reg_fact": "y = [A] + [B], factorial (neither / A / B / A+B), MSE, linear output",
    "reg_noneither": "y = [A] + [B], without the neither class, MSE, linear output",
    "additive": "P(1) = sigmoid(3 (n_C + n_D) − 3), logistic",
    "and": "label 1 iff A and B both present",
    "spacing": f"label 1 iff A and B both present ≤ {grammars.MAX_GAP} bp apart (half of A+B windows far apart)",
}


def simulate(spec: ModelSpec, seed: int, n: int, motifs: dict):
    """The data set of ``spec`` for ``seed``: a ``SimulatedSet`` whose ``instances`` have a ``label`` column
    and whose ``labels`` are the training target (float for the regressions)."""
    from dfim.simulate import simulate_sequences

    n_sim = int(n * 4 / 3) + 50 if spec.kind == "reg_noneither" else n
    s = simulate_sequences(n_sim, grammars.LENGTH, spec.grammar, [motifs[k] for k in spec.motifs],
                           seed=(spec.seed_base, seed), gc=grammars.GC, distractors=[motifs[k] for k in spec.distractors],
                           min_site_frac=grammars.MIN_SITE_FRAC, **spec.sim_kwargs)
    by_id = {m.id: k for k, m in motifs.items()}
    s.instances["label"] = s.instances["motif_id"].map(by_id)
    if spec.kind.startswith("reg"):
        s.labels = s.present("A").astype(np.float32) + s.present("B").astype(np.float32)
    if spec.kind == "reg_noneither":
        keep = np.flatnonzero(s.labels > 0)[:n]
        remap = -np.ones(len(s.seqs), np.int64)
        remap[keep] = np.arange(len(keep))
        inst = s.instances[s.instances["seq"].isin(keep)].copy()
        inst["seq"] = remap[inst["seq"].to_numpy()]
        s.seqs = [s.seqs[i] for i in keep]
        s.labels = s.labels[keep]
        s.instances = inst.reset_index(drop=True)
    return s


def train(spec: ModelSpec, seed: int, sim, path, epochs: int | None = None) -> dict:
    """Train the CNN of ``spec`` (10 % held out) and save it to ``path`` (.h5).

    A logistic run that stays at chance (held-out AUROC ≤ 0.6, a dead start) is redrawn with
    another initial-weight seed, at most 3 times; ``attempts`` says how many were needed.
    Returns quality (``r2`` or ``auroc``/``accuracy``), ``test_index`` and ``seconds``.
    """
    import tf_keras as keras
    from dfim.training import build_cnn, train_cnn

    epochs = epochs or spec.epochs
    t = time.perf_counter()
    for attempt in range(4):
        mseed = spec.seed_base * 10 + seed + 1000 * attempt
        model = build_cnn(grammars.LENGTH, n_tasks=1, seed=mseed, **grammars.CNN)
        if spec.kind.startswith("reg"):
            model.layers[-1].activation = keras.activations.linear
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse", metrics=["mae"])
        res = train_cnn(model, sim.X, sim.labels, seed=spec.seed_base * 10 + seed, epochs=epochs, test_fraction=0.1)
        if spec.kind.startswith("reg") or res.auroc > 0.6:
            break
    model.save(str(path), include_optimizer=False, save_format="h5")
    out = dict(test_index=res.test_index, seconds=time.perf_counter() - t, attempts=attempt + 1, epochs=epochs,
               n_train=len(res.train_index))
    if spec.kind.startswith("reg"):
        X = sim.X[res.test_index]
        p = model.predict(X, batch_size=512, verbose=0)[:, 0]
        y = sim.labels[res.test_index]
        out["quality"] = f"R² {1 - np.mean((p - y) ** 2) / np.var(y):.3f}"
    else:
        out["quality"] = f"AUROC {res.auroc:.3f}, accuracy {res.accuracy:.3f}"
        out["auroc"] = res.auroc
    return out


def eval_rows(spec: ModelSpec, sim, test_index: np.ndarray) -> np.ndarray:
    """Held-out windows that are scored: AND the positives; spacing every window with both A and B
    (so far A–B pairs are among the negatives); the controls all held-out windows."""
    if spec.name == "and":
        return test_index[sim.labels[test_index] == 1]
    if spec.name == "spacing":
        both = sim.present("A") & sim.present("B")
        return test_index[both[test_index]]
    return test_index

"""The simulated data sets of the accuracy benchmark and the CNN trained on each.

Three grammars (``dfim.simulate.simulate_sequences``), all on 200-bp i.i.d. background
(GC 0.46) with JASPAR motifs bundled with ``pyjaspar`` (offline):

* ``and``: GATA1 (A) and TAL1::TCF3 (B) each present with probability 0.5; label 1 iff
  both are present. CEBPB (C), FOXA1 (D), NRF1 and CTCF are embedded at random
  (probability 0.5 each), independent of the label.
* ``spacing``: as ``and`` but A and B count only when at most 20 bp apart (bases between
  the two sites); when both are present they are placed far apart half of the time, so
  the model must learn the distance. A and B are present with probability 0.7 each so
  about a quarter of the sequences are positive.
* ``additive``: C and D each present with probability 0.5 and
  ``P(label = 1) = sigmoid(3 (n_C + n_D) - 3)``: the two motifs add up in log-odds and
  do not interact. NRF1 and CTCF are distractors. This is the no-interaction model.

Every set is a function of its seed; so are the model's initial weights and training
(``train_cnn`` turns on TensorFlow op determinism).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from dfim.motifs import jaspar_motif
from dfim.simulate import SimulatedSet, simulate_sequences
from dfim.training import build_cnn, train_cnn

RELEASE = "JASPAR2024"
# element label -> (JASPAR matrix ID, name). GATA1 = MA0035.3 (11 bp, core AGATAA), as in
# the demo data; CTCF is a long GC-rich site unlike every other motif here.
MOTIFS = {
    "A": ("MA0035.3", "GATA1"),
    "B": ("MA0091.2", "TAL1::TCF3"),
    "C": ("MA0466.4", "CEBPB"),
    "D": ("MA0148.5", "FOXA1"),
    "N": ("MA0506.1", "NRF1"),
    "X": ("MA0139.2", "CTCF"),
}
LENGTH = 200
GC = 0.46
MIN_SITE_FRAC = 0.7
MAX_GAP = 20


@dataclass(frozen=True)
class GrammarSpec:
    """How one data set is simulated and its model trained."""

    name: str
    grammar: str
    motifs: tuple[str, str]          # element labels of the grammar's two motifs
    distractors: tuple[str, ...]     # element labels of the label-independent motifs
    n: int
    epochs: int
    seed: int
    sim_kwargs: dict = field(default_factory=dict)
    cnn_kwargs: dict = field(default_factory=dict)


# Conv kernels (15, 9): the second convolution sees about 50 bp of input, enough to
# cover A + 20 bp + B; with the default (15, 5) the spacing model stayed near 0.77 accuracy.
CNN = dict(kernel_sizes=(15, 9), pool_sizes=(4, 25))

FULL = [
    GrammarSpec("and", "and", ("A", "B"), ("C", "D", "N", "X"), n=20_000, epochs=30, seed=11, cnn_kwargs=CNN),
    GrammarSpec("spacing", "spacing", ("A", "B"), ("C", "D", "N", "X"), n=20_000, epochs=30, seed=12,
                sim_kwargs=dict(p_present=0.7, max_gap=MAX_GAP, p_far=0.5), cnn_kwargs=CNN),
    # 15 epochs: the additive model reaches the oracle's accuracy by then; longer training
    # only fits noise (training accuracy above what the generating rule allows).
    GrammarSpec("additive", "additive", ("C", "D"), ("N", "X"), n=20_000, epochs=15, seed=13,
                sim_kwargs=dict(weight=3.0, bias=3.0), cnn_kwargs=CNN),
]
QUICK = [
    GrammarSpec("and", "and", ("A", "B"), ("C", "D", "N", "X"), n=400, epochs=2, seed=11, cnn_kwargs=CNN),
]


def load_motifs() -> dict:
    """Element label -> :class:`dfim.motifs.Motif` named as in :data:`MOTIFS`."""
    return {k: dataclasses.replace(jaspar_motif(mid, release=RELEASE), name=name)
            for k, (mid, name) in MOTIFS.items()}


def simulate(spec: GrammarSpec, motifs: dict) -> SimulatedSet:
    """The data set of ``spec``; ``instances`` gains a ``label`` column (A, B, C, D, N, X)."""
    s = simulate_sequences(
        spec.n, LENGTH, spec.grammar, [motifs[k] for k in spec.motifs], seed=(spec.seed, 0), gc=GC,
        distractors=[motifs[k] for k in spec.distractors], min_site_frac=MIN_SITE_FRAC, **spec.sim_kwargs)
    by_id = {m.id: k for k, m in motifs.items()}
    s.instances["label"] = s.instances["motif_id"].map(by_id)
    return s


def oracle_probability(spec: GrammarSpec, sim: SimulatedSet) -> np.ndarray:
    """``(n,)`` P(label = 1) under the generating rule (the best any model can do)."""
    inst = sim.instances
    n = len(sim.seqs)
    if spec.grammar != "additive":  # deterministic rules, no label noise
        return sim.labels.astype(float)
    counts = np.zeros(n)
    for k in spec.motifs:
        counts += np.bincount(inst.loc[inst["label"] == k, "seq"], minlength=n)
    w, b = spec.sim_kwargs.get("weight", 3.0), spec.sim_kwargs.get("bias", 3.0)
    return 1.0 / (1.0 + np.exp(-(w * counts - b)))


def train(spec: GrammarSpec, sim: SimulatedSet, path) -> dict:
    """Train the CNN of ``spec`` on ``sim`` (10 % held out), save it to ``path`` (.h5).

    Returns a dict with the held-out ``accuracy``, ``auroc``, ``test_index``, training
    ``seconds`` and the oracle's held-out accuracy and AUROC for comparison.
    """
    from dfim.calibration import auroc

    model = build_cnn(LENGTH, n_tasks=1, seed=spec.seed, **spec.cnn_kwargs)
    res = train_cnn(model, sim.X, sim.labels, seed=spec.seed, epochs=spec.epochs, test_fraction=0.1)
    model.save(str(path), include_optimizer=False, save_format="h5")
    p = oracle_probability(spec, sim)[res.test_index]
    y = sim.labels[res.test_index]
    oracle_acc = float(np.mean(np.where(p == 0.5, 0.5, (p > 0.5) == (y == 1))))
    return dict(accuracy=res.accuracy, auroc=res.auroc, test_index=res.test_index, seconds=res.seconds,
                n_train=len(res.train_index), oracle_accuracy=oracle_acc, oracle_auroc=auroc(y, p),
                final_train_accuracy=res.history["accuracy"][-1])

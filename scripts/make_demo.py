#!/usr/bin/env python
"""Build the bundled demo data set (resources/demo/) from a seed, offline.

    .venv/bin/python scripts/make_demo.py --out resources/demo --seed 0

Writes motifs.meme, model.h5, genome.fa(.fai), peaks.narrowPeak, truth.tsv,
inserts.tsv and README.md. Everything is a function of the seed: genome, peaks,
truth and motif files are byte-identical between runs; the model weights are identical
(TensorFlow op determinism) though model.h5 bytes may not be.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

try:
    import dfim  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dfim.motifs import jaspar_motif, write_meme  # noqa: E402
from dfim.simulate import simulate_sequences  # noqa: E402
from dfim.training import build_cnn, train_cnn  # noqa: E402

RELEASE = "JASPAR2024"
# (matrix ID, name written to motifs.meme). MA0035.3 is JASPAR's "Gata1" (mouse, 11 bp,
# 13.6 bits, core AGATAA). The newest GATA1 matrix, MA0035.5, is 7 bp / 9.8 bits and its
# sampled sites are hard to tell from chance matches in an i.i.d. background.
GATA1 = ("MA0035.3", "GATA1")
TAL1 = ("MA0091.2", "TAL1::TCF3")  # the only CORE TAL1 heterodimer matrix without GATA1
DISTRACTORS = [("MA0466.4", "CEBPB"), ("MA0148.5", "FOXA1"), ("MA0506.1", "NRF1")]

LENGTH = 200
GC = 0.46
MIN_SITE_FRAC = 0.7
CHROMS = {"chr1": 240_000, "chr2": 180_000}
N_POS, N_NEG = 60, 40


def load_motif(mid: str, name: str):
    m = jaspar_motif(mid, release=RELEASE)
    return dataclasses.replace(m, name=name)


def write_fasta(path: Path, records: dict[str, str], width: int = 60) -> None:
    with open(path, "w") as fh:
        for name, seq in records.items():
            fh.write(f">{name}\n")
            for i in range(0, len(seq), width):
                fh.write(seq[i : i + width] + "\n")


def pick_inserts(pool, n_pos: int, n_neg: int) -> list[int]:
    """The first ``n_pos`` label-1 and first ``n_neg`` label-0 sequences of the pool."""
    pos = np.flatnonzero(pool.labels == 1)[:n_pos]
    neg = np.flatnonzero(pool.labels == 0)[:n_neg]
    if len(pos) < n_pos or len(neg) < n_neg:
        raise RuntimeError("insert pool too small; raise its size")
    return sorted(pos.tolist() + neg.tolist())


def build_genome(seed: int, pool, chosen: list[int]):
    """Background chromosomes with the chosen pool sequences inserted in non-overlapping slots."""
    rng = np.random.default_rng([seed, 2])
    order = [chosen[i] for i in rng.permutation(len(chosen))]
    total = sum(CHROMS.values())
    counts, left = {}, len(order)
    for j, (c, L) in enumerate(CHROMS.items()):
        counts[c] = left if j == len(CHROMS) - 1 else int(round(len(order) * L / total))
        left -= counts[c]
    bg = np.array([(1 - GC) / 2, GC / 2, GC / 2, (1 - GC) / 2])
    letters = np.array(list("ACGT"))
    genome, peaks, truth, inserts = {}, [], [], []
    k = 0
    for ci, (chrom, L) in enumerate(CHROMS.items()):
        crng = np.random.default_rng([seed, 3, ci])
        seq = letters[crng.choice(4, size=L, p=bg)]
        slot = L // counts[chrom]
        for j in range(counts[chrom]):
            p = order[k]
            k += 1
            width = int(crng.integers(300, 601))
            summit = int(crng.integers(LENGTH // 2 + 20, width - LENGTH // 2 - 20 + 1))
            pstart = j * slot + int(crng.integers(100, slot - width - 100 + 1))
            istart = pstart + summit - LENGTH // 2
            seq[istart : istart + LENGTH] = list(pool.seqs[p])
            label = int(pool.labels[p])
            signal = float(crng.uniform(8, 20) if label else crng.uniform(2, 8))
            peaks.append(dict(chrom=chrom, start=pstart, end=pstart + width, label=label,
                              signal=signal, summit=summit, istart=istart, pool=p))
        genome[chrom] = "".join(seq)
    peaks = pd.DataFrame(peaks).sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    peaks["name"] = [f"peak_{i}" for i in range(len(peaks))]
    inst = pool.instances
    for r in peaks.itertuples():
        mine = inst[inst["seq"] == r.pool]
        for m in mine.itertuples():
            truth.append(dict(chrom=r.chrom, start=r.istart + int(m.start), end=r.istart + int(m.end),
                              motif=m.motif, motif_id=m.motif_id, strand=m.strand, role=m.role,
                              peak=r.name))
        roles = set(mine["role"])
        inserts.append(dict(peak=r.name, chrom=r.chrom, start=r.istart, end=r.istart + LENGTH,
                            label=r.label, GATA1=int("A" in roles), TAL1=int("B" in roles),
                            n_distractors=int((mine["role"] == "distractor").sum()),
                            sequence=pool.seqs[r.pool]))
    truth = pd.DataFrame(truth).sort_values(["chrom", "start"], kind="stable").reset_index(drop=True)
    return genome, peaks, truth, pd.DataFrame(inserts)


def write_peaks(path: Path, peaks: pd.DataFrame) -> None:
    with open(path, "w") as fh:
        for r in peaks.itertuples():
            score = min(1000, int(round(50 * r.signal)))
            pval = 3.0 * r.signal
            qval = max(0.0, pval - 1.5)
            fh.write(f"{r.chrom}\t{r.start}\t{r.end}\t{r.name}\t{score}\t.\t"
                     f"{r.signal:.3f}\t{pval:.3f}\t{qval:.3f}\t{r.summit}\n")


README = """# Demo data (simulated)

Everything here is simulated and regenerated, offline and deterministically from a seed, by

    .venv/bin/python scripts/make_demo.py --out resources/demo --seed {seed}

(`dfim.simulate` holds the simulator and the model builder.)

| file | what it is |
| --- | --- |
| `motifs.meme` | MEME (v4) motif file: GATA1 = JASPAR {gata_id}, TAL1::TCF3 = {tal_id}, and the distractors {distr}, all from {release} as bundled with `pyjaspar`. Motif names are the last word of each `MOTIF` line. |
| `model.h5` | tf_keras HDF5 model (no optimizer state), input `(None, {length}, 4)` one-hot A,C,G,T, one sigmoid output. Layers: Conv1D(32, 15, relu) > MaxPool(4) > Dropout > Conv1D(16, 5, relu) > MaxPool(25) > Flatten > Dense(32, relu) > Dropout > Dense(1, sigmoid), all of them convertible by DeepLIFT 0.6.13. |
| `genome.fa`, `genome.fa.fai` | Two chromosomes ({chroms}) of i.i.d. background (GC {gc}) with {n_ins} simulated {length}-bp sequences inserted. |
| `peaks.narrowPeak` | One peak per inserted sequence (`peak_0` ...), 300 to 600 bp wide and holding the whole insert. Column 10 (summit offset) points at the insert's centre, so a {length}-bp window centred on the summit is exactly the insert. signalValue, pValue and qValue are made up (higher for positives). Sorted by chrom, start. |
| `truth.tsv` | Every embedded motif instance in genome coordinates (0-based, half-open): chrom, start, end, motif, motif_id, strand (`-` = PWM site reverse-complemented), role (`A` = GATA1, `B` = TAL1::TCF3, `distractor`), peak. |
| `inserts.tsv` | One row per peak: the inserted sequence's coordinates, its label, whether it holds GATA1 / TAL1::TCF3, its number of distractors, and the sequence. |

## Simulation

Grammar "and": GATA1 and TAL1::TCF3 are each embedded with probability 0.5; the label is 1
iff both are present (no label noise). Each distractor (CEBPB, FOXA1, NRF1) is embedded with
probability 0.5 regardless of the label. Instances are drawn from the PWM on either strand,
conditioned on a log2-odds score of at least {min_frac} of the motif's best score; they never
overlap. Background is i.i.d. with GC fraction {gc}.

- Model: trained on {n_train} such sequences (seed ({seed}, 0)), {epochs} epochs, batch {batch},
  with reverse-complement augmentation; held-out ({n_test} sequences) accuracy {acc:.3f},
  AUROC {auc:.3f}.
- Genome: {n_pos} positives (both motifs) and {n_neg} others (one or neither motif) from a separate
  draw (seed ({seed}, 1)). The model's accuracy on these {n_ins} inserts: {acc_ins:.3f}.

## Motif choices

- GATA1 is {gata_id}, which JASPAR names "Gata1" (mouse; 11 bp, 13.6 bits, core AGATAA);
  it is written as `GATA1` here. The newest GATA1 matrix in the release, MA0035.5, is
  7 bp / 9.8 bits: sites sampled from it are hard to tell from chance matches in the
  background, which caps what a model can learn from 10,000 sequences.
- TAL1 is {tal_id} (TAL1::TCF3), the only CORE TAL1 matrix that does not include GATA1
  (the other one, MA0140 GATA1::TAL1, is the composite site itself).
- Distractors were picked for consensus sequences unlike GATA/E-box sites.

`truth.tsv` lists only the embedded instances: the i.i.d. background also holds a few
chance matches, so a motif scan (e.g. FIMO at p < 1e-4) finds a handful more hits.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="resources/demo", help="output folder (default: resources/demo)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-train", type=int, default=10_000, help="simulated training sequences")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed = args.seed

    gata, tal = load_motif(*GATA1), load_motif(*TAL1)
    distractors = [load_motif(*d) for d in DISTRACTORS]
    write_meme([gata, tal, *distractors], out / "motifs.meme")
    sim = dict(grammar="and", motifs=[gata, tal], gc=GC, distractors=distractors,
               min_site_frac=MIN_SITE_FRAC)

    t0 = time.perf_counter()
    train = simulate_sequences(args.n_train, LENGTH, seed=(seed, 0), **sim)
    print(f"simulated {args.n_train} training sequences ({train.labels.mean():.1%} positive) "
          f"in {time.perf_counter() - t0:.1f} s")
    model = build_cnn(LENGTH, n_tasks=1, seed=seed)
    res = train_cnn(model, train.X, train.labels, seed=seed, epochs=args.epochs,
                    batch_size=args.batch_size, test_fraction=0.1)
    print(f"trained in {res.seconds:.1f} s: held-out accuracy {res.accuracy:.4f}, AUROC {res.auroc:.4f} "
          f"({len(res.test_index)} sequences)")
    model.save(out / "model.h5", include_optimizer=False, save_format="h5")

    pool = simulate_sequences(400, LENGTH, seed=(seed, 1), **sim)
    chosen = pick_inserts(pool, N_POS, N_NEG)
    genome, peaks, truth, inserts = build_genome(seed, pool, chosen)
    write_fasta(out / "genome.fa", genome)
    import pysam

    fai = out / "genome.fa.fai"
    if fai.exists():
        fai.unlink()
    pysam.faidx(str(out / "genome.fa"))
    write_peaks(out / "peaks.narrowPeak", peaks)
    truth[["chrom", "start", "end", "motif", "motif_id", "strand", "role", "peak"]].to_csv(
        out / "truth.tsv", sep="\t", index=False)
    inserts.to_csv(out / "inserts.tsv", sep="\t", index=False)

    from dfim.sequences import one_hot

    p_ins = model.predict(one_hot(list(inserts["sequence"])), verbose=0)[:, 0]
    acc_ins = float(((p_ins > 0.5) == (inserts["label"].to_numpy() == 1)).mean())
    print(f"model accuracy on the {len(inserts)} genome inserts: {acc_ins:.3f}")

    (out / "README.md").write_text(README.format(
        seed=seed, gata_id=gata.id, tal_id=tal.id, release=RELEASE,
        distr=", ".join(f"{d.name} = {d.id}" for d in distractors),
        length=LENGTH, chroms=", ".join(f"{c} {L:,} bp" for c, L in CHROMS.items()), gc=GC,
        n_ins=len(inserts), n_pos=N_POS, n_neg=N_NEG, min_frac=MIN_SITE_FRAC,
        n_train=args.n_train, epochs=args.epochs, batch=args.batch_size,
        n_test=len(res.test_index), acc=res.accuracy, auc=res.auroc, acc_ins=acc_ins))
    for f in sorted(out.iterdir()):
        print(f"{f.name:20s} {f.stat().st_size:>10,d} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A tiny genome, peaks, motif file and model for end-to-end workflow tests."""

import numpy as np
import yaml

from models import small_cnn

GATA = "AGATAAGG"
TAL = "CAGCTG"
L = 100


def write_meme(path):
    def mat(s):
        rows = []
        for b in s:
            p = [0.02] * 4
            p["ACGT".index(b)] = 0.94
            rows.append(" ".join(f"{x:.3f}" for x in p))
        return "\n".join(rows)

    text = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"
    for name, s in (("GATA", GATA), ("TAL", TAL)):
        text += f"MOTIF {name}\nletter-probability matrix: alength= 4 w= {len(s)} nsites= 20 E= 0\n{mat(s)}\n\n"
    path.write_text(text)


def make_inputs(root, n_peaks=6, seed=0, mode="motifs", extra=None):
    rng = np.random.default_rng(seed)
    contigs = {"chr1": 3000, "chr2": 2500}
    seqs = {c: list("".join(rng.choice(list("ACGT"), n))) for c, n in contigs.items()}
    peaks = []
    for i in range(n_peaks):
        c = "chr1" if i % 2 == 0 else "chr2"
        centre = 200 + (i // 2) * 350
        a = centre - L // 2
        seqs[c][a + 20 : a + 20 + len(GATA)] = GATA
        seqs[c][a + 60 : a + 60 + len(TAL)] = TAL
        peaks.append(f"{c}\t{centre - 80}\t{centre + 80}\tpeak{i}\t0\t.\t1\t1\t1\t80")
    (root / "genome.fa").write_text("".join(f">{c}\n{''.join(s)}\n" for c, s in seqs.items()))
    (root / "peaks.narrowPeak").write_text("\n".join(peaks) + "\n")
    write_meme(root / "motifs.meme")
    small_cnn(L, root / "model.h5")
    cfg = {
        "genome": "genome.fa",
        "peaks": {"tiny": "peaks.narrowPeak"},
        "shard_size": 4,
        "model": {"path": "model.h5"},
        "elements": {"mode": mode, "motif_file": "motifs.meme", "motif_pvalue": 0.001},
        "importance": {"method": "deeplift", "reference": "gc"},
        "null": {"shuffles": 2},
        "plots": {"top": 1},
    }
    if extra:
        for k, v in extra.items():
            cfg[k] = v if not isinstance(v, dict) else {**cfg.get(k, {}), **v}
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    return cfg

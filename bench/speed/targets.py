"""The random-source null's segment mutants scored with the input gradient on their targets only.

The importance pass alone, as ``score_random_source`` calls it, on the Basset-sized model
(random weights, ``models.py``): DeepLIFT's genomics default against the GC background, a
few random 1-kb windows with 12-bp sources, and the null's segments for every (source,
target) pair (``dfim.null.segment_specs``, 10 per pair). Three ways, interleaved rounds
after a warm-up call, best round of each: the full pass (``locality = False``), the local
forward pass alone (targets not given), and the local forward with the target-only input
gradient (``targets``, what the workflow runs). Checks the last against the full pass on
every target of every row (max relative difference per row) and writes
``bench/results/targets.md``.

    .venv/bin/python bench/speed/targets.py [--rounds R] [--windows N] [--sources S] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # bench/: the shared machine helpers

import numpy as np
from locality_prod import specs_for
from machine import cpu_model
from models import DESCRIPTION, save_model

ROOT = HERE.parent.parent


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--windows", type=int, default=32)
    p.add_argument("--sources", type=int, default=4)
    p.add_argument("--width", type=int, default=12)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "targets.md"))
    a = p.parse_args(argv)

    from dfim.importance import hypothetical_scores, make_references
    from dfim.models import load_model
    from dfim.mutants import generate_mutants_and_key
    from dfim.null import segment_specs
    from dfim.pipeline import ScoringOptions, mutant_origins, null_targets
    from dfim.specs import MutationSpecs

    load0 = os.getloadavg()
    t_start = time.time()
    model = load_model(save_model("basset", os.path.join(tempfile.mkdtemp(), "basset.h5")))
    L = model.length
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (a.windows, L))]
    specs = specs_for(rng, a.windows, a.sources, L, a.width)
    segs, _ = segment_specs(specs, L)
    allspecs = MutationSpecs(list(specs) + list(segs))
    mutants, key = generate_mutants_and_key(X, allspecs, strategy="gc", gc=0.46)
    both = np.concatenate([X, mutants])
    origin, spans = mutant_origins(len(X), key)
    targets = null_targets(len(X), key, allspecs, len(specs))
    n_null = sum(t is not None for t in targets)
    refs = make_references(X, "gc", gc=0.46)
    opts = ScoringOptions(method="deeplift", reference="gc", tasks=[0], batch_size=a.batch_size, threads=a.threads)
    ways = {"full pass": dict(locality=False), "local forward": dict(locality=True, targets=None),
            "local forward + target-only gradient": dict(locality=True, targets=targets)}
    best = {w: np.inf for w in ways}
    out = {}
    with opts.scorer(model) as s:
        for r in range(a.rounds + 1):  # round 0: warm-up (tracing, compilation)
            for w, how in ways.items():
                s.locality = how["locality"]
                kw = dict(origin=origin, spans=spans, targets=how.get("targets")) if how["locality"] else {}
                t0 = time.time()
                out[w] = hypothetical_scores(s, both, refs, task=0, batch_size=a.batch_size, **kw)
                dt = time.time() - t0
                if r:
                    best[w] = min(best[w], dt)
                print(f"round {r} {w}: {dt:.2f} s", flush=True)
    tgt = out["local forward + target-only gradient"]
    rest = [i for i, t in enumerate(targets) if t is None]
    rel = {}
    for w in ("full pass", "local forward"):
        ref = out[w]
        on_targets = []
        for i, t in enumerate(targets):
            if t is not None:
                keep = np.zeros(L, bool)
                for s0, e0 in t:
                    keep[s0:e0] = True
                on_targets.append(np.abs(tgt[i, keep] - ref[i, keep]).max() / np.abs(ref[i]).max())
        on_targets = np.array(on_targets)
        others = np.abs(tgt[rest] - ref[rest]).max(axis=(1, 2)) / np.abs(ref[rest]).max(axis=(1, 2))
        rel[w] = (on_targets.max(), int((on_targets > 1e-5).sum()), len(on_targets), others.max())
    load1 = os.getloadavg()
    write(a, best, len(both), n_null, len(specs), rel, load0, load1, time.time() - t_start)


def write(a, best, rows, n_null, n_src, rel, load0, load1, elapsed):
    import tensorflow as tf

    full = best["full pass"]
    lines = [
        "# The null's segment mutants: input gradient on their targets only",
        "",
        f"`bench/speed/targets.py`, {time.strftime('%Y-%m-%d %H:%M %Z')}; {cpu_model()}, {os.cpu_count()} CPUs "
        f"(a shared machine: other jobs may run beside this one), {a.threads} TensorFlow threads, tensorflow "
        f"{tf.__version__}; load average {load0[0]:.2f} before, {load1[0]:.2f} after; {elapsed:.0f} s in all.",
        "",
        f"The importance pass of `score_random_source` (`hypothetical_scores` on originals, source mutants and "
        f"segment mutants together, as the workflow calls it) on the Basset-sized model ({DESCRIPTION['basset']}; "
        f"random weights), method `deeplift`, reference `gc`, mutation strategy `gc`, batch_size {a.batch_size}; "
        f"{a.windows} random 1-kb windows with {a.sources} sources of {a.width} bp, every source responding over "
        f"the window's other sources; the null's 10 segments per (source, target) pair: {rows} rows, of which "
        f"{n_null} segment mutants (whose FIS reads only the window's {a.sources} targets) and {n_src} source "
        f"mutants. Best of {a.rounds} interleaved rounds after a warm-up round.",
        "",
        "| path | seconds | rows / s | speed-up over the full pass |",
        "|---|---|---|---|",
    ]
    for w, t in best.items():
        lines.append(f"| {w} | {t:.2f} | {rows / t:.0f} | {full / t:.2f}x |")
    lines += [
        "",
        "Equality of the target-only path with the other two: per segment-mutant row, max |difference| on the "
        "row's targets / max |score| of the row in the path compared with; per other row (originals, source "
        "mutants), the same over the whole window. Off their targets the segment rows are NaN by design "
        "(`dfim.native.locality.local_scores`).",
        "",
        "| compared with | segment rows: max rel. difference on targets | segment rows above 1e-5 | other rows: "
        "max rel. difference |",
        "|---|---|---|---|",
    ]
    for w, (mx, n_bad, n, other) in rel.items():
        lines.append(f"| {w} | {mx:.1e} | {n_bad} of {n} | {other:.1e} |")
    lines.append("")
    Path(a.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The random-source null's segment mutants: scored on their targets only, in windows.

The importance pass alone, as ``score_random_source`` calls it, on the Basset-sized model
(random weights, ``models.py``): DeepLIFT's genomics default against the GC background, a
few random 1-kb windows with 12-bp sources, and the null's segments for every (source,
target) pair (``dfim.null.segment_specs``, 10 per pair, each scored on the targets of the
pairs that picked it). Three ways, interleaved rounds after a warm-up call, best round of
each: the full pass (``locality = False``), the local forward pass with the whole input
gradient (targets not given), and the targeted windows (``targets``, what the workflow
runs: ``dfim.native.targeted``). Checks the last against the full pass on every target of
every row (max relative difference per row). For the targeted windows it also counts the
multiply-adds their kernel calls execute (convolutions and dense products, from the
batch shapes: ``call_flops``), times the calls, and compares that rate with this
machine's float32 matmul rate measured in the same run. Writes ``bench/results/targets.md``.

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
from cost import best_matmul_rate
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
    ways = {"full pass": dict(locality=False), "local forward, whole input gradient": dict(locality=True, targets=None),
            "targeted windows": dict(locality=True, targets=targets)}
    best = {w: np.inf for w in ways}
    out = {}
    with opts.scorer(model) as s:
        calls = time_targeted_calls(s)
        for r in range(a.rounds + 1):  # round 0: warm-up (tracing, compilation)
            for w, how in ways.items():
                s.locality = how["locality"]
                kw = dict(origin=origin, spans=spans, targets=how.get("targets")) if how["locality"] else {}
                calls.clear()
                t0 = time.time()
                out[w] = hypothetical_scores(s, both, refs, task=0, batch_size=a.batch_size, **kw)
                dt = time.time() - t0
                if r and dt < best[w]:
                    best[w] = dt
                    if w == "targeted windows":
                        kernel = list(calls)  # the kernel calls of the best round
                print(f"round {r} {w}: {dt:.2f} s", flush=True)
        observed = [c for c in kernel if c[4] < 0]
        kernel = [c for c in kernel if c[4] >= 0]
        flops = sum(call_flops(s, *c[:5]) for c in kernel)
        k_wall = sum(c[5] for c in kernel)
        k_cpu = sum(c[6] for c in kernel) / a.threads
    mm_wall, mm_cpu, mm_n = best_matmul_rate(a.threads)
    eff = dict(observed=(len(observed), sum(c[5] for c in observed)), calls=len(kernel), shapes=sorted({c[:5] for c in kernel}), gflop=flops / 1e9, wall=k_wall, cpu=k_cpu,
               whole=best["targeted windows"], mm_wall=mm_wall, mm_cpu=mm_cpu, mm_n=mm_n)
    tgt = out["targeted windows"]
    rest = [i for i, t in enumerate(targets) if t is None]
    rel = {}
    for w in ("full pass", "local forward, whole input gradient"):
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
    write(a, best, len(both), n_null, len(specs), rel, eff, load0, load1, time.time() - t_start)


def time_targeted_calls(scorer) -> list:
    """Time every call of the scorer's targeted-window functions: the list fills with ``(width,
    t_width, B_o, B_m, P, wall s, CPU s)`` per call (the call and its result's copy to numpy)."""
    from cost import cpu_seconds

    from dfim.native.locality import _forward

    rows = _forward(scorer).targeted
    calls, make = [], rows.fn

    def fn(width, t_width):
        f = make(width, t_width)

        def timed(*args):
            t, c = time.perf_counter(), cpu_seconds()
            m = f(*args).numpy()
            calls.append((width, t_width, args[0].shape[0], args[1].shape[0], args[6].shape[0],
                          time.perf_counter() - t, cpu_seconds() - c))
            import tensorflow as tf

            return tf.constant(m)

        return timed

    rows.fn = fn
    local, make_local = _forward(scorer), _forward(scorer).fn

    def local_fn(width):  # the observed rows' local pass: its calls are counted apart, with P = -1
        f = make_local(width)

        def timed(*args):
            t, c = time.perf_counter(), cpu_seconds()
            m = [v.numpy() for v in f(*args)]
            calls.append((width, 0, args[0].shape[0], args[1].shape[0], -1, time.perf_counter() - t,
                          cpu_seconds() - c))
            import tensorflow as tf

            return [tf.constant(v) for v in m]

        return timed

    local.fn = local_fn
    return calls


def call_flops(scorer, width: int, t_width: int, B_o: int, B_m: int, P: int) -> float:
    """Floating-point operations (2 per multiply-add) of the convolutions and dense products one targeted
    call executes, from its shapes: the reference's and the ``B_o`` originals' forward passes through
    the windowed prefix, the ``B_m`` changes' windowed forward, the rest of the network forward and
    back on ``B_m`` whole rows (a RevealCancel block: 7 products of its dense layer, the forward and
    the rule's four and two), and the input gradient on the ``P`` targets' windows. Activations,
    pooling, gathers and copies are not counted."""
    from dfim.native.locality import _forward

    steps, L = scorer.steps, scorer.model.length
    plan_c, plan_t = _forward(scorer).targeted.plans(width, t_width)
    n = len(plan_c)
    whole, length = 0.0, L  # prefix convolutions on whole rows
    change = target = 0.0
    w_c, w_t = width, t_width
    for step, oc, ot in zip(steps[:n], plan_c, plan_t):
        if oc.kind == "conv":
            k, cin, cout = oc.kernel.shape
            length = length + oc.left + oc.right - k + 1
            whole += length * k * cin * cout
            change += oc.width * k * cin * cout
            target += w_t * k * cin * cout  # the input gradient on the target's input window
        elif oc.kind == "pool":
            length //= oc.size
        w_c, w_t = oc.width, ot.width
    tail = 0.0
    for step in steps[n:]:
        if step.kind == "block":
            tail += 7 * float(np.prod(step.dense.kernel.shape))
        elif step.layer == "Dense":
            tail += 2 * float(np.prod(step.kernel.shape))
    return 2 * ((1 + B_o) * whole + B_m * (change + tail) + P * target)


def write(a, best, rows, n_null, n_src, rel, eff, load0, load1, elapsed):
    import tensorflow as tf

    full = best["full pass"]
    lines = [
        "# The null's segment mutants: scored on their targets only, in windows",
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
        f"{n_null} segment mutants (whose FIS reads only the targets of the pairs that picked them) and {n_src} "
        f"source mutants. Best of {a.rounds} interleaved rounds after a warm-up round.",
        "",
        "| path | seconds | rows / s | speed-up over the full pass |",
        "|---|---|---|---|",
    ]
    for w, t in best.items():
        lines.append(f"| {w} | {t:.2f} | {rows / t:.0f} | {full / t:.2f}x |")
    lines += [
        "",
        "Equality of the targeted windows with the other two: per segment-mutant row, max |difference| on the "
        "row's targets / max |score| of the row in the path compared with; per other row (originals, source "
        "mutants), the same over the whole window. Off their targets the segment rows are NaN by design "
        "(`dfim.native.targeted`).",
        "",
        "| compared with | segment rows: max rel. difference on targets | segment rows above 1e-5 | other rows: "
        "max rel. difference |",
        "|---|---|---|---|",
    ]
    for w, (mx, n_bad, n, other) in rel.items():
        lines.append(f"| {w} | {mx:.1e} | {n_bad} of {n} | {other:.1e} |")
    e = eff
    rate_w, rate_c = e["gflop"] / e["wall"], e["gflop"] / e["cpu"]
    lines += [
        "",
        "## Kernel time and FLOP rate of the targeted windows",
        "",
        f"In the best round, {e['calls']} calls of the targeted-window function (shapes (width, target width, "
        f"originals, mutant rows, (row, target) pairs): {e['shapes']}) took {e['wall']:.2f} s wall "
        f"({100 * e['wall'] / e['whole']:.0f} % of the whole call's {e['whole']:.2f} s; the originals' and the "
        f"source mutants' own local pass took {e['observed'][1]:.2f} s in {e['observed'][0]} call(s), the rest is "
        "packing and writing the scores out) and "
        f"{e['cpu']:.2f} CPU-s per thread. They execute {e['gflop']:.1f} GFLOP of convolutions and dense "
        f"products (`call_flops`): **{rate_w:.0f} GFLOP/s wall, {rate_c:.0f} GFLOP/s per thread-CPU**, against "
        f"this machine's float32 matmul rate measured in this run ({e['mm_wall'] / 1e9:.0f} GFLOP/s wall, "
        f"{e['mm_cpu'] / 1e9:.0f} CPU; the best of square sizes 1024, 2048 and 4096, here {e['mm_n']}): **{100 * rate_w * 1e9 / e['mm_wall']:.0f} % wall, "
        f"{100 * rate_c * 1e9 / e['mm_cpu']:.0f} % CPU**.",
        "",
    ]
    Path(a.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Scoring speed: the native TF 2 scorer against the deeplift package and the 2018 approach.

One run, same inputs for every scorer. Run by ``make bench-speed``; writes
``bench/results/speed.md``. Not a test: the numbers depend on the machine.

    .venv/bin/python bench/speed/run.py [--threads N] [--rounds R] [--basset-n N] [--quick]

For each model (demo-sized, Basset-sized; random weights) and method (gradient x input
against the all-zero reference, DeepLIFT-Rescale against the GC background) it times
  native    NativeScorer, batch 256
  deeplift  the deeplift package (0.6.13, TF1 graph in a session), batch 256
  2018      the deeplift package with batch_size=10, as the published DFIM code called it
in interleaved rounds (best round reported), checks that native and deeplift agree, and
relates the native rate to FLOPs and to this machine's measured matmul rate. Also: DFIM-shaped
batches with 10 shuffled references per original (both models), integrated gradients and a
Keras 3 copy (demo), a per-layer profile and the locality bounds (basset).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cost
import locality as locality_proto
import numpy as np
from models import DESCRIPTION, save_model

ROOT = HERE.parent.parent
VARIANTS = [("native", "native", 256), ("deeplift", "deeplift", 256), ("2018", "deeplift", 10)]
METHODS = [("grad_x_input", "zero"), ("rescale", "gc")]


class Published2018:
    """The published DFIM call pattern: one deeplift function call per task over all sequences, with the
    package's own ``batch_size=10`` loop inside (one ``session.run`` per 10 sequences).

    Calling deeplift once per 10 sequences instead would be slower still and get slower with every call:
    deeplift 0.6.13 adds new assign ops to its TF1 graph on each call (``update_task_vector``).
    """

    def __init__(self, inner):
        self.inner = inner

    def multipliers(self, X, R, task, batch_size=256):
        return self.inner.multipliers(X, R, task, batch_size=10)

    def close(self):
        self.inner.close()


def machine() -> dict:
    info = {"model name": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            key, _, val = line.partition(":")
            info[key.strip()] = val.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def onehot(rng, n, L):
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))]


def rel_diff(a, b) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def tie_rows(a, b, tol=1e-4) -> int:
    """Sequences whose contributions differ by more than ``tol * max|b|`` (see the report's note on ties)."""
    d = np.abs(a - b).reshape(-1, *a.shape[-2:]).max(axis=(1, 2))
    return int((d > tol * max(np.abs(b).max(), 1e-30)).sum())


def time_variants(model, X, jobs, rounds, threads, log):
    """jobs: list of (label, scorer, kwargs). Interleaved rounds; returns {label: (Timer, actual)}."""
    from dfim.importance import compute_importance

    res = {}
    for label, scorer, kw in jobs:  # warm-up: trace, compile, build oneDNN primitives for the batch shapes
        bs = kw["batch_size"]

        def warm(m, scorer=scorer, kw=kw):
            kw_m = dict(kw, ref_index=kw["ref_index"][:m]) if "ref_index" in kw else kw
            compute_importance(model, X[:m], scorer=scorer, **kw_m)

        if hasattr(scorer, "hypothetical"):  # native: every batch shape of the timed run
            warm(min(len(X), bs))
            if len(X) % bs and len(X) > bs:
                warm(len(X) % bs)
        else:  # deeplift: one call at its batch shape (oneDNN builds its kernels per shape)
            warm(10 if isinstance(scorer, Published2018) else min(len(X), bs))
        res[label] = [cost.Timer(), None]
    for r in range(rounds):
        for label, scorer, kw in jobs:
            with res[label][0]:
                imp = compute_importance(model, X, scorer=scorer, **kw)
            res[label][1] = imp.actual
            w, c = res[label][0].wall[-1], res[label][0].cpu[-1] / threads
            log(f"  round {r + 1} {label:9s} {getattr(scorer, 'method', getattr(getattr(scorer, 'inner', None), 'method', '')):22s} {len(X) / w:9.1f} seq/s wall, {len(X) / c:9.1f} CPU-normalised")
    return {k: (t, a) for k, (t, a) in res.items()}


def dfim_batch(rng, X, mutants_per_seq: int, gc_row):
    """Originals followed by mutants (a 10 bp source set to the GC background), each row pointing at its
    original: the shape of a DFIM scoring batch. Returns (rows, original of each row, mutants' source starts)."""
    n, L, _ = X.shape
    starts = np.concatenate([rng.integers(0, L - 10, mutants_per_seq) for _ in range(n)])
    index = np.concatenate([np.arange(n), np.repeat(np.arange(n), mutants_per_seq)])
    rows = X[index]
    for j, s in enumerate(starts, start=n):
        rows[j, s : s + 10] = gc_row
    return rows, index, starts


def time_dfim_batches(name, model, X, methods, rng, rounds, threads, log) -> list[tuple]:
    """Native vs deeplift on DFIM-shaped batches: the originals ``X``, 15 mutants each, every row scored
    against its original's 10 dinucleotide-shuffled references (the workflow's default references).
    Returns rows of the report's second table, one per scorer and method."""
    from dfim.importance import make_references, make_scorer
    from dfim.sequences import gc_background

    Xd, idx, _ = dfim_batch(rng, X, 15, gc_background(0.46))
    refs = make_references(X, "shuffle", n_refs=10, seed=1)
    rows = []
    for meth in methods:
        jobs = [(f"{lab} {meth} shuffle K=10 (DFIM batch)", make_scorer(model, meth, be, threads=threads),
                 {"refs": refs, "ref_index": idx, "batch_size": 256}) for lab, be, _ in VARIANTS[:2]]
        res = time_variants(model, Xd, jobs, rounds, threads, log)
        base = res[jobs[1][0]][1]
        rows += [(name, lab, len(Xd), *t.best(threads), rel_diff(act, base), tie_rows(act, base))
                 for lab, (t, act) in res.items()]
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--demo-n", type=int, default=2048)
    p.add_argument("--basset-n", type=int, default=256)
    p.add_argument("--quick", action="store_true", help="tiny run to check the script")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "speed.md"))
    a = p.parse_args(argv)
    if a.quick:
        a.rounds, a.demo_n, a.basset_n = 1, 256, 16
    threads = a.threads

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from dfim.importance import compute_importance, make_scorer
    from dfim.models import load_model
    from dfim.native import NativeScorer
    from dfim.sequences import gc_background

    t_start = time.time()

    def log(msg):
        print(msg, flush=True)

    load0 = os.getloadavg()
    mm = [cost.matmul_rate(threads)]
    log(f"matmul: {mm[0][0] / 1e9:.0f} GFLOP/s wall, {mm[0][1] / 1e9:.0f} CPU-normalised")
    rng = np.random.default_rng(0)
    results = {}  # (model, method) -> {variant: (wall_s, cpu_s, n, diff)}
    extra = []  # rows for the second table
    flops, native_fl = {}, {}
    layer_prof, fwd_share, locality, rf, loc_proto = None, None, {}, None, None
    with tempfile.TemporaryDirectory() as d:
        for name, n in [("demo", a.demo_n), ("basset", a.basset_n)]:
            path = save_model(name, os.path.join(d, f"{name}.h5"))
            model = load_model(path)
            X = onehot(rng, n, model.length)
            flops[name] = cost.forward_flops(model.keras_model)
            native_fl[name] = cost.native_flops(model.keras_model)
            log(f"{name}: {flops[name] / 1e6:.1f} MFLOP forward per sequence, {n} sequences")
            for method, ref in METHODS:
                jobs = []
                for label, backend, bs in VARIANTS:
                    s = make_scorer(model, method, backend, threads=threads)
                    if label == "2018":  # one deeplift call over every sequence, batch_size=10 inside
                        s, bs = Published2018(s), len(X)
                    jobs.append((label, s, {"reference": ref, "batch_size": bs}))
                res = time_variants(model, X, jobs, a.rounds, threads, log)
                base = res["deeplift"][1]
                results[(name, method, ref)] = {
                    lab: (*t.best(threads), n, rel_diff(act, base)) for lab, (t, act) in res.items()
                }
                for _, s, _ in jobs:
                    s.close()
            if name == "demo":
                extra += time_dfim_batches(name, model, X[: 16 if not a.quick else 4], ("rescale",), rng, a.rounds,
                                           threads, log)
                # integrated gradients (32 steps), native only
                Xi = X[: 256 if not a.quick else 32]
                s = NativeScorer(model, "integrated_gradients", threads=threads)
                res = time_variants(model, Xi, [("native integrated_gradients gc (32 steps)", s,
                                                 {"reference": "gc", "batch_size": 256})], a.rounds, threads, log)
                for lab, (t, act) in res.items():
                    extra.append((name, lab, len(Xi), *t.best(threads), float("nan"), None))
                # the same weights saved by Keras 3, scored natively (deeplift cannot read Keras 3 files)
                p3 = save_model(name, os.path.join(d, f"{name}.keras"), flavour="keras3")
                m3 = load_model(p3)
                s3 = make_scorer(m3, "rescale", "native", threads=threads)
                res = time_variants(m3, X, [(f"native rescale gc, Keras 3 .keras ({m3.flavour})", s3,
                                             {"reference": "gc", "batch_size": 256})], a.rounds, threads, log)
                base = compute_importance(model, X, method="rescale", backend="deeplift", reference="gc").actual
                for lab, (t, act) in res.items():
                    extra.append((name, lab, len(X), *t.best(threads), rel_diff(act, base), tie_rows(act, base)))
            if name == "basset":
                # Rescale, and the genomics default (the workflow's default method)
                extra += time_dfim_batches(name, model, X[: 4 if not a.quick else 1], ("rescale", "deeplift"), rng,
                                           a.rounds, threads, log)
                s = NativeScorer(model, "grad_x_input", threads=threads)
                pb = min(128, n)
                layer_prof = cost.profile_layers(s.steps, model.length, pb, threads)
                op_flops = {r["name"]: r["flops"] for r in cost.layer_table(model.keras_model)}
                for r in layer_prof:
                    r["flops"] = op_flops.get(r["name"], 0) if r["kind"] == "linear" else 0
                rf = cost.receptive_field(model.keras_model)
                # forward alone vs forward + input gradient, the bound on what forward-only locality can save
                from dfim.native.program import run as run_steps

                fwd = tf.function(functools.partial(run_steps, s.steps),
                                  input_signature=[tf.TensorSpec((None, model.length, 4))])
                Xt = tf.constant(X[:pb])
                fwd(Xt)
                s.gradient_fn(Xt, tf.constant(0))
                tf_, tg = cost.Timer(), cost.Timer()
                for _ in range(3):
                    with tf_:
                        fwd(Xt).numpy()
                    with tg:
                        s.gradient_fn(Xt, tf.constant(0)).numpy()
                fwd_share = (tf_.best(threads), tg.best(threads))
                for w in (1, 10, 50):
                    locality[w] = (cost.changed_positions(model.keras_model, w), cost.locality_flops(model.keras_model, w))
                # the prototype: mutants' convolutions computed only on their changed window
                n0 = 16 if not a.quick else 2
                Xd, idx, starts = dfim_batch(rng, X[:n0], 15, gc_background(0.46))
                loc_proto = locality_proto.measure(model, lambda m: NativeScorer(model, m, threads=threads), Xd[:n0],
                                                   Xd[n0:], idx[n0:], starts, 10, a.rounds, threads, cost.Timer)
                for m_, (full, win, diff, beyond, rows) in loc_proto.items():
                    log(f"  locality prototype {m_}: full {rows / full[1]:.1f} seq/s CPU, windowed {rows / win[1]:.1f}, "
                        f"max rel. diff {diff:.1e}")
            mm.append(cost.matmul_rate(threads))
            log(f"matmul: {mm[-1][0] / 1e9:.0f} GFLOP/s wall, {mm[-1][1] / 1e9:.0f} CPU-normalised")
    load1 = os.getloadavg()
    peak_wall = max(m[0] for m in mm)
    peak_cpu = max(m[1] for m in mm)
    elapsed = time.time() - t_start
    report = write_report(a, machine(), threads, load0, load1, mm, peak_wall, peak_cpu, results, extra, flops,
                          native_fl, layer_prof, fwd_share, locality, rf, loc_proto, elapsed)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(report)
    log(f"wrote {a.out} ({elapsed / 60:.1f} min)")


def _fmt(x, nd=0):
    return f"{x:,.{nd}f}"


def write_report(a, mach, threads, load0, load1, mm, peak_wall, peak_cpu, results, extra, flops, native_fl,
                 layer_prof, fwd_share, locality, rf, loc_proto, elapsed) -> str:
    from importlib.metadata import version

    import tensorflow as tf

    out = []
    w = out.append
    w("# Scoring speed: native TF 2 scorer vs the deeplift package vs the 2018 approach\n")
    w(f"Generated by `make bench-speed` (`.venv/bin/python bench/speed/run.py"
      f"{' --quick' if a.quick else ''} --threads {threads} --rounds {a.rounds} --demo-n {a.demo_n} "
      f"--basset-n {a.basset_n}`) on {time.strftime('%Y-%m-%d %H:%M')}, {elapsed / 60:.1f} min.\n")
    w("## Machine\n")
    w(f"- CPU: {mach.get('Model name', mach['model name'])}, {mach.get('CPU(s)', mach['cpus'])} CPU(s), "
      f"{mach.get('Core(s) per socket', '?')} core(s) per socket, {mach.get('Thread(s) per core', '?')} thread(s) "
      f"per core, {mach.get('Hypervisor vendor', 'no')} hypervisor; {threads} TensorFlow intra-op threads.")
    w(f"- Software: Python {platform.python_version()}, TensorFlow {tf.__version__} (oneDNN "
      f"{'on' if os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1') != '0' else 'off'}), deeplift "
      f"{version('deeplift')}.")
    w(f"- Load average (1 min) at start {load0[0]:.2f}, at end {load1[0]:.2f}. The machine is shared: other jobs "
      "compete for the cores, so wall-clock rates vary from round to round. Every rate is given twice: **wall** "
      "(best of the interleaved rounds) and **CPU** (sequences per CPU-second of this process x threads: what the "
      "work costs with the cores to itself; a process waiting for a core accrues no CPU time). Efficiency "
      "fractions compare like with like (wall with wall, CPU with CPU).")
    mm_txt = ", ".join(f"{x[0] / 1e9:.0f}/{x[1] / 1e9:.0f}" for x in mm)
    w(f"- Dense float32 matmul, 4096 x 4096 by 4096 x 4096 (`tf.linalg.matmul` in a `tf.function`, best of 6), "
      f"measured {len(mm)} times during the run (wall/CPU GFLOP/s: {mm_txt}); best: **{peak_wall / 1e9:.0f} "
      f"GFLOP/s wall, {peak_cpu / 1e9:.0f} GFLOP/s CPU**.\n")
    w("## Models and inputs\n")
    for name in ("demo", "basset"):
        w(f"- **{name}**: {DESCRIPTION[name]}; random weights (seed 0), tf_keras `.h5`; "
          f"{flops[name] / 1e6:,.1f} MFLOP per forward pass.")
    w(f"- Inputs: random one-hot sequences (seed 0), {a.demo_n} for demo and {a.basset_n} for basset, the same for "
      "every scorer; one task (output 0), pre-activation target. gradient x input uses the all-zero reference, "
      "Rescale the GC background (0.46); both are one reference shared by every sequence.")
    w("- Scorers: **native** = `NativeScorer` (this package), batch 256; **deeplift** = deeplift 0.6.13 "
      "(TF1 graph in its own session), batch 256; **2018** = deeplift with `batch_size=10`, as the published "
      "DFIM code called it: one deeplift call per task over all sequences, one `session.run` per 10 inside. "
      "All through `dfim.importance.compute_importance`, so every number includes the "
      "hypothetical/actual bookkeeping. Warm-up calls (tracing, compilation) are not timed.\n")

    w("## Throughput\n")
    w("| model | method | reference | scorer | batch | sequences | seq/s wall | seq/s CPU | native speed-up "
      "wall | native speed-up CPU | max rel. diff vs deeplift |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, method, ref), res in results.items():
        nat_w, nat_c, n, _ = res["native"]
        for label, _, bs in VARIANTS:
            wt, ct, n, diff = res[label]
            sp = "" if label == "native" else f"{wt / nat_w:.2f}x"
            spc = "" if label == "native" else f"{ct / nat_c:.2f}x"
            w(f"| {name} | {method} | {ref} | {label} | {bs} | {n} | {_fmt(n / wt, 1)} | {_fmt(n / ct, 1)} | {sp} | "
              f"{spc} | {'(reference)' if label == 'deeplift' else f'{diff:.1e}'} |")
    w("\nmax rel. diff = max |a - b| / max |b| over the actual contributions of every sequence, b = deeplift "
      "(batch 256).\n")
    if extra:
        w("Other configurations:\n")
        w("| model | scorer / method / reference | rows | seq/s wall | seq/s CPU | native speed-up CPU | max rel. diff "
          "vs deeplift | rows beyond 1e-4 |")
        w("|---|---|---|---|---|---|---|---|")
        by = {(nm, lab): (n, ct) for nm, lab, n, wt, ct, diff, ties in extra}
        for name, lab, n, wt, ct, diff, ties in extra:
            sp = ""
            if lab.startswith("deeplift") and (name, "native" + lab[len("deeplift"):]) in by:
                sp = f"{ct / by[(name, 'native' + lab[len('deeplift'):])][1]:.2f}x"
            w(f"| {name} | {lab} | {n} | {_fmt(n / wt, 1)} | {_fmt(n / ct, 1)} | {sp} | "
              f"{'' if np.isnan(diff) else f'{diff:.1e}'} | {'' if ties is None else ties} |")
        w("\n*DFIM batch*: originals (16 demo, 4 basset), each followed by 15 mutants (a 10 bp source set to the "
          "GC background), every row scored against its original's 10 dinucleotide-shuffled references, as in a "
          "DFIM run with the workflow's default references. The native scorer runs each distinct reference set "
          "through the network once per batch, and each sequence's convolutions and dense layers once for its 10 "
          "references (only the backward pass, whose Rescale multipliers depend on the reference, is run 10 "
          "times). *deeplift* = DeepLIFT's genomics default (Rescale after convolutions, RevealCancel after "
          "dense layers), the workflow's default method. Integrated gradients costs 32 gradient passes per sequence. The Keras 3 row scores the same "
          "weights saved as a Keras 3 `.keras` archive (which the deeplift package cannot read) and compares with "
          "deeplift on the tf_keras copy. *rows beyond 1e-4*: sequences whose contributions differ from "
          "deeplift's by more than 1e-4 x max|deeplift| (see the note on max-pool ties below).\n")

    w("## FLOPs and the machine's limit\n")
    w("**Nominal** FLOPs per scored sequence, as the issue defines them = forward FLOPs of the convolution and "
      "dense layers (2 x multiply-adds, from the layer shapes) x 2: the input-gradient pass is counted as one "
      "more forward. The reference's own forward pass (once per batch for a shared reference) is not counted; "
      "neither are pooling and activations. The native scorer takes the input gradient of Basset's two wide "
      "convolutions through the FFT (`conv_fft_grad`), which needs fewer FLOPs than a forward: its "
      "**executed** count (forward + FFT gradient, `cost.native_flops`) is given too, and its nominal rate can "
      "exceed the matmul rate.\n")
    w("| model | method | scorer | nominal GFLOP / seq | executed GFLOP / seq | seq/s CPU | nominal GFLOP/s CPU | "
      "% of matmul, nominal (CPU) | % of matmul, executed (CPU) | % of matmul, nominal (wall) |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    headline = {}
    for (name, method, ref), res in results.items():
        f = 2 * flops[name]
        for label in ("native", "deeplift", "2018"):
            wt, ct, n, _ = res[label]
            fe = sum(native_fl[name]) if label == "native" else f
            gw, gc = f * n / wt, f * n / ct
            ge = fe * n / ct
            if label == "native":
                headline[(name, method)] = (gw / peak_wall, gc / peak_cpu, ge / peak_cpu)
            w(f"| {name} | {method} | {label} | {f / 1e9:.3f} | {fe / 1e9:.3f} | {n / ct:.1f} | {gc / 1e9:.1f} | "
              f"{100 * gc / peak_cpu:.0f} % | {100 * ge / peak_cpu:.0f} % | {100 * gw / peak_wall:.0f} % |")
    w("")

    if layer_prof:
        w("## Where the time goes (basset, native, per layer)\n")
        pb = min(128, a.basset_n)
        w(f"Each translated op of the native model (the grad_x_input program; Rescale replaces each ReLU's "
          f"gradient by its XLA-fused multiplier) timed alone on {pb} sequences (forward, and forward + input "
          "gradient), CPU-normalised. A ReLU followed by non-overlapping max-pooling is one op (`relu+...`): "
          "its forward pass and its gradient are each one XLA-compiled pass over memory (the gradient reads "
          "the arg-max of each window, kept by the forward pass). Conv1D with 4 input channels runs as one "
          "matrix product (im2col; "
          "TensorFlow's own convolution reaches about half the matmul rate there, and a quarter for its input "
          "gradient); the wider convolutions take their input gradient through the FFT, so their GFLOP/s "
          "column (nominal FLOPs over time) can exceed the matmul rate.\n")
        w("| op | output (per sequence) | GFLOP fwd+grad | ms fwd | ms fwd+grad | GFLOP/s (fwd+grad) | share |")
        w("|---|---|---|---|---|---|---|")
        tot = sum(r["both_cpu"] for r in layer_prof)
        for r in layer_prof:
            fl = r["flops"] * pb
            gf = f"{2 * fl / r['both_cpu'] / 1e9:.0f}" if fl else ""
            w(f"| {r['name']} ({r['kind']}) | {r['shape']} | {2 * fl / 1e9:.2f} | {1e3 * r['fwd_cpu']:.1f} | "
              f"{1e3 * r['both_cpu']:.1f} | {gf} | {100 * r['both_cpu'] / tot:.0f} % |")
        w("")
        if fwd_share:
            (fw, fc), (gw, gc) = fwd_share
            w(f"Whole model on {pb} sequences: forward {1e3 * fc:.0f} ms, forward + input gradient {1e3 * gc:.0f} ms "
              f"(CPU); {1e3 * fw:.0f} / {1e3 * gw:.0f} ms wall.\n")

    w("## Targets\n")
    for name, method in [("basset", "grad_x_input"), ("basset", "rescale")]:
        res = results.get((name, method, "zero" if method == "grad_x_input" else "gc"))
        if not res:
            continue
        nat, dl, old = res["native"], res["deeplift"], res["2018"]
        hw, hc, he = headline[(name, method)]
        w(f"- basset {method}: native is **{dl[1] / nat[1]:.2f}x** the deeplift package on CPU time "
          f"({dl[0] / nat[0]:.2f}x wall) and **{old[1] / nat[1]:.2f}x** the 2018 approach ({old[0] / nat[0]:.2f}x "
          f"wall); target 4x. Results agree to {nat[3]:.1e} (max rel. diff). Native reaches {100 * hc:.0f} % of "
          f"the matmul rate on nominal FLOPs ({100 * hw:.0f} % wall) and {100 * he:.0f} % on the FLOPs it "
          "executes; target 70 %.")
        f2, fe = 2 * flops[name], sum(native_fl[name])
        need = 4 * dl[2] / dl[1]  # sequences/s for 4x the package (CPU)
        w(f"  4x the package here is {need:.0f} sequences/s: {100 * need * f2 / peak_cpu:.0f} % of the matmul rate "
          f"on nominal FLOPs, {100 * need * fe / peak_cpu:.0f} % on the FLOPs the native scorer executes "
          f"(it runs at {100 * he:.0f} %); the package, which also runs the reference's forward pass for every "
          f"sequence (1.5x the nominal FLOPs), reaches {100 * 1.5 * f2 * dl[2] / dl[1] / peak_cpu:.0f} % of the "
          "matmul rate on what it executes.")
    w("")
    if layer_prof:
        tot = sum(r["both_cpu"] for r in layer_prof)
        ew = sum(r["both_cpu"] for r in layer_prof if not r["flops"]) / tot
        convs = [r for r in layer_prof if r["flops"] and len(r["shape"]) == 2]
        first, rest = convs[0], convs[1:]
        fwd_rest = sum(r["fwd_cpu"] for r in rest)
        w(f"Where the time goes (per-layer table, CPU clock): the wide convolutions take "
          f"{100 * sum(r['both_cpu'] for r in rest) / tot:.0f} % of the time, {100 * fwd_rest / tot:.0f} points of "
          f"it their forward pass (TensorFlow's own convolution, near the matmul rate); the first convolution "
          f"(4 input channels, run as one im2col matrix product) takes {100 * first['both_cpu'] / tot:.0f} %; ReLU, "
          f"max-pooling and their gradients, memory-bound passes over the largest tensors (the first layer's "
          f"output is {first['shape'][0]} x {first['shape'][1]} floats per sequence; one pass each way since they "
          f"are fused), take {100 * ew:.0f} %. "
          "The forward pass of the wide convolutions is not taken through the FFT although that would be about "
          "2x faster too: its rounding error is relative to the whole signal rather than to each output, and "
          "forward values decide ReLU signs and max-pool arg-maxes. Tried on this model: 3 of 256 sequences "
          "then had a max-pool near-tie resolved the other way, changing their scores over a receptive field "
          "by up to 1.3 % of the largest score, far outside the 1e-4 agreement. The gradient is linear, so "
          "the FFT's rounding stays rounding there. The wall-clock fractions are lower whenever other jobs held "
          "the cores during a round (see the load average above); the CPU fractions are the ones to compare "
          "with the target.\n")
    w("**Max-pool ties.** Contributions are discontinuous where two inputs of a max-pool window are nearly "
      "equal: the gradient goes to the arg-max, and a rounding-level change of the forward values can move it. "
      "TensorFlow's convolution does not give bit-identical outputs for different batch sizes on this CPU "
      "(oneDNN picks its algorithm by shape: measured on basset, batches of 25 and 250 rows differ in the "
      "last bits, batches of 7 and 25 do not). The native scorer's batches have other shapes than "
      "deeplift's (the forward pass of K references' rows once per sequence, each reference set on its own), "
      "so on random-weight Basset it can resolve such a tie differently from deeplift in a few sequences (the "
      "*rows beyond 1e-4* column counts them); neither answer is more correct. Within the native scorer every "
      "call has the same shape (the last batch is padded), so a sequence's scores do not depend on its shard "
      "(the workflow's tables are byte-identical across shard sizes, tests/test_resume.py). The tests check "
      "the 1e-4 agreement with deeplift on small models, where no such ties occur.\n")

    if locality:
        w("## Locality (fastISM-style): what a source that changes only a window could save\n")
        w("A mutant differs from its original only inside the source. Through a convolution the difference "
          "spreads by the kernel width, through pooling it shrinks by the stride; at the first dense layer it "
          "reaches every unit. Changed output positions per layer for a source in the middle of the basset "
          "input:\n")
        names = [nm for nm, _, _ in next(iter(locality.values()))[0]]
        w("| source width | " + " | ".join(names) + " | forward MFLOP (window only / full) |")
        w("|---|" + "---|" * len(names) + "---|")
        for wd, (changed, (loc, full)) in locality.items():
            w(f"| {wd} bp | " + " | ".join(f"{c}/{t}" for _, c, t in changed) + f" | {loc / 1e6:.0f} / {full / 1e6:.0f} |")
        w("")
        wd = 10
        loc, full = locality[wd][1]
        w(f"- **Forward pass**: recomputing only the changed window of every convolution (what fastISM does for "
          f"ISM) costs {loc / 1e6:.0f} instead of {full / 1e6:.0f} MFLOP for a {wd} bp source, "
          f"{full / loc:.0f}x less.")
        w("- **Input-gradient pass**: DFIM needs the mutant's *importance*, not only its prediction. The gradient "
          "arriving at the first dense layer changes for every unit (the dense layers' ReLU pattern, and for "
          "Rescale their multipliers, depend on the mutant), so the backward pass through the convolutions is "
          "needed over the whole sequence. Outside the source's window the convolutional layers' masks and "
          "Rescale multipliers are the original's, so that pass is linear in the new top gradient and could reuse "
          "the original's activations, but it still costs one full forward's FLOPs.")
        bound = (f"- So for a mutant scored over the whole sequence the bound is (forward + backward) / (window "
                 f"forward + backward) = {2 * full / (loc + full):.2f}x for a {wd} bp source.")
        if fwd_share:
            (fw, fc), (gw, gc) = fwd_share
            bound += (f" Measured: the forward pass is {100 * fc / gc:.0f} % of the native forward + gradient time on "
              f"basset, so removing almost all of it would give at most {gc / (gc - fc + fc * loc / full):.2f}x "
              "with one reference.")
            K = 10
            bwd = gc - fc
            bound += (f" With the workflow's default of {K} shuffled references the native scorer already runs the "
                      f"forward pass once per sequence and the backward {K} times, so a window-only forward would "
                      f"save at most {100 * (1 - (bwd * K + fc * loc / full) / (bwd * K + fc)):.0f} % there.")
        w(bound)
        if loc_proto:
            w("- **Measured prototype** (`bench/speed/locality.py`): on a DFIM batch of 16 basset originals and 15 "
              "mutants each (a 10 bp source set to the GC background, at random positions), the mutants' "
              "convolutions are computed only on their changed window and copied from the original elsewhere; "
              "activations, pooling, dense layers and the whole input-gradient pass run as in the native scorer. "
              "One shared reference (Rescale: GC background).\n")
            w("| method | rows | full pass, seq/s CPU | windowed forward, seq/s CPU | speed-up CPU (wall) | "
              "max rel. diff | rows beyond 1e-4 |")
            w("|---|---|---|---|---|---|---|")
            for m_, (full_t, win_t, diff, beyond, rows) in loc_proto.items():
                w(f"| {m_} | {rows} | {rows / full_t[1]:.1f} | {rows / win_t[1]:.1f} | {full_t[1] / win_t[1]:.2f}x "
                  f"({full_t[0] / win_t[0]:.2f}x) | {diff:.1e} | {beyond} |")
            w("\n  The window-only forward pays with one reference (gradient x input, or Rescale and the genomics "
              "default against the GC or zero reference). It is a prototype, not wired into the package: the "
              "workflow's default of 10 shuffled references would gain at most the share computed above, the "
              "prototype covers plain convolution/pooling chains only, and its windowed convolutions round "
              "differently from whole-sequence ones (the max rel. diff column; see the note on max-pool ties).\n")
        L = 1000
        tw = 20
        restricted = full * min(1.0, (tw + rf) / L)
        w(f"- **Where locality pays more**: DFIM reads the delta profile only on the *target* elements. The input "
          f"gradient at a target position depends only on the top convolutional layer's gradient within its "
          f"receptive field (basset: {rf} bp), so a backward pass restricted to one {tw} bp target costs about "
          f"({tw} + {rf}) / {L} = {100 * restricted / full:.0f} % of the full one. With the window-only forward "
          f"that bounds a mutant at {(loc + restricted) / 1e6:.0f} instead of {2 * full / 1e6:.0f} MFLOP, "
          f"{2 * full / (loc + restricted):.1f}x fewer FLOPs (a FLOP-count bound, not a measurement; several "
          "targets per source add their windows). Because the restricted backward is linear in the gradient "
          "arriving from the dense layers, the Jacobian of the top convolutional output with respect to a target "
          "window could even be computed once per original and applied to each mutant as a small matrix "
          "product, with a local correction where the source's window overlaps the target's. Not built here: it "
          "needs a sliced execution of every layer (as fastISM implements for ISM in Keras); per-base DFIM, whose "
          "targets span the whole window, gains only the forward part.\n")

    w("## Method notes\n")
    w("- Native Rescale: the reference is run through the translated model once per batch (GC/zero) or once "
      "per distinct reference set (shuffles); the gradient of each ReLU is replaced by "
      "(f(z_x) - f(z_r)) / (z_x - z_r) (gradient at z_r where |z_x - z_r| < 1e-7, as deeplift), compiled by "
      "XLA into one element-wise pass; max-pool passes the gradient to the input's arg-max (deeplift's "
      "`gradient` max-pool mode; the first arg-max where a window holds equal values, as TensorFlow's "
      "MaxPoolGrad). A ReLU followed by non-overlapping max-pooling runs as one XLA pass per direction, "
      "values and gradients bit for bit those of TensorFlow's separate ops (tests/test_native_kernels.py).")
    w("- The deeplift package evaluates the reference's forward pass for every sequence and builds its "
      "multipliers with separate TF1 ops per layer; the 2018 approach adds a `session.run` per 10 sequences.")
    w("- Native gradients: convolutions with at most 8 input channels (one-hot DNA) run as one im2col matrix "
      "product, forward and gradient; convolutions with at least 64 input and output channels take their input "
      "gradient through the real FFT when that needs at most half the direct gradient's multiply-adds (a rule "
      "on the shapes, so a model always runs the same arithmetic), their forward values staying TensorFlow's "
      "own convolution, bit for bit.")
    w("- deeplift 0.6.13 adds new `tf.assign`/`scatter_update` ops to its graph on *every* call of its "
      "scoring function (`update_task_vector`, three times per call), so a scorer called many times (one call "
      "per batch, as `dfim.importance` does) slows down as its graph grows. Calling it once per 10 sequences "
      "made the demo model's throughput fall from 24 to 6 sequences/s over three rounds; the 2018 row above "
      "therefore uses the published call pattern (one call per task).")
    w("- End-to-end per-rule times: run `make demo` first; the demo workflow's Snakemake benchmark files are "
      "listed below when present.\n")
    bench_dir = ROOT / "benchmarks" / "demo"
    files = sorted(bench_dir.glob("**/*.tsv")) if bench_dir.is_dir() else []
    if files:
        w("| rule benchmark file | s | max RSS MB |\n|---|---|---|")
        for fpath in files:
            try:
                import pandas as pd

                t = pd.read_csv(fpath, sep="\t")
                w(f"| {fpath.relative_to(ROOT)} | {t['s'].iloc[-1]:.1f} | {t['max_rss'].iloc[-1]:.0f} |")
            except Exception:  # noqa: BLE001 - a malformed benchmark file is reported, not fatal
                w(f"| {fpath.relative_to(ROOT)} | unreadable | |")
        w("")
    else:
        w("(No `benchmarks/demo/` files were present when this report was written.)\n")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()

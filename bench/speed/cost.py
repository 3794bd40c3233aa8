"""What a scored sequence costs: FLOPs from layer shapes, the machine's matmul rate, a per-layer profile.

Times are taken two ways. *Wall* time is what a user waits. *CPU* time of this process
divided by the number of threads is what the work would take with the cores to itself;
it is robust to other jobs sharing the machine (a time-sliced process accrues no CPU
time while it waits), so efficiency fractions are given on both clocks.
"""

from __future__ import annotations

import math
import resource
import time

import numpy as np


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Timer:
    """Best wall and best CPU time over repeated calls (``with timer: ...``)."""

    def __init__(self):
        self.wall, self.cpu = [], []

    def __enter__(self):
        self._t, self._c = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(cpu_seconds() - self._c)

    def best(self, threads: int) -> tuple[float, float]:
        """(best wall seconds, best CPU seconds / threads)."""
        return min(self.wall), min(self.cpu) / threads


def matmul_rate(threads: int, n: int = 4096, repeats: int = 6) -> tuple[float, float]:
    """Dense float32 matmul FLOP/s of ``n x n`` by ``n x n``: (best wall, best CPU/threads)."""
    import tensorflow as tf

    a = tf.random.normal((n, n), seed=1)
    b = tf.random.normal((n, n), seed=2)
    mm = tf.function(lambda a, b: tf.linalg.matmul(a, b))
    mm(a, b).numpy()
    t = Timer()
    for _ in range(repeats):
        with t:
            mm(a, b).numpy()
    wall, cpu = t.best(threads)
    flops = 2.0 * n ** 3
    return flops / wall, flops / cpu


def best_matmul_rate(threads: int, sizes=(1024, 2048, 4096)) -> tuple[float, float, int]:
    """:func:`matmul_rate` at each of ``sizes``, the best: (wall FLOP/s, CPU FLOP/s, its size). On some
    machines the 4096 product runs well below the smaller ones (seen on an AMD EPYC: 90 against 155
    GFLOP/s at 1024), so one size alone can understate what the machine's matmul reaches."""
    rates = [(*matmul_rate(threads, n), n) for n in sizes]
    return max(rates, key=lambda r: r[0])


def layer_table(keras_model) -> list[dict]:
    """Per layer: name, kind, input and output shapes, forward multiply-add FLOPs for one sequence.

    Convolutions: ``2 * L_out * width * C_in * C_out``; dense: ``2 * n_in * n_out``; pooling,
    activations and reshapes are counted as 0 (they are memory-bound, not FLOPs).
    """
    rows = []
    for layer in keras_model.layers:
        kind = layer.__class__.__name__
        if kind == "InputLayer":
            continue
        ins, outs = tuple(layer.input.shape), tuple(layer.output.shape)
        flops = 0
        if kind == "Conv1D":
            k = layer.get_weights()[0].shape
            flops = 2 * outs[1] * k[0] * k[1] * k[2]
        elif kind == "Dense":
            k = layer.get_weights()[0].shape
            flops = 2 * int(np.prod([d for d in ins[1:-1]] or [1])) * k[0] * k[1]
        rows.append({"name": layer.name, "kind": kind, "in": ins[1:], "out": outs[1:], "flops": int(flops),
                     "layer": layer})
    return rows


def forward_flops(keras_model) -> int:
    return sum(r["flops"] for r in layer_table(keras_model))


def native_flops(keras_model) -> tuple[int, int]:
    """FLOPs the native scorer executes per sequence: (forward, input gradient).

    The forward is :func:`forward_flops`. The input gradient of a wide convolution goes
    through the FFT where ``dfim.native.kernels.fft_pays`` says so: a complex
    ``cout x cin`` product per frequency (``8 * F * cin * cout`` real FLOPs) plus a real
    FFT of the ``cout`` upstream channels and an inverse one of the ``cin`` input
    channels (``2.5 * P * log2 P`` FLOPs each, the usual count for a real transform).
    Every other layer's gradient costs its forward FLOPs.
    """
    from dfim.native.kernels import IM2COL_MAX_CHANNELS, fft_length, fft_pays, pads

    fwd = grad = 0
    for r in layer_table(keras_model):
        fwd += r["flops"]
        layer = r["layer"]
        if r["kind"] == "Conv1D" and layer.strides[0] == 1 and layer.dilation_rate[0] == 1:
            k, cin, cout = layer.get_weights()[0].shape
            L = r["in"][0]
            if cin > IM2COL_MAX_CHANNELS and fft_pays(L, (k, cin, cout), layer.padding):
                P = fft_length(L + sum(pads(k, layer.padding)))
                F = P // 2 + 1
                grad += 8 * F * cin * cout + 2.5 * P * math.log2(P) * (cin + cout)
                continue
        grad += r["flops"]
    return int(fwd), int(grad)


def changed_positions(keras_model, width: int) -> list[tuple[str, int, int]]:
    """fastISM-style locality: for a source of ``width`` bp in the middle of the input, how many
    output positions of each layer differ from the original's, and of how many.

    Returns ``[(layer name, changed, total)]``; after Flatten everything changes.
    """
    L = int(keras_model.inputs[0].shape[1])
    a = L // 2 - width // 2
    b = a + width
    out = []
    flat = False
    for r in layer_table(keras_model):
        layer, kind = r["layer"], r["kind"]
        n = r["out"][0] if len(r["out"]) > 1 else 1
        if flat or kind in ("Flatten", "Dense"):
            flat = True
            out.append((r["name"], int(np.prod(r["out"])), int(np.prod(r["out"]))))
            continue
        if kind == "Conv1D":
            k = layer.get_weights()[0].shape[0]
            left = (k - 1) // 2 if layer.padding == "same" else 0
            a, b = max(0, a + left - k + 1), min(n, b + left)
        elif kind.startswith(("MaxPooling", "AveragePooling")):
            p = layer.pool_size[0]
            s = layer.strides[0]
            a, b = max(0, math.ceil((a - p + 1) / s)), min(n, (b - 1) // s + 1)  # windows [j*s, j*s+p)
        out.append((r["name"], b - a, n))
    return out


def receptive_field(keras_model) -> int:
    """Input positions that one output position of the last convolutional/pooling layer sees."""
    rf, jump = 1, 1
    for r in layer_table(keras_model):
        layer, kind = r["layer"], r["kind"]
        if kind == "Conv1D":
            k, s = layer.get_weights()[0].shape[0], layer.strides[0]
        elif kind.startswith(("MaxPooling", "AveragePooling")):
            k, s = layer.pool_size[0], layer.strides[0]
        elif kind in ("Flatten", "Dense"):
            break
        else:
            continue
        rf += (k - 1) * jump
        jump *= s
    return rf


def locality_flops(keras_model, width: int) -> tuple[int, int]:
    """Forward FLOPs of a mutant when only the changed window of every conv layer is recomputed,
    against the full forward (both for one sequence)."""
    changed = {name: (c, t) for name, c, t in changed_positions(keras_model, width)}
    local = 0
    for r in layer_table(keras_model):
        c, t = changed[r["name"]]
        local += r["flops"] * (c / t if r["kind"] == "Conv1D" else 1)
    return int(local), forward_flops(keras_model)


def profile_layers(steps, L: int, batch: int, threads: int, repeats: int = 3) -> list[dict]:
    """Time each linear op of a translated native model (forward, and input gradient) on ``batch`` rows.

    ``steps``: ``NativeScorer.steps``. Activations and pooling are timed together as
    "element-wise" (forward + gradient of each).
    """
    import tensorflow as tf

    rows = []
    h = tf.constant(np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (batch, L))])
    for step in steps:
        x = tf.Variable(h)

        @tf.function
        def fwd(x=x, step=step):
            return step.fn(x)

        @tf.function
        def fwd_bwd(x=x, step=step):
            # y is returned too: otherwise TensorFlow prunes the forward op when its gradient does not need it
            with tf.GradientTape() as tape:
                y = step.fn(x.read_value())
            return y, tape.gradient(y, x, output_gradients=tf.ones_like(y))

        out = fwd()
        fwd_bwd()
        tf_, tb = Timer(), Timer()
        for _ in range(repeats):
            with tf_:
                fwd().numpy()
            with tb:
                [t.numpy() for t in fwd_bwd()]
        fw, fc = tf_.best(threads)
        bw, bc = tb.best(threads)
        rows.append({"name": step.name, "kind": step.kind, "shape": tuple(out.shape[1:]),
                     "fwd_wall": fw, "fwd_cpu": fc, "both_wall": bw, "both_cpu": bc})
        h = out
    return rows

"""Process-wide settings of the native scorer: XLA on or off, TensorFlow's thread pools.

Tests and benchmarks turn XLA off with :func:`set_xla` (or by assigning
``settings.xla``); every step compiled afterwards then runs as plain TensorFlow ops
(the same numbers up to rounding). Settings are read when a scorer's steps are
traced, so change them before building a :class:`~dfim.native.NativeScorer`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field


@dataclass
class NativeSettings:
    """Mutable, process-wide options of the native scorer.

    Attributes
    ----------
    xla : bool
        Compile the Rescale multipliers, fused ReLU + max-pool steps and im2col / FFT
        helpers with XLA (``jit_compile=True``).
    xla_checked : bool
        Whether :func:`check_xla` has already probed this build for a usable XLA; set
        by :func:`set_xla` too, so an explicit choice is never overridden.
    threads : int or None
        The intra-op pool size set by :func:`set_threads` (None: TensorFlow's default, or
        not set yet). TensorFlow's pools can be sized once per process.
    """

    xla: bool = True
    xla_checked: bool = False
    threads: int | None = field(default=None)


settings = NativeSettings()


def set_xla(enabled: bool) -> None:
    """Turn XLA compilation of the native scorer's steps on or off (no probing of the build)."""
    settings.xla = bool(enabled)
    settings.xla_checked = True


def check_xla() -> None:
    """Fall back to plain TensorFlow ops (slower; the same numbers up to rounding) where this build has no XLA."""
    import tensorflow as tf

    # probed once, eagerly: inside a graph the probe itself would be traced, not run
    if settings.xla_checked or not tf.executing_eagerly():
        return
    try:
        tf.function(lambda v: v * 2.0, jit_compile=True)(tf.ones(2)).numpy()
    except Exception:  # noqa: BLE001 - any failure means: no usable XLA here
        settings.xla = False
    settings.xla_checked = True


def graph_function(fn, **kwargs):
    """``tf.function(fn, **kwargs)`` without AutoGraph.

    The native scorer's functions branch and loop on Python values only (the program's
    steps, static shapes), never on tensors, so AutoGraph's rewriting of their source
    changes nothing but costs seconds of each job's start-up (a Basset-sized scorer's
    build and first batch: 11.6 s with it, 8.7 s without, same scores bit for bit).
    Functions that call the user's Keras layers keep AutoGraph (they may branch on tensors).
    """
    import tensorflow as tf

    return tf.function(fn, autograph=False, **kwargs)


def set_threads(n: int) -> None:
    """Size TensorFlow's thread pools to ``n`` intra-op threads (once per process, before first use)."""
    import tensorflow as tf

    if settings.threads is not None:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised by an earlier model call; keep the existing pools
    settings.threads = n


def compiled(fn):
    """``fn`` compiled by XLA (where enabled), traced once per shape of its arguments' rows.

    A plain ``tf.function`` is traced again inside every graph that calls it (each
    scoring function, each batch shape); a signature with a free batch dimension makes
    one trace serve them all. Keyword arguments are Python constants of the trace.
    ``settings.xla`` is read at each new trace.

    Parameters
    ----------
    fn : callable of tensors ``(b, ...)`` (and Python keyword constants).

    Returns
    -------
    callable with the same arguments as ``fn``.
    """
    import tensorflow as tf

    traced = {}

    def call(*args, **static):
        key = tuple((tuple(a.shape[1:]), a.dtype) for a in args) + tuple(sorted(static.items()))
        if key not in traced:
            sig = [tf.TensorSpec((None,) + tuple(a.shape[1:]), a.dtype) for a in args]
            traced[key] = graph_function(functools.partial(fn, **static), jit_compile=settings.xla,
                                         input_signature=sig)
        return traced[key](*args)

    return call

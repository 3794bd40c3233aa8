"""Progress lines and a stage clock for long scoring jobs.

A shard job scores its windows in one long pass of fixed-size batches; without
progress lines its log is silent for minutes. :class:`Progress` is handed down to the
batch loops, which call :meth:`Progress.advance` after every batch; it logs
``done / total`` rows, the elapsed seconds and an ETA at most every ``every`` seconds
(and always at the end of a pass). It also adds up the seconds of named stages, so the
job can end its log with where the time went (:meth:`Progress.split_line`).

A pass may hold rows of several kinds (the originals and observed mutants, then the
random-source null's segment mutants, in that order): :meth:`Progress.begin` takes
their row counts, and the seconds of each batch go to the kinds of its rows, a batch
that straddles two kinds split between them by rows. The job's first batch also traces
and compiles the scorer: at the end of its pass it keeps, as ``first batch (tracing)``,
only what it took beyond the pass's per-row rate.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

log = logging.getLogger("dfim")


class Progress:
    """Rows done of a pass, logged with an ETA; seconds per named stage.

    label : the prefix of every line (``"shard 3"``).
    every : seconds between two progress lines of a pass (the last line is always logged).
    clock : a function returning seconds (tests may pass a fake one).
    """

    def __init__(self, label: str, every: float = 10.0, clock=time.perf_counter):
        self.label = label
        self.every = every
        self.clock = clock
        self.seconds: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        self._pass = None
        self._first = None  # the job's first batch, until its pass gives a per-row rate to compare it with

    def add(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``stage`` (stages keep the order they are first seen in)."""
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def stage(self, name: str):
        """Time the body as stage ``name``."""
        t = self.clock()
        try:
            yield
        finally:
            self.add(name, self.clock() - t)

    def begin(self, name: str, parts: dict[str, int], repeats: int = 1) -> None:
        """Start a pass ``name`` over ``repeats`` sweeps of rows made of ``parts`` (kind -> rows, in order).

        ``repeats`` is the number of tasks: each task's scores take one sweep over the rows.
        """
        period = sum(parts.values())
        for kind, n in parts.items():
            self.rows[kind] = self.rows.get(kind, 0) + n
        now = self.clock()
        self._pass = {"name": name, "parts": list(parts.items()), "period": period, "total": period * repeats,
                      "done": 0, "t0": now, "last": now, "logged": now, "batch_s": 0.0, "batch_rows": 0}

    def advance(self, rows: int) -> None:
        """``rows`` more rows of the current pass are scored (call after every batch)."""
        p = self._pass
        if p is None or rows <= 0:
            return
        now = self.clock()
        dt = now - p["last"]
        lo = p["done"]
        if self._first is None and "first batch (tracing)" not in self.seconds:
            # the job's first batch also traces and compiles the scorer's functions
            self._first = (p, lo, rows)
            self.add("first batch (tracing)", dt)
        else:
            self._to_kinds(p, lo, rows, dt)
            p["batch_s"] += dt
            p["batch_rows"] += rows
        p["done"] = min(p["total"], p["done"] + rows)
        p["last"] = now
        if p["done"] >= p["total"]:
            self._settle_first(p)
        if now - p["logged"] >= self.every or p["done"] >= p["total"]:
            self._log(p, now)
            p["logged"] = now

    def _to_kinds(self, p: dict, lo: int, rows: int, seconds: float) -> None:
        """``seconds`` of rows ``[lo, lo + rows)`` of pass ``p`` to their kinds, by rows."""
        for kind, n in _rows_by_kind(lo, lo + rows, p["parts"], p["period"]).items():
            self.add(f"importance, {kind}", seconds * n / rows)

    def _settle_first(self, p: dict) -> None:
        """At the end of the first batch's pass: its rows at the pass's per-row rate go to their
        kinds; only what the first batch took beyond that stays as tracing."""
        if self._first is None or self._first[0] is not p or not p["batch_rows"]:
            return
        _, lo, rows = self._first
        work = min(self.seconds["first batch (tracing)"], rows * p["batch_s"] / p["batch_rows"])
        self.seconds["first batch (tracing)"] -= work
        self._to_kinds(p, lo, rows, work)
        self._first = None

    def _log(self, p: dict, now: float) -> None:
        elapsed = now - p["t0"]
        done, total = p["done"], p["total"]
        eta = elapsed / done * (total - done) if done else float("nan")
        log.info("%s: %s: %d / %d sequences scored (%.0f %%), %.1f s elapsed, ETA %.0f s", self.label, p["name"],
                 done, total, 100 * done / max(1, total), elapsed, eta)

    def by_kind(self) -> dict[str, float]:
        """The stage seconds with every stage ``"<name>, <kind> + null"`` (work shared by
        both kinds of rows, like the maps of one pass) split into ``"<name>, <kind>"`` and
        ``"<name>, null"`` in proportion to the rows of each kind scored."""
        out: dict[str, float] = {}
        for name, sec in self.seconds.items():
            head, _, kinds = name.rpartition(", ")
            if not kinds.endswith(" + null"):
                out[name] = out.get(name, 0.0) + sec
                continue
            kind = kinds[: -len(" + null")]
            a, b = self.rows.get(kind, 0), self.rows.get("null", 0)
            for k, n in ((kind, a), ("null", b)):
                out[f"{head}, {k}"] = out.get(f"{head}, {k}", 0.0) + sec * n / max(1, a + b)
        return out

    def split_line(self, total: float) -> str:
        """One line: the seconds of every stage, the rest of ``total`` as ``other``."""
        parts = [f"{k} {v:.2f}" for k, v in self.seconds.items()]
        other = total - sum(self.seconds.values())
        return f"{'; '.join(parts)}; other {other:.2f}; total {total:.2f}"


def _rows_by_kind(lo: int, hi: int, parts: list, period: int) -> dict[str, int]:
    """How many rows of ``[lo, hi)`` are of each kind, the kinds' rows repeating every ``period`` rows."""
    out: dict[str, int] = {}
    if period <= 0:
        return out
    for r0 in range(lo - lo % period, hi, period):  # each sweep the range touches
        start = r0
        for kind, n in parts:
            a, b = max(lo, start), min(hi, start + n)
            if b > a:
                out[kind] = out.get(kind, 0) + b - a
            start += n
    return out


def advance(progress: Progress | None, rows: int) -> None:
    """:meth:`Progress.advance` when there is a progress, else nothing (for the batch loops)."""
    if progress is not None:
        progress.advance(rows)


@contextmanager
def stage(progress: Progress | None, name: str):
    """:meth:`Progress.stage` when there is a progress, else nothing."""
    if progress is None:
        yield
        return
    with progress.stage(name):
        yield

"""HDF5 storage of scores, maps and keys (h5py, gzip) for shards and the gathered result.

N windows of length L, T tasks (``attrs["tasks"]`` of a shard), m mutants. A shard file
(``results/<set>/shards/<i>.h5``, written by :func:`write_shard`) holds:

==============================  ===================  ==========================================
dataset                         shape                meaning
==============================  ===================  ==========================================
``input_seqs``                  (N, L, 4) float32    one-hot window sequences (A, C, G, T)
``task_hyp_scores``             (T, N, L, 4)         hypothetical scores of every task
``task_contrib_scores``         (T, N, L, 4)         actual contributions of every task
``task_mutant_contrib``         (T, m, L, 4)         actual contributions of every mutant
``delta_tracks``                (T, m, L) float32    Σ_c |Δ| of each mutant (source masked)
``windows/<column>``            (N,)                 window_id, peak_set, chrom, start, end, index
``mutants/<column>``            (m,)                 mutant key (``dfim.mutants.KEY_COLUMNS``)
``interactions/<column>``       (rows,)              observed FIS rows (``dfim.maps.FIS_COLUMNS``,
                                                     substitution, pred_change, window_id)
``null/<column>``               (rows,)              FIS rows of the shuffled null (+ shuffle)
``per_base/delta``              (T, N, W, 4, 4, W,   mode per_base: Δ of sub-window base i
                                4) float32           (channel c) when base p goes o -> m,
                                                     ``[t, n, p, o, m, i, c]``; NaN where undefined
``per_base/summary``            (T, N, W, W) float32 mode per_base: the L × L summary
                                                     ``max_{m≠o} Σ_c |Δ|`` of (p, i); NaN diagonal
``per_base/positions``          (W,) int64           in-window positions of the W-bp sub-window
==============================  ===================  ==========================================

The ``task_*`` datasets, ``delta_tracks`` and ``per_base/`` are absent from a shard with
no window; ``per_base/`` exists in mode ``per_base`` only
(:func:`dfim.maps.per_base_window_maps` defines it).
``maps.h5`` (:func:`gather_maps`) holds, over all shards, ``attrs["n_windows"]`` and:

==============================  ===================  ==========================================
``interactions/<column>``       (rows,)              the interactions table (with pval, qval)
``input_seqs``                  (N, L, 4) float32    one-hot window sequences
``hyp_scores``                  (N, L, 4) float32    hypothetical scores, first task (tfmodisco-lite)
``contrib_scores``              (N, L, 4) float32    actual contributions, first task
``task_hyp_scores``             (T, N, L, 4)         hypothetical scores of every task
``delta_tracks``                (T, m, L) float32    Σ_c |Δ| of each mutant (source masked)
``coords_chrom/start/end``      (N,)                 window coordinates (0-based half-open)
``window_id``                   (N,) str             window ids, as in windows.tsv
``mutants/<column>``            (m,)                 mutant key + window_id; ``seq`` indexes N,
                                                     ``mutant`` the m axis of ``delta_tracks``,
                                                     ``spec`` the sources, over all shards
``per_base/delta``              (T,N,W,4,4,W,4)      mode per_base, as in a shard, N over all shards
``per_base/summary``            (T, N, W, W) float32 mode per_base, as in a shard, N over all shards
``per_base/positions``          (W,) int64           in-window positions of the sub-window
==============================  ===================  ==========================================

The indices of ``maps.h5`` are global: they do not restart per shard and do not depend
on ``shard_size``.

``element_by_base.h5`` (:func:`write_element_by_base`) holds the element-by-base
profiles of the top ``n`` interactions (config key ``outputs.element_by_base_top``):

==============================  ===================  ==========================================
``calls/<column>``              (n,)                 their interactions rows
                                                     (``dfim.tables.INTERACTION_COLUMNS``) + rank
``response``                    (n, L) float32       Σ_c |Δ| over the whole window when the row's
                                                     source is perturbed (source masked; per_base:
                                                     the row's substitution), for the row's task
``importance``                  (n, L) float32       the window's actual contributions summed
                                                     over A, C, G, T, for the row's task
``coords_chrom/start/end``      (n,)                 the window of each row (0-based half-open)
==============================  ===================  ==========================================

Every file is written under a temporary name and renamed when complete, so a killed
job never leaves a half-written file under its final name.
"""

from __future__ import annotations

from contextlib import contextmanager

import h5py
import numpy as np
import pandas as pd

from .io import atomic_path

_GZ = dict(compression="gzip", compression_opts=4)
_STR = h5py.string_dtype("utf-8")


@contextmanager
def atomic_h5(path):
    """An HDF5 file open for writing that appears under ``path`` only once complete."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        yield f


def write_table(group: h5py.Group, df: pd.DataFrame) -> None:
    """One dataset per column; strings as UTF-8; column order kept in an attribute."""
    group.attrs["columns"] = list(df.columns)
    for col in df.columns:
        v = df[col].to_numpy()
        if v.dtype.kind in "OUS" or isinstance(df[col].dtype, pd.StringDtype):
            group.create_dataset(col, data=np.asarray(df[col].astype(str), dtype=object), dtype=_STR, **_GZ)
        else:
            group.create_dataset(col, data=v, **(_GZ if len(v) else {}))


def read_table(group: h5py.Group) -> pd.DataFrame:
    cols = list(group.attrs["columns"])
    data = {}
    for c in cols:
        v = group[c][()]
        if group[c].dtype.kind == "O":
            v = np.array([x.decode() if isinstance(x, bytes) else x for x in v], dtype=object)
        data[c] = v
    return pd.DataFrame(data, columns=cols)


def write_shard(path, *, windows: pd.DataFrame, X: np.ndarray, importance, delta: np.ndarray,
                key: pd.DataFrame, fis: pd.DataFrame, null: pd.DataFrame, mutant_contrib: np.ndarray,
                per_base: dict | None = None) -> None:
    """Write everything one shard computed (see the module docstring).

    per_base : mode per_base, :func:`dfim.maps.per_base_window_maps` of the shard.
    """
    with atomic_h5(path) as f:
        f.attrs["tasks"] = list(importance.tasks) if importance is not None else []
        f.create_dataset("input_seqs", data=X, **_GZ)
        if importance is not None:
            f.create_dataset("task_hyp_scores", data=importance.hyp, **_GZ)
            f.create_dataset("task_contrib_scores", data=importance.actual, **_GZ)
            f.create_dataset("task_mutant_contrib", data=mutant_contrib, **_GZ)
            f.create_dataset("delta_tracks", data=np.abs(delta).sum(-1), **_GZ)
            if per_base is not None:
                for name in ("delta", "summary", "positions"):
                    f.create_dataset(f"per_base/{name}", data=per_base[name], **_GZ)
        write_table(f.create_group("windows"), windows)
        write_table(f.create_group("mutants"), key)
        write_table(f.create_group("interactions"), fis)
        write_table(f.create_group("null"), null)


def read_shard_tables(path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(windows, interactions, null)`` tables of a shard file."""
    with h5py.File(path, "r") as f:
        return read_table(f["windows"]), read_table(f["interactions"]), read_table(f["null"])


def read_null(shard_paths) -> pd.DataFrame:
    """The null FIS rows of every shard, concatenated."""
    return pd.concat([read_shard_tables(p)[2] for p in shard_paths], ignore_index=True)


def read_mutant_scores(path, window_id: str, source_start: int, source_end: int, task: int):
    """One source's scores from a shard: ``(original (L, 4), mutant (L, 4), key)``.

    The actual contributions for ``task`` of window ``window_id`` and of its mutant whose
    source is ``[source_start, source_end)`` (in-window), with that mutant's key row
    (``seq`` re-based to 0, so ``dfim.deltas.compute_delta_profiles`` pairs them).
    """
    with h5py.File(path, "r") as f:
        w = read_table(f["windows"])
        key = read_table(f["mutants"])
        seq = int(np.flatnonzero(w["window_id"].to_numpy() == window_id)[0])
        row = key[(key["seq"] == seq) & (key["mut_start"] == source_start) & (key["mut_end"] == source_end)].iloc[:1]
        ti = list(f.attrs["tasks"]).index(task)
        orig = f["task_contrib_scores"][ti, seq]
        mutant = f["task_mutant_contrib"][ti, int(row["mutant"].iloc[0])]
    return orig, mutant, row.assign(seq=0)


def read_source_response(path, window_id: str, source_name: str, source_start: int, source_end: int, task: int,
                         substitution: str = ""):
    """One source's element-by-base response from a shard: ``(response (L,), importance (L,))``.

    ``response`` is the shard's ``delta_tracks`` row of the source's mutant (``Σ_c |Δ|``
    over the whole window, the source masked: :func:`dfim.maps.compute_dfim` with
    ``kind="element_by_base"`` and the window as target) for ``task``; for a ``per_base``
    source, the mutant of ``substitution`` (``"C>T"``), else its first. ``importance`` is
    the window's actual contributions for ``task`` summed over the 4 channels.
    """
    with h5py.File(path, "r") as f:
        w = read_table(f["windows"])
        key = read_table(f["mutants"])
        seq = int(np.flatnonzero(w["window_id"].to_numpy() == window_id)[0])
        rows = key[(key["seq"] == seq) & (key["mut_name"] == source_name) & (key["mut_start"] == source_start)
                   & (key["mut_end"] == source_end)]
        if substitution:
            o, m = substitution.split(">")
            rows = rows[(rows["orig_base"] == o) & (rows["new_base"] == m)]
        if not len(rows):
            raise KeyError(f"{path}: no mutant of source {source_name} [{source_start}, {source_end}) "
                           f"{substitution} in window {window_id}")
        ti = list(f.attrs["tasks"]).index(task)
        response = f["delta_tracks"][ti, int(rows["mutant"].iloc[0])]
        importance = f["task_contrib_scores"][ti, seq].sum(-1)
    return response, importance


def read_shard_contrib(path, task_index: int = 0):
    """``(windows, contrib, key)`` of a shard: its windows table, the actual contributions
    of its ``task_index``-th task ``(N, L, 4)`` (None for a shard with no window) and its
    mutant key (``seq`` indexes the shard's windows)."""
    with h5py.File(path, "r") as f:
        contrib = f["task_contrib_scores"][task_index] if "task_contrib_scores" in f else None
        return read_table(f["windows"]), contrib, read_table(f["mutants"])


SHARD_GROUPS = ("input_seqs", "windows", "mutants", "interactions", "null")


def check_shard(path) -> None:
    """Raise :class:`dfim.errors.InputError` naming ``path`` when it is not a complete shard file."""
    from .errors import InputError

    fix = f"delete {path} and run the workflow again (Snakemake recomputes the shard)"
    try:
        with h5py.File(path, "r") as f:
            missing = [g for g in SHARD_GROUPS if g not in f]
            if missing:
                raise InputError(f"shard {path} lacks {', '.join(missing)}: it was not written by this DFIM or was "
                                 f"altered; {fix}")
            for g in ("windows", "mutants", "interactions", "null"):
                read_table(f[g])
            if "task_hyp_scores" in f:
                f["task_hyp_scores"][-1:]
                f["delta_tracks"][-1:]
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError for broken files
        raise InputError(f"shard {path} cannot be read ({type(exc).__name__}: {exc}); it is truncated or "
                         f"corrupt; {fix}") from None


def gather_maps(shard_paths, out_path, interactions: pd.DataFrame) -> None:
    """Concatenate shard arrays into ``maps.h5`` one shard at a time (memory ~ one shard).

    ``seq``, ``mutant`` and ``spec`` of ``mutants/`` are offset by the windows, mutants and
    sources of the earlier shards, so they index the gathered arrays.
    """
    with atomic_h5(out_path) as out:
        write_table(out.create_group("interactions"), interactions)
        n_total = n_mutants = n_specs = 0
        for p in shard_paths:
            with h5py.File(p, "r") as f:
                if "task_hyp_scores" not in f or f["input_seqs"].shape[0] == 0:
                    continue
                w = read_table(f["windows"])
                arrays = {
                    "input_seqs": f["input_seqs"][()],
                    "hyp_scores": f["task_hyp_scores"][0],
                    "contrib_scores": f["task_contrib_scores"][0],
                    "task_hyp_scores": f["task_hyp_scores"][()],
                    "delta_tracks": f["delta_tracks"][()],
                }
                key = read_table(f["mutants"])
                if "per_base" in f:
                    arrays["per_base/delta"] = f["per_base/delta"][()]
                    arrays["per_base/summary"] = f["per_base/summary"][()]
                    if "per_base/positions" not in out:
                        out.create_dataset("per_base/positions", data=f["per_base/positions"][()])
            key["window_id"] = w["window_id"].to_numpy()[key["seq"].to_numpy()] if len(key) else []
            key["seq"] = key["seq"] + n_total
            key["mutant"] = key["mutant"] + n_mutants
            n_shard_specs = int(key["spec"].max()) + 1 if len(key) else 0
            key["spec"] = key["spec"] + n_specs
            n_mutants += arrays["delta_tracks"].shape[1]
            n_specs += n_shard_specs
            _append(out, "input_seqs", arrays["input_seqs"], 0)
            _append(out, "hyp_scores", arrays["hyp_scores"], 0)
            _append(out, "contrib_scores", arrays["contrib_scores"], 0)
            _append(out, "task_hyp_scores", arrays["task_hyp_scores"], 1)
            _append(out, "delta_tracks", arrays["delta_tracks"], 1)
            for name in ("per_base/delta", "per_base/summary"):
                if name in arrays:
                    _append(out, name, arrays[name], 1)
            for col, vals in (("coords_chrom", w["chrom"]), ("coords_start", w["start"]), ("coords_end", w["end"]),
                              ("window_id", w["window_id"])):
                v = np.asarray(vals)
                _append(out, col, v.astype(object) if v.dtype.kind in "OU" else v.astype(np.int64), 0)
            for col in key.columns:
                v = key[col].to_numpy()
                _append(out, f"mutants/{col}", v.astype(str).astype(object) if v.dtype.kind in "OU" else v, 0)
            n_total += len(w)
        out.attrs["n_windows"] = n_total


def write_element_by_base(path, calls: pd.DataFrame, response: np.ndarray, importance: np.ndarray) -> None:
    """Write ``element_by_base.h5`` (see the module docstring): ``calls`` rows with their
    ``response`` and ``importance`` tracks ``(n, L)``."""
    with atomic_h5(path) as f:
        f.attrs["response"] = ("sum over channels of |A(X) - A(X_s)| at every base of the window, the source "
                               "masked (METHOD.md, element by base)")
        write_table(f.create_group("calls"), calls)
        L = response.shape[1] if response.ndim == 2 else 0
        f.create_dataset("response", data=np.asarray(response, np.float32).reshape(len(calls), L), **_GZ)
        f.create_dataset("importance", data=np.asarray(importance, np.float32).reshape(len(calls), L), **_GZ)
        f.create_dataset("coords_chrom", data=np.asarray(calls["chrom"].astype(str), dtype=object), dtype=_STR)
        f.create_dataset("coords_start", data=calls["window_start"].to_numpy(np.int64))
        f.create_dataset("coords_end", data=calls["window_end"].to_numpy(np.int64))


def _append(f: h5py.File, name: str, arr: np.ndarray, axis: int) -> None:
    arr = np.asarray(arr)
    if name not in f:
        maxshape = list(arr.shape)
        maxshape[axis] = None
        dtype = _STR if arr.dtype.kind == "O" else arr.dtype
        f.create_dataset(name, data=arr, maxshape=tuple(maxshape), dtype=dtype, chunks=True, **_GZ)
        return
    d = f[name]
    old = d.shape[axis]
    d.resize(old + arr.shape[axis], axis=axis)
    sl = [slice(None)] * arr.ndim
    sl[axis] = slice(old, old + arr.shape[axis])
    d[tuple(sl)] = arr

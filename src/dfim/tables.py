"""The output tables' contracts: ``interactions.tsv`` and ``motif_pairs.tsv``.

Coordinates are 0-based half-open like BED, genomic (``*_start``/``*_end``) and
in-window (``*_win_start``/``*_win_end``). Column order is part of the contract: new
columns are added, existing ones keep their place.

``substitution`` (mode ``per_base``) names the change of the source base that gave the
row's score, e.g. ``C>T``: the score is the largest over the base's 3 substitutions, and
``pred_change`` and ``ism_epistasis`` are those of that substitution. It is empty for the
other modes, whose sources have one mutant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


INTERACTION_COLUMNS = (
    "peak_set", "window_id", "chrom", "window_start", "window_end", "task",
    "source_name", "source_start", "source_end", "source_win_start", "source_win_end",
    "target_name", "target_start", "target_end", "target_win_start", "target_win_end",
    "score", "pred_change", "pval", "qval", "ism_epistasis", "window_scale", "relation",
    "substitution",
)
PAIR_COLUMNS = ("source_name", "target_name", "task", "n_tested", "median_score", "frac_q05", "combined_p", "qval")


def with_window_ids(fis: pd.DataFrame, window_ids) -> pd.DataFrame:
    """FIS rows (``seq`` indexing ``window_ids``) with a ``window_id`` column added in place."""
    fis["window_id"] = np.asarray(window_ids)[fis["seq"].astype(int).to_numpy()] if len(fis) else []
    return fis


def interactions_table(fis: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """FIS rows with p- and q-values joined to window coordinates, in the contract's
    columns, sorted by task, then q, p, score (highest first) and position."""
    w = windows.set_index("window_id").loc[fis["window_id"]] if len(fis) else windows.iloc[:0]
    ws = w["start"].to_numpy(int)
    table = pd.DataFrame({
        "peak_set": w["peak_set"].to_numpy(),
        "window_id": fis["window_id"].to_numpy(),
        "chrom": w["chrom"].to_numpy(),
        "window_start": ws,
        "window_end": w["end"].to_numpy(int),
        "task": fis["task"].to_numpy(),
        "source_name": fis["mut_name"].to_numpy(),
        "source_start": ws + fis["mut_start"].to_numpy(int),
        "source_end": ws + fis["mut_end"].to_numpy(int),
        "source_win_start": fis["mut_start"].to_numpy(int),
        "source_win_end": fis["mut_end"].to_numpy(int),
        "target_name": fis["resp_name"].to_numpy(),
        "target_start": ws + fis["resp_start"].to_numpy(int),
        "target_end": ws + fis["resp_end"].to_numpy(int),
        "target_win_start": fis["resp_start"].to_numpy(int),
        "target_win_end": fis["resp_end"].to_numpy(int),
        "score": fis["score"].to_numpy(float),
        "pred_change": fis["pred_change"].to_numpy(float),
        "pval": fis["pval"].to_numpy(float),
        "qval": fis["qval"].to_numpy(float),
        "ism_epistasis": fis["ism_epistasis"].to_numpy(float),
        "window_scale": fis["window_scale"].to_numpy(float),
        "relation": fis["relation"].to_numpy(),
        "substitution": fis["substitution"].astype(str).to_numpy() if "substitution" in fis else "",
    })[list(INTERACTION_COLUMNS)]
    return table.sort_values(["task", "qval", "pval", "score", "window_id", "source_win_start", "target_win_start"],
                             ascending=[True, True, True, False, True, True, True], kind="stable")


def top_rows(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` best rows of an interactions table: by ``qval`` (untested rows last), then
    ``|score|`` (largest first), then the table's own order; ``rank`` (1, 2, ...) added."""
    order = pd.DataFrame({"q": table["qval"].to_numpy(float), "s": -np.abs(table["score"].to_numpy(float)),
                          "i": np.arange(len(table))}).sort_values(["q", "s", "i"], na_position="last", kind="stable")
    top = table.iloc[order["i"].to_numpy()[: max(0, int(n))]].reset_index(drop=True)
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    return top


def fis_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The interactions table with its in-window intervals and names under the FIS
    rows' names (``mut_*``, ``resp_*``), as :mod:`dfim.calls` reads them."""
    return table.rename(columns={"source_name": "mut_name", "target_name": "resp_name",
                                 "source_win_start": "mut_start", "source_win_end": "mut_end",
                                 "target_win_start": "resp_start", "target_win_end": "resp_end"})


def pair_table(table: pd.DataFrame, tests: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Genome-wide summary per ordered (source name → target name) pair, most significant first.

    table : the interactions table; tests : :func:`dfim.calls.pair_pvalues` (``mut_name``,
    ``resp_name``, ``task``, ``n_tested``, ``pval``, ``qval``). ``combined_p`` is the
    pair-level test's p (a rank-sum test under the run's null, with its minimal effect)
    and ``qval`` its BH q over the task's pairs; disruptions are left out.
    """
    t = table[table["pval"].notna()]
    if t.empty:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    summary = t.groupby(["source_name", "target_name", "task"], sort=True).agg(
        median_score=("score", "median"), frac_q05=("qval", lambda q: float((q < alpha).mean()))).reset_index()
    pairs = summary.merge(tests.rename(columns={"mut_name": "source_name", "resp_name": "target_name",
                                                "pval": "combined_p"}),
                          on=["source_name", "target_name", "task"], how="left")[list(PAIR_COLUMNS)]
    return pairs.sort_values(["combined_p", "median_score", "source_name", "target_name"],
                             ascending=[True, False, True, True], kind="stable").reset_index(drop=True)

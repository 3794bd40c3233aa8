"""File helpers shared by every stage: text that may be gzipped, and atomic writes.

Every output is written under a temporary name in its own folder and renamed onto its
final name only when complete, so a killed job never leaves a half-written file where
a later step (or a resumed run) would take it for a finished one.
"""

from __future__ import annotations

import gzip
import os
from contextlib import contextmanager

import pandas as pd


def open_text(path):
    """Open a text file for reading, gunzipping it when it starts with the gzip magic."""
    path = str(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


@contextmanager
def atomic_path(path, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and the exception re-raised, so
    ``path`` is either absent, the old file, or the complete new one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # not mkstemp: its files are private (0600), and outputs keep the user's umask
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_tsv_atomic(df: pd.DataFrame, path, header_comment: str = "") -> None:
    """Write ``df`` as a TSV with a header row (``%.6g`` floats), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        if header_comment:
            for line in header_comment.strip().splitlines():
                fh.write(f"# {line}\n")
        df.to_csv(fh, sep="\t", index=False, lineterminator="\n", float_format="%.6g")

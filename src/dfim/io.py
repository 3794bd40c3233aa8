"""File helpers shared by every stage: text that may be gzipped, and atomic writes.

Every output is written under a temporary name in its own folder and renamed onto its
final name only when complete, so a killed job never leaves a half-written file where
a later step (or a resumed run) would take it for a finished one.
"""

from __future__ import annotations

import gzip
import os
import stat
from contextlib import contextmanager

import pandas as pd

from .errors import InputError


def require_file(path, what: str = "input file", key: str | None = None) -> str:
    """``path`` as a string, after checking it is an existing, readable regular file.

    what : what the file is (``"peak file"``); key : the config key that names it.
    Directories, named pipes and devices are refused before anything opens them (a
    pipe would block forever, and every file is read more than once).
    """
    path = os.fspath(path)
    fix = f"; check `{key}` in the config" if key else ""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist{fix}") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be opened ({exc.strerror}){fix}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} {path} is a directory, not a file{fix}")
    if not stat.S_ISREG(st.st_mode):
        kind = "named pipe" if stat.S_ISFIFO(st.st_mode) else "device or socket"
        raise InputError(f"{what} {path} is a {kind}, not a regular file; DFIM reads its inputs more than once, "
                         f"so write the data to a file and give its path{fix}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} {path} is not readable (permissions){fix}")
    return path


def open_text(path, what: str = "input file", key: str | None = None):
    """Open a text file for reading, gunzipping it when it starts with the gzip magic.

    The file must be a regular file (:func:`require_file`); ``what``/``key`` name it in errors.
    """
    path = require_file(path, what, key)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def first_non_utf8_line(path) -> int:
    """Number (1-based) of the first line of a text file (gzipped or not) that is not UTF-8; 0 if none."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return n
    return 0


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

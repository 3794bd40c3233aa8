"""Mutation specs: which source element of which sequence to perturb, and its targets.

One row per source element, as in the 2018 code's ``mut_dict``::

    {'seq_0': {'seq': 0, 'mut_start': 45, 'mut_end': 55, 'mut_name': 'summit',
               'resp_start': [0], 'resp_end': [100], 'resp_names': ['flank_size_100']}}

Intervals are 0-based and half-open, like BED. The TSV form has one row per source
with the list columns comma-separated; its header is
``key seq mut_start mut_end mut_name resp_start resp_end resp_names alt``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import SpecError
from .io import atomic_path

TSV_COLUMNS = ("key", "seq", "mut_start", "mut_end", "mut_name", "resp_start", "resp_end", "resp_names", "alt")


@dataclass(frozen=True)
class Source:
    """One source element and its target (response) elements in one sequence."""

    key: str
    seq: int | str
    mut_start: int
    mut_end: int
    mut_name: str
    resp_start: tuple[int, ...]
    resp_end: tuple[int, ...]
    resp_names: tuple[str, ...]
    alt: str = ""  # alternate allele for the `alt` strategy (length mut_end - mut_start)

    @property
    def n_targets(self) -> int:
        return len(self.resp_start)


@dataclass
class MutationSpecs:
    """A table of :class:`Source` rows (the seed's mutation dictionary)."""

    rows: list[Source] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i: int) -> Source:
        return self.rows[i]

    # --- construction -------------------------------------------------------------
    @classmethod
    def from_dict(cls, mut_dict: Mapping[str, Mapping]) -> "MutationSpecs":
        """Build from the seed's plain-dict format (key -> entry)."""
        rows = []
        for key, entry in mut_dict.items():
            where = f"mutation spec {key!r}"
            if not isinstance(entry, Mapping):
                raise SpecError(f"{where}: expected a dict of fields, got {type(entry).__name__}")
            missing = [k for k in ("seq", "mut_start", "mut_end", "resp_start", "resp_end") if k not in entry]
            if missing:
                raise SpecError(f"{where}: missing field(s) {missing}")
            rows.append(make_source(
                key=str(key),
                seq=entry["seq"],
                mut_start=entry["mut_start"],
                mut_end=entry["mut_end"],
                mut_name=entry.get("mut_name", str(key)),
                resp_start=entry["resp_start"],
                resp_end=entry["resp_end"],
                resp_names=entry.get("resp_names"),
                alt=entry.get("alt", ""),
                where=where,
            ))
        return cls(rows)

    def to_dict(self) -> dict[str, dict]:
        """The seed's plain-dict format."""
        out = {}
        for r in self.rows:
            d = {
                "seq": r.seq, "mut_start": r.mut_start, "mut_end": r.mut_end, "mut_name": r.mut_name,
                "resp_start": list(r.resp_start), "resp_end": list(r.resp_end), "resp_names": list(r.resp_names),
            }
            if r.alt:
                d["alt"] = r.alt
            out[r.key] = d
        return out

    @classmethod
    def read_tsv(cls, path: str | os.PathLike) -> "MutationSpecs":
        """Read the TSV form; errors name the file and line."""
        rows = []
        with open(path, newline="") as fh:
            reader = csv.reader(fh, delimiter="\t")
            header = next(reader, None)
            if header is None:
                return cls([])
            header = [h.strip() for h in header]
            need = [c for c in TSV_COLUMNS if c != "alt"]
            missing = [c for c in need if c not in header]
            if missing:
                raise SpecError(f"{path}:1: header lacks column(s) {missing}; expected {list(TSV_COLUMNS)}")
            col = {c: header.index(c) for c in header}
            for lineno, rec in enumerate(reader, start=2):
                if not rec or all(not x.strip() for x in rec):
                    continue
                where = f"{path}:{lineno}"
                if len(rec) < len(need):
                    raise SpecError(f"{where}: {len(rec)} columns, expected {len(header)}")
                try:
                    rows.append(make_source(
                        key=rec[col["key"]],
                        seq=rec[col["seq"]],
                        mut_start=rec[col["mut_start"]],
                        mut_end=rec[col["mut_end"]],
                        mut_name=rec[col["mut_name"]],
                        resp_start=_split(rec[col["resp_start"]]),
                        resp_end=_split(rec[col["resp_end"]]),
                        resp_names=_split(rec[col["resp_names"]]),
                        alt=rec[col["alt"]] if "alt" in col and col["alt"] < len(rec) else "",
                        where=f"{where} ({rec[col['key']]!r})",
                    ))
                except SpecError:
                    raise
        return cls(rows)

    def write_tsv(self, path: str | os.PathLike) -> None:
        """Write the TSV form atomically (temporary file, then rename)."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh, delimiter="\t", lineterminator="\n")
            w.writerow(TSV_COLUMNS)
            for r in self.rows:
                for name in (r.mut_name, *r.resp_names):
                    if any(ch in name for ch in ",\t\n"):
                        raise SpecError(f"mutation spec {r.key!r}: element name {name!r} contains a comma, tab or newline")
                w.writerow([
                    r.key, r.seq, r.mut_start, r.mut_end, r.mut_name,
                    ",".join(map(str, r.resp_start)), ",".join(map(str, r.resp_end)), ",".join(r.resp_names), r.alt,
                ])

    # --- checks -----------------------------------------------------------------------
    def validate(self, lengths) -> None:
        """Check every interval lies inside its sequence.

        lengths : an int (all sequences share a length), a sequence of lengths indexed by
            ``seq``, or a mapping ``seq -> length``.
        """
        for r in self.rows:
            where = f"mutation spec {r.key!r}"
            L = _length_of(lengths, r.seq, where)
            if not 0 <= r.mut_start < r.mut_end <= L:
                raise SpecError(
                    f"{where}: source [{r.mut_start}, {r.mut_end}) is not inside sequence {r.seq!r} "
                    f"of length {L} (need 0 <= mut_start < mut_end <= {L})"
                )
            for a, b, name in zip(r.resp_start, r.resp_end, r.resp_names):
                if not 0 <= a < b <= L:
                    raise SpecError(
                        f"{where}: target {name!r} [{a}, {b}) is not inside sequence {r.seq!r} "
                        f"of length {L} (need 0 <= resp_start < resp_end <= {L})"
                    )

    def seq_indices(self, ids: Iterable | None = None) -> list[int]:
        """Integer index of each row's sequence (``ids`` maps string ids to positions)."""
        if ids is None:
            try:
                return [int(r.seq) for r in self.rows]
            except (TypeError, ValueError) as exc:
                raise SpecError("mutation specs name sequences by id; pass the list of sequence ids") from exc
        pos = {str(s): i for i, s in enumerate(ids)}
        out = []
        for r in self.rows:
            if str(r.seq) not in pos:
                raise SpecError(f"mutation spec {r.key!r}: sequence {r.seq!r} is not among the given sequences")
            out.append(pos[str(r.seq)])
        return out


def _split(text: str) -> list[str]:
    text = text.strip()
    return [t.strip() for t in text.split(",")] if text else []


def _int(value, what: str, where: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: {what} must be an integer, got {value!r}") from None
    if f != int(f):
        raise SpecError(f"{where}: {what} must be an integer, got {value!r}")
    return int(f)


def make_source(*, key, seq, mut_start, mut_end, mut_name, resp_start, resp_end, resp_names, alt, where) -> Source:
    ms, me = _int(mut_start, "mut_start", where), _int(mut_end, "mut_end", where)
    if ms >= me:
        raise SpecError(f"{where}: mut_start ({ms}) must be < mut_end ({me})")
    rs = [_int(v, "resp_start", where) for v in resp_start]
    re_ = [_int(v, "resp_end", where) for v in resp_end]
    if len(rs) != len(re_):
        raise SpecError(f"{where}: {len(rs)} resp_start values but {len(re_)} resp_end values")
    names = list(resp_names) if resp_names else [f"{a}-{b}" for a, b in zip(rs, re_)]
    if len(names) != len(rs):
        raise SpecError(f"{where}: {len(names)} resp_names for {len(rs)} targets")
    for a, b, n in zip(rs, re_, names):
        if a >= b:
            raise SpecError(f"{where}: target {n!r} has resp_start ({a}) >= resp_end ({b})")
    if isinstance(seq, str) and seq.strip().lstrip("-").isdigit():
        seq = int(seq)
    alt = (alt or "").strip().upper()
    if alt and len(alt) != me - ms:
        raise SpecError(f"{where}: alt allele {alt!r} has length {len(alt)}, the source has length {me - ms}")
    return Source(str(key), seq, ms, me, str(mut_name), tuple(rs), tuple(re_), tuple(str(n) for n in names), alt)


def _length_of(lengths, seq, where) -> int:
    if isinstance(lengths, int):
        return lengths
    if isinstance(lengths, Mapping):
        if seq not in lengths and str(seq) not in lengths:
            raise SpecError(f"{where}: unknown sequence {seq!r}")
        return int(lengths[seq] if seq in lengths else lengths[str(seq)])
    try:
        return int(lengths[int(seq)])
    except (IndexError, ValueError, TypeError):
        raise SpecError(f"{where}: sequence {seq!r} is not among the {len(lengths)} sequences") from None

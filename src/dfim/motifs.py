"""DNA motifs: position weight matrices, JASPAR look-ups (offline) and MEME files.

Motifs come from the JASPAR SQLite databases that ship inside the ``pyjaspar``
package, so :func:`jaspar_motif` works offline. A motif's ``pwm`` is ``(w, 4)``
probabilities in the order A, C, G, T.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sequences import ALPHABET, gc_background, one_hot

_LETTERS = np.array(list(ALPHABET))
_COMPLEMENT = str.maketrans("ACGTacgtN", "TGCAtgcaN")
_JASPAR_ID = re.compile(r"^[A-Z]{2}\d{4}(\.\d+)?$")


@dataclass(frozen=True, eq=False)
class Motif:
    """A position weight matrix.

    Attributes
    ----------
    id : str
        Matrix identifier, e.g. ``"MA0035.5"``.
    name : str
        Factor name, e.g. ``"GATA1"``.
    pwm : np.ndarray
        ``(w, 4)`` float64 letter probabilities, columns A, C, G, T; every row sums to 1.
    nsites : int or None
        Number of sites the matrix was built from (written to MEME files when known).
    """

    id: str
    name: str
    pwm: np.ndarray
    nsites: int | None = None

    def __post_init__(self):
        pwm = np.array(self.pwm, dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[1] != 4 or pwm.shape[0] == 0:
            raise ValueError(f"Motif {self.id}: pwm must have shape (w, 4), got {pwm.shape}")
        if (pwm < 0).any() or (pwm.sum(axis=1) <= 0).any():
            raise ValueError(f"Motif {self.id}: pwm rows must be non-negative with a positive sum")
        pwm = pwm / pwm.sum(axis=1, keepdims=True)
        pwm.setflags(write=False)
        object.__setattr__(self, "pwm", pwm)

    @property
    def width(self) -> int:
        """Motif length ``w``."""
        return self.pwm.shape[0]

    @property
    def consensus(self) -> str:
        """Most probable letter at each position (first of ties), length ``w``."""
        return "".join(_LETTERS[self.pwm.argmax(axis=1)])

    def log_odds_matrix(self, gc: float = 0.5, pseudocount: float = 1e-3) -> np.ndarray:
        """``(w, 4)`` log2 odds of the (pseudocounted) PWM against an i.i.d. GC background."""
        p = (self.pwm + pseudocount) / (1 + 4 * pseudocount)
        return np.log2(p / background_frequencies(gc))

    def score(self, site: str, gc: float = 0.5, pseudocount: float = 1e-3) -> float:
        """Log2-odds score of ``site`` (length ``w``, read on the motif's own strand)."""
        if len(site) != self.width:
            raise ValueError(f"score: site has length {len(site)}, motif {self.id} has {self.width}")
        x = one_hot(site).astype(np.float64)
        return float((x * self.log_odds_matrix(gc, pseudocount)).sum())

    def max_score(self, gc: float = 0.5, pseudocount: float = 1e-3) -> float:
        """Best achievable :meth:`score`."""
        return float(self.log_odds_matrix(gc, pseudocount).max(axis=1).sum())

    def probability(self, site: str) -> float:
        """Probability of drawing ``site`` (length ``w``, motif strand) from the PWM."""
        if len(site) != self.width:
            raise ValueError(f"probability: site has length {len(site)}, motif has {self.width}")
        x = one_hot(site).astype(np.float64)
        return float(np.prod((x * self.pwm).sum(axis=1)))

    def sample(
        self,
        rng: np.random.Generator,
        min_score: float | None = None,
        gc: float = 0.5,
        max_tries: int = 10_000,
    ) -> str:
        """One site of length ``w`` drawn position by position from the PWM (motif strand).

        With ``min_score``, draws are repeated until :meth:`score` (log2 odds against
        GC fraction ``gc``) is at least ``min_score``: a PWM draw conditioned on a
        minimum strength.
        """
        cum = np.cumsum(self.pwm, axis=1)
        cum[:, -1] = 1.0
        lo = None if min_score is None else self.log_odds_matrix(gc)
        for _ in range(max_tries):
            u = 1.0 - rng.random(self.width)  # in (0, 1]: zero-probability letters are never drawn
            idx = (cum < u[:, None]).sum(axis=1)
            if lo is None or lo[np.arange(self.width), idx].sum() >= min_score:
                return "".join(_LETTERS[idx])
        raise ValueError(f"Motif {self.id}: no draw reached score {min_score} in {max_tries} tries")


def background_frequencies(gc: float) -> np.ndarray:
    """``(4,)`` float64 background A, C, G, T for GC fraction ``gc`` (exactly sums to 1)."""
    gc_background(gc)  # validates the range
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], dtype=np.float64)


def reverse_complement_str(seq: str) -> str:
    """Reverse complement of a DNA string (A<->T, C<->G, N stays N)."""
    return seq.translate(_COMPLEMENT)[::-1]


def _motif_from_jaspar(m) -> Motif:
    counts = np.array([m.counts[b] for b in ALPHABET], dtype=np.float64).T  # (w, 4)
    nsites = int(round(counts.sum(axis=1).max()))
    return Motif(id=str(m.matrix_id), name=str(m.name), pwm=counts, nsites=nsites)


def jaspar_motif(name_or_id: str, release: str = "JASPAR2024") -> Motif:
    """Fetch a motif from the JASPAR SQLite database bundled with ``pyjaspar`` (offline).

    Parameters
    ----------
    name_or_id : str
        A matrix ID with or without version (``"MA0035.5"``, ``"MA0035"``: the
        latest version in ``release``) or a factor name (``"GATA1"``,
        case-insensitive). For a name, the matrices whose name matches exactly are
        ranked: CORE collection first, then vertebrates, then human (9606), then the
        highest matrix version; the first is returned.
    release : str
        One of pyjaspar's bundled releases, e.g. ``"JASPAR2024"``.

    Returns
    -------
    Motif
        ``pwm`` has shape ``(w, 4)``: the JASPAR counts normalised per position.

    Raises
    ------
    KeyError
        When no matrix matches.
    """
    import pyjaspar

    if release not in pyjaspar.jaspar_releases:
        raise ValueError(
            f"unknown JASPAR release {release!r}; pyjaspar ships {sorted(pyjaspar.jaspar_releases)}"
        )
    db = pyjaspar.jaspardb(release=release)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if _JASPAR_ID.match(name_or_id):
                m = db.fetch_motif_by_id(name_or_id)
                if m is None:
                    raise KeyError(f"no JASPAR matrix {name_or_id!r} in {release}")
                return _motif_from_jaspar(m)
            found = db.fetch_motifs(collection=None, tf_name=name_or_id, all_versions=True)
    finally:
        db.conn.close()
    found = [m for m in found if str(m.name).upper() == name_or_id.upper()]
    if not found:
        raise KeyError(f"no JASPAR matrix named {name_or_id!r} in {release}")

    def rank(m):
        base, _, version = str(m.matrix_id).partition(".")
        return (
            m.collection != "CORE",
            "vertebrates" not in str(m.tax_group).lower(),
            "9606" not in [str(s) for s in (m.species or [])],
            -int(version or 0),
            base,
        )

    return _motif_from_jaspar(min(found, key=rank))


def write_meme(motifs: Sequence[Motif], path: str | Path) -> Path:
    """Write motifs in MEME minimal motif format (version 4).

    Each motif is written as ``MOTIF <id> <name>`` followed by a
    ``letter-probability matrix: alength= 4 w= <w> nsites= <n> E= 0`` block of ``w``
    rows (A C G T, 6 decimals). Readable by MEME-suite tools and by
    ``memelite.io.read_meme`` (whose keys are ``"<id> <name>"``, values ``(4, w)``).

    Parameters
    ----------
    motifs : sequence of Motif
    path : str or Path

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        "A 0.25 C 0.25 G 0.25 T 0.25",
        "",
    ]
    for m in motifs:
        if any(c.isspace() for c in m.id + m.name):
            raise ValueError(f"write_meme: motif id and name may not contain spaces: {m.id!r} {m.name!r}")
        nsites = m.nsites if m.nsites else 20
        lines.append(f"MOTIF {m.id} {m.name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {m.width} nsites= {nsites} E= 0")
        lines.extend(" ".join(f"{p:.6f}" for p in row) for row in m.pwm)
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def read_meme(path: str | Path) -> list[Motif]:
    """Read a MEME motif file with ``memelite`` into :class:`Motif` objects (file order).

    The ``MOTIF`` line's first word becomes ``id`` and the second (or the id again) ``name``.
    """
    from memelite.io import read_meme as _read

    out = []
    for key, pwm in _read(str(path)).items():
        parts = key.split()
        out.append(Motif(id=parts[0], name=parts[1] if len(parts) > 1 else parts[0], pwm=pwm.T))
    return out




def jaspar_motifs_to_meme(ids: Sequence[str], path, release: str = "JASPAR2024") -> Path:
    """Write the JASPAR matrices ``ids`` (IDs or names) of ``release`` to a MEME file.

    The MEME ``MOTIF`` line is ``<id> <name>``; the workflow names motif instances by
    the factor name. Unknown IDs stop with the release's name in the message.
    """
    motifs = []
    for i in ids:
        try:
            motifs.append(jaspar_motif(i, release))
        except KeyError as exc:
            raise KeyError(f"config key elements.jaspar_ids: {exc.args[0]}; check the ID in JASPAR {release}") from None
    tmp = Path(f"{path}.tmp")
    write_meme(motifs, tmp)
    tmp.replace(path)
    return Path(path)

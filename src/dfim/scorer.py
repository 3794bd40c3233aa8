"""The interface every attribution backend's scorer has (see :func:`dfim.importance.make_scorer`).

``multipliers(X, R, task, batch_size) -> (m, L, 4)`` float32 for inputs and references
``(m, L, 4)``, and ``close()``; a scorer is a context manager that closes itself.
"""

from __future__ import annotations


class Scorer:
    """Base of the native, deeplift-package and PyTorch scorers: ``with`` support around ``close``."""

    def close(self) -> None:
        """Release what the scorer holds (a session, compiled functions); nothing by default."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

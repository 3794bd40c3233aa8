"""The error types DFIM raises for things a user can fix.

Each message says what was wrong, where (``file:line`` or the config key) and how to
fix it. All derive from :class:`ValueError`, so callers that only care that an input
was rejected can catch that.
"""

from __future__ import annotations


class InputError(ValueError):
    """A user input file (peaks, genome, element BED, VCF, motifs) is malformed."""


class ModelError(ValueError):
    """The model file cannot be used: unreadable, wrong shape, or bad task index."""


class SpecError(ValueError):
    """A mutation spec (source, targets) is malformed or does not fit its sequence."""


class ConfigError(ValueError):
    """The workflow configuration is inconsistent: a repeated key or task, a bad value."""

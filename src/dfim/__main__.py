"""``python -m dfim``: the ``dfim`` command (:mod:`dfim.cli`)."""

import sys

from .cli import main

sys.exit(main())

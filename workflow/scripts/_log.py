"""Send a job's logging and stderr (TensorFlow's chatter included) to its log file.

A DFIM input error (:mod:`dfim.errors`) is written without a traceback to the log and
to the terminal, with warnings, so the user sees what to fix where Snakemake runs.
"""

import logging
import os
import sys

# Without it `import tensorflow` also imports Keras 3 (and scikit-learn, for Keras 3's
# wrappers) to serve tf.keras: about 2 s in every job that loads a model. DFIM never
# goes through tf.keras: it loads Keras-2 files with tf_keras and Keras-3 files with
# `keras` itself, which this variable does not change.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def setup(log_path):
    fh = open(log_path, "a", buffering=1)
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    os.dup2(fh.fileno(), 2)  # C++ logging of TensorFlow writes to the descriptor, not sys.stderr
    sys.stderr = fh
    logging.basicConfig(stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    to_terminal = logging.StreamHandler(terminal)
    to_terminal.setLevel(logging.WARNING)
    to_terminal.setFormatter(logging.Formatter("DFIM %(levelname)s: %(message)s"))
    logging.getLogger().addHandler(to_terminal)

    def excepthook(kind, exc, tb):
        from dfim.errors import ConfigError, InputError, ModelError, SpecError

        if issubclass(kind, (ConfigError, InputError, ModelError, SpecError)):
            logging.getLogger("dfim").error("%s", exc)
            print(f"(full log: {log_path})", file=terminal)
            return
        sys.__excepthook__(kind, exc, tb)

    sys.excepthook = excepthook
    return fh

"""Send a job's logging and stderr (TensorFlow's chatter included) to its log file."""

import logging
import sys


def setup(log_path):
    fh = open(log_path, "a", buffering=1)
    sys.stderr = fh
    logging.basicConfig(stream=fh, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    return fh

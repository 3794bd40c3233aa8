import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
import pysam  # noqa: E402

pysam.faidx(snakemake.input[0])

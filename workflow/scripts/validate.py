import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import validate_step  # noqa: E402

validate_step(snakemake.params.config, snakemake.wildcards.peak_set, snakemake.input.fai, snakemake.output[0])

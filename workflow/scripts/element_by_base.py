import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import element_by_base_step  # noqa: E402

out = snakemake.output
element_by_base_step(snakemake.input.interactions, snakemake.input.windows, list(snakemake.input.shards),
                     snakemake.input.fai, out.h5, out.bigwigs, out.plots, top=snakemake.params.top)

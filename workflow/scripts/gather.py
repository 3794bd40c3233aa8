import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import gather_step  # noqa: E402

p = snakemake.params
gather_step(list(snakemake.input.shards), snakemake.output.interactions, snakemake.output.pairs,
            snakemake.output.maps, cfg=dict(null=p.null, pvalue=p.pvalue))

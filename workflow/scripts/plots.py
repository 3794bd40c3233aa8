import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import plots_step  # noqa: E402

p = snakemake.params
plots_step(snakemake.input.interactions, snakemake.input.pairs, snakemake.input.windows, list(snakemake.input.shards),
           snakemake.output[0], cfg=dict(null=p.null, pvalue=p.pvalue), top=p.top)

import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import report_step  # noqa: E402

i, o = snakemake.input, snakemake.output
report_step(i.interactions, i.pairs, i.windows, i.validated, i.plots,
            dict(summary=o.summary, interactions=o.interactions, pairs=o.pairs, windows=o.windows),
            peak_set=snakemake.wildcards.peak_set, settings=snakemake.params.settings)

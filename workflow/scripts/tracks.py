import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import tracks_step  # noqa: E402

out = snakemake.output
tracks_step(snakemake.input.interactions, list(snakemake.input.shards), snakemake.input.fai, out.bedpe, out.bed,
            out.bigwig)

import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import validated_window, windows_step  # noqa: E402

p = snakemake.params
windows_step(
    snakemake.wildcards.peak_set, snakemake.input.peaks, snakemake.input.fai, snakemake.input.genome,
    snakemake.output[0], width=validated_window(snakemake.input.validated), max_n_fraction=p.max_n_fraction,
    blacklist=snakemake.input.blacklist or None, n_shards_=p.n_shards, shard_size=p.shard_size,
)

import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import score_step  # noqa: E402

p = snakemake.params
elements = dict(p.elements, motif_file=snakemake.input.motifs or None)
cfg = dict(elements=elements, importance=p.importance, mutation=p.mutation, map=p.map, null=p.null,
           model=p.model, seed=p.seed)
score_step(snakemake.input.windows, int(snakemake.wildcards.shard), snakemake.input.genome, snakemake.input.model,
           snakemake.output[0], cfg=cfg, threads=snakemake.threads)

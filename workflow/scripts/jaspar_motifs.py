import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.motifs import jaspar_motifs_to_meme  # noqa: E402

jaspar_motifs_to_meme(snakemake.params.ids, snakemake.output[0], release=snakemake.params.release)

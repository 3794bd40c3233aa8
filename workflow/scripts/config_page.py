import sys

sys.path.insert(0, snakemake.scriptdir)
import _log  # noqa: E402

_log.setup(snakemake.log[0])
from dfim.steps import config_page_step  # noqa: E402

config_page_step(dict(snakemake.params.config), snakemake.output[0])

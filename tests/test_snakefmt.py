"""The workflow's Snakefile and rule files are formatted as `snakefmt` writes them."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEFMT = Path(sys.executable).parent / "snakefmt"


def test_workflow_is_snakefmt_clean():
    # A missing formatter fails rather than skips, so CI can't pass without checking.
    assert SNAKEFMT.exists(), (
        f"snakefmt is not installed next to {sys.executable}; "
        "install the test extra (pip install -e '.[test]') or `pip install snakefmt`"
    )
    targets = [REPO / "workflow" / "Snakefile", REPO / "workflow" / "rules"]
    res = subprocess.run(
        [str(SNAKEFMT), "--check", "--diff", *map(str, targets)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode == 0, (
        "workflow files are not snakefmt-formatted; run "
        "`snakefmt workflow/Snakefile workflow/rules/` and commit the result:\n"
        + res.stdout[-5000:]
        + res.stderr[-2000:]
    )

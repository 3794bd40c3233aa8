"""The `dfim` command: a thin argparse front to `python -m snakemake` on the repository's workflow."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from dfim import cli
from workflow_data import make_inputs

REPO = Path(__file__).resolve().parents[1]


def dfim(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "dfim", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_installed_as_a_console_script():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"dfim": "dfim.cli:main"}


def test_commands_are_built_from_the_repository():
    args, extra = cli.parser().parse_known_args(["demo", "--cores", "3", "-n", "--quiet"])
    cmd = cli.snakemake_command(args, extra)
    assert cmd[:3] == [sys.executable, "-m", "snakemake"]
    assert cmd[cmd.index("--snakefile") + 1] == str(REPO / "workflow" / "Snakefile")
    assert cmd[cmd.index("--workflow-profile") + 1] == str(REPO / "profiles" / "default")
    assert cmd[cmd.index("--configfile") + 1] == str(REPO / "config" / "config.yaml")
    assert cmd[cmd.index("--directory") + 1] == str(REPO)
    assert cmd[-4:] == ["--cores", "3", "--dry-run", "--quiet"]
    args, extra = cli.parser().parse_known_args(["run", "--config", str(REPO / "config" / "config.yaml"),
                                                 "--profile", "slurm"])
    assert cli.snakemake_command(args, extra)[6] == str(REPO / "profiles" / "slurm")


def test_help_and_a_dry_run_of_my_config(tmp_path):
    res = dfim("run", "--help", cwd=tmp_path)
    assert res.returncode == 0 and "--config" in res.stdout and "--directory" in res.stdout
    cfg = make_inputs(tmp_path)
    cfg["peaks"] = {"mine": str(tmp_path / "peaks.narrowPeak")}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(cfg))
    res = dfim("run", "--config", "mine.yaml", "--directory", str(tmp_path), "-n", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "rule score_shard" in res.stdout and "results/mine/tracks/importance.bw" in res.stdout
    assert "results/tiny" not in res.stdout  # config/config.yaml of the directory is not read

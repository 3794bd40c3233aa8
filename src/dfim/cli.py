"""The ``dfim`` command: runs the DFIM Snakemake workflow with this Python's Snakemake.

    dfim run --config my.yaml --cores 8 [--profile slurm] [--directory DIR] [-n] [SNAKEMAKE ARGS]
    dfim demo [--cores 2] [-n]

The workflow is the repository's ``workflow/Snakefile``. DFIM is installed editable
(``pip install -e .``), so it is found next to this package (``src/dfim`` → the
repository root); set ``DFIM_WORKFLOW`` to a repository (or its ``workflow/Snakefile``) to
use another copy. Arguments this command does not know are passed on to Snakemake.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def repository() -> Path:
    """The DFIM repository whose workflow runs: ``$DFIM_WORKFLOW`` or the one holding this package."""
    env = os.environ.get("DFIM_WORKFLOW")
    root = Path(env).expanduser().resolve() if env else Path(__file__).resolve().parents[2]
    if root.is_file():  # the Snakefile itself
        root = root.parent.parent
    if not (root / "workflow" / "Snakefile").is_file():
        where = f"DFIM_WORKFLOW={env}" if env else f"the repository holding {Path(__file__).parent}"
        raise SystemExit(f"dfim: no workflow/Snakefile in {root} ({where}); install DFIM editable from its "
                         f"repository (pip install -e .) or set DFIM_WORKFLOW to the repository's folder")
    return root


def profile_dir(repo: Path, profile: str) -> Path:
    """A shipped profile by name (``profiles/<name>``) or a folder given by path."""
    for p in (repo / "profiles" / profile, Path(profile).expanduser()):
        if (p / "config.yaml").is_file() or (p / "profile.yaml").is_file():
            return p.resolve()
    shipped = sorted(d.name for d in (repo / "profiles").iterdir() if d.is_dir())
    raise SystemExit(f"dfim: profile {profile!r} is neither a folder with a config.yaml nor one of the shipped "
                     f"profiles {shipped}")


def snakemake_command(args, extra: list[str]) -> list[str]:
    """The Snakemake command line of a parsed ``dfim run``/``dfim demo``."""
    repo = repository()
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "workflow" / "Snakefile"),
           "--workflow-profile", str(profile_dir(repo, args.profile))]
    if args.command == "demo":
        cmd += ["--directory", str(repo), "--configfile", str(repo / "config" / "config.yaml")]
    else:
        if args.directory:
            cmd += ["--directory", str(Path(args.directory).expanduser().resolve())]
        if args.config:
            config = Path(args.config).expanduser().resolve()
            if not config.is_file():
                raise SystemExit(f"dfim: config file {args.config} does not exist")
            cmd += ["--configfile", str(config)]
    if args.cores:
        cmd += ["--cores", str(args.cores)]
    if args.dry_run:
        cmd += ["--dry-run"]
    return cmd + extra


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dfim", description="Deep Feature Interaction Maps: run the DFIM workflow.",
                                 epilog="Arguments not listed here are passed on to Snakemake.")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the workflow on your config",
                         description="Run the workflow; a --config file is the whole config (the demo's "
                                     "config/config.yaml is not read). Unknown arguments go to Snakemake.")
    run.add_argument("--config", metavar="YAML", help="config file (default: config/config.yaml of the directory)")
    run.add_argument("--directory", metavar="DIR", help="working directory: results/, logs/ and relative paths "
                                                        "of the config are there (default: the current folder)")
    demo = sub.add_parser("demo", help="run the workflow on the bundled demo (results in the repository's "
                                       "results/demo/)")
    for p in (run, demo):
        p.add_argument("--cores", type=int, help="cores to use (default: the profile's)")
        p.add_argument("--profile", default="default", help="shipped profile name (default, slurm) or a profile "
                                                            "folder (default: default)")
        p.add_argument("-n", "--dry-run", action="store_true", help="list the jobs without running them")
    return ap


def main(argv=None) -> int:
    args, extra = parser().parse_known_args(argv)
    cmd = snakemake_command(args, extra)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    print("dfim: " + " ".join(cmd[1:]), file=sys.stderr)
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Remove Snakemake's lock on a working directory when no Snakemake process holds it.

A run killed by SIGKILL (a scheduler's time limit, an OOM killer) leaves its lock
behind, and the next run refuses to start until `snakemake --unlock`. This script is
run before the workflow by `make demo` / `make run`: it unlocks only when no live
process is a Snakemake run on that directory, so two real runs still exclude each
other.

Usage: unlock_if_stale.py [DIRECTORY] [-- snakemake args for the unlock call]
"""

import os
import subprocess
import sys
from pathlib import Path


def snakemake_running_in(directory: Path) -> bool:
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (me, os.getppid()):
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if not any("snakemake" in Path(a).name or a.endswith("snakemake/__main__.py") for a in args[:3]):
            continue
        if "--unlock" in args:
            continue
        target = cwd
        if "--directory" in args and args.index("--directory") + 1 < len(args):
            target = (cwd / args[args.index("--directory") + 1]).resolve()
        if target == directory:
            return True
    return False


def main(argv):
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    directory = Path(argv[0] if argv else ".").resolve()
    locks = directory / ".snakemake" / "locks"
    if not locks.is_dir() or not any(locks.iterdir()):
        return 0
    if snakemake_running_in(directory):
        print(f"{directory} is locked by a running Snakemake; not unlocking", file=sys.stderr)
        return 0
    print(f"removing a stale Snakemake lock left in {directory} by a killed run", file=sys.stderr)
    cmd = [sys.executable, "-m", "snakemake", "--unlock", "--directory", str(directory), *extra]
    return subprocess.call(cmd, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Fault tolerance: a killed run resumes without redoing finished shards, and the
tables do not depend on --cores or shard_size."""

import base64
import os
import signal
import subprocess
import sys
import time

import pytest

from test_workflow import REPO, SNAKEMAKE, run_smk
from workflow_data import make_inputs

N_PEAKS = 8
TABLES = ("interactions.tsv", "motif_pairs.tsv")


def finished_shards(root):
    """Shard files whose jobs Snakemake has recorded as finished (no incomplete marker)."""
    marks = root / ".snakemake" / "incomplete"
    pending = {base64.b64decode(m.name).decode() for m in marks.iterdir()} if marks.is_dir() else set()
    return [p for p in (root / "results" / "tiny" / "shards").glob("*.h5")
            if str(p.relative_to(root)) not in pending]


def tables(root):
    return {name: (root / "results" / "tiny" / name).read_bytes() for name in TABLES}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: 3 windows per shard, 2 cores."""
    root = tmp_path_factory.mktemp("ref")
    make_inputs(root, n_peaks=N_PEAKS, extra={"shard_size": 3})
    run_smk(root, "--cores", "2")
    return root


def test_same_tables_whatever_cores_and_shard_size(reference, tmp_path):
    make_inputs(tmp_path, n_peaks=N_PEAKS, extra={"shard_size": 8})
    run_smk(tmp_path, "--cores", "1")
    assert tables(tmp_path) == tables(reference)


def test_killed_run_resumes_and_matches(reference, tmp_path):
    make_inputs(tmp_path, n_peaks=N_PEAKS, extra={"shard_size": 3})
    shards = tmp_path / "results" / "tiny" / "shards"
    proc = subprocess.Popen(SNAKEMAKE + ["--directory", str(tmp_path), "--cores", "1"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not finished_shards(tmp_path) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the Snakemake process and its jobs
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in finished_shards(tmp_path)}
    assert 0 < len(done) < 3, f"kill came too late to test a resume: {sorted(done)}"
    assert not (tmp_path / "results" / "tiny" / "interactions.tsv").exists()
    # what `make demo` does before Snakemake: drop the lock the killed run left
    # (the shipped profiles set rerun-incomplete; the test runs without a profile)
    subprocess.run([sys.executable, str(REPO / "scripts" / "unlock_if_stale.py"), str(tmp_path), "--",
                    "--snakefile", str(REPO / "workflow" / "Snakefile")], check=True)
    res = run_smk(tmp_path, "--cores", "1", "--rerun-incomplete")
    log = res.stdout + res.stderr
    after = {p.name: p.stat().st_mtime_ns for p in shards.glob("*.h5")}
    assert len(after) == 3
    # a shard Snakemake had recorded as finished is not recomputed
    kept = [name for name in done if after[name] == done[name]]
    assert len(kept) == len(done), "every finished shard was recomputed:\n" + "\n".join(l for l in log.splitlines() if "reason" in l or "wildcards" in l)
    assert tables(tmp_path) == tables(reference)
    assert not list(tmp_path.rglob("*.tmp"))

"""Genome benchmark: the real workflow on Basset-sized windows with motif sources, per config.

What it measures: `snakemake` on workflow/Snakefile (a `--configfile` per run, each run in
its own directory under bench/work/genome/) over a synthetic genome whose peaks carry
planted motif instances of resources/demo/motifs.meme, scored with a Basset-sized model
(bench/speed/models.py: 1000 bp, 164 outputs, random weights; task 0). For every named
configuration in CONFIGS (overlays on the shipped config/config.yaml) it reports windows
kept, sources per window, sequences scored per window, wall time, windows/s, seconds
per window by stage (the stage split each shard job writes at the end of its log),
per-job peak RSS (Snakemake benchmark files), the speed-up of `new` over `previous`
measured in the same run, and a projection to 100,000 peaks. Writes
bench/results/genome.md.

Run: `make bench-genome` (defaults: --windows 200 --configs new,new-shards-50,previous,new-shuffled-refs --cores 2), or
`.venv/bin/python bench/genome/run.py --windows 20` for a quick check; `--linearity`
also runs `new` on a quarter of the windows to check that time grows linearly.
Add a candidate configuration with one line in CONFIGS.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared machine helpers
from machine import cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "bench" / "work" / "genome"
OUT = REPO / "bench" / "results" / "genome.md"
MOTIFS = REPO / "resources" / "demo" / "motifs.meme"

#: named configurations: overlays on the shipped config/config.yaml (one line per candidate)
SHUFFLED_REFS = {"reference": "shuffle", "n_refs": 10}
CONFIGS = {
    "new": {},  # the shipped defaults: native deeplift, GC reference, random-source null (10 segments), 200-window shards
    # the previous default: the 2018 shuffled null, no minimal effect, 10 shuffled references per window, 50-window shards
    "previous": {"importance": SHUFFLED_REFS, "null": {"kind": "dinuc", "shuffles": 10}, "pvalue": {"min_effect": 0},
                 "shard_size": 50},
    # one lever at a time: the shipped defaults with the previous shard size (each job pays its fixed costs)
    "new-shards-50": {"shard_size": 50},
    # one lever at a time: the new null with the previous references (the default of issue #12's first stop)
    "new-shuffled-refs": {"importance": SHUFFLED_REFS},
}

WINDOW = 1000        # the Basset model's input length
SPACING = 3000       # bp between peak summits: windows never overlap
PLANTED = 3          # motif instances planted around each summit
MOTIF_PVALUE = 1e-4  # the shipped elements.motif_pvalue


# ---- inputs ---------------------------------------------------------------------------

def make_model(path: Path) -> Path:
    """The Basset-sized model of bench/speed/models.py, saved once."""
    if not path.exists():
        sys.path.insert(0, str(REPO / "bench" / "speed"))
        from models import save_model

        save_model("basset", str(path))
    return path


def make_genome_and_peaks(fasta: Path, peaks: Path, n: int, seed: int = 1) -> None:
    """``n`` peaks, one every SPACING bp on two contigs of i.i.d. bases (42 % GC), each with
    PLANTED motif instances (PWM draws of the demo motifs, random strand) within 300 bp of its summit."""
    from dfim.motifs import read_meme, reverse_complement_str

    rng = np.random.default_rng(seed)
    motifs = read_meme(MOTIFS)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    per_contig = [n - n // 2, n // 2]
    rows, contigs = [], []
    k = 0
    for c, m in enumerate(per_contig):
        length = (m + 2) * SPACING
        seq = bytearray(letters[rng.choice(4, size=length, p=[0.29, 0.21, 0.21, 0.29])].tobytes())
        for j in range(m):
            summit = (j + 1) * SPACING
            # non-overlapping slots of 30 bp in summit - 300 .. summit + 300, PLANTED of them
            for slot in rng.choice(20, size=PLANTED, replace=False):
                motif = motifs[int(rng.integers(len(motifs)))]
                site = motif.sample(rng)
                site = reverse_complement_str(site) if rng.random() < 0.5 else site
                pos = summit - 300 + 30 * int(slot)
                seq[pos:pos + len(site)] = site.encode()
            rows.append((f"chr{c + 1}", summit - 150, summit + 150, f"peak{k}", 0, ".", 1.0, 1.0, 1.0, 150))
            k += 1
        contigs.append((f"chr{c + 1}", bytes(seq)))
    with open(fasta, "wb") as fh:
        for name, seq in contigs:
            fh.write(f">{name}\n".encode())
            for i in range(0, len(seq), 60):
                fh.write(seq[i:i + 60] + b"\n")
    pd.DataFrame(rows).to_csv(peaks, sep="\t", header=False, index=False)


def first_peaks(src: Path, dst: Path, n: int) -> None:
    """The first ``n`` peaks of ``src`` (the linearity check's smaller set)."""
    lines = src.read_text().splitlines(keepends=True)[:n]
    dst.write_text("".join(lines))


# ---- configs --------------------------------------------------------------------------

def merged(base: dict, overlay: dict) -> dict:
    """``base`` with ``overlay``'s keys set, section by section."""
    out = copy.deepcopy(base)
    for k, v in overlay.items():
        out[k] = merged(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def run_config(name: str, overlay: dict, peaks: Path, n: int, args, model: Path) -> dict:
    """One workflow run of configuration ``name`` on ``peaks``; its measurements."""
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    shipped = {("null" if k is None else k): v for k, v in shipped.items()}  # YAML reads the key `null:` as None
    base = {k: shipped[k] for k in ("importance", "mutation", "null", "pvalue", "seed", "max_n_fraction", "shard_size")}
    base.update({
        "genome": str(WORK / "genome.fa"),
        "peaks": {"bench": str(peaks)},
        "model": {"path": str(model), "tasks": [0]},
        "elements": {"mode": "motifs", "motif_file": str(MOTIFS), "motif_pvalue": MOTIF_PVALUE},
        "plots": {"top": 2},
    })
    cfg = merged(base, overlay)
    if args.shard_size:
        cfg["shard_size"] = args.shard_size
    root = WORK / f"run_{name}_{n}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {n} peaks, shard_size {cfg['shard_size']}", flush=True)
    load = [os.getloadavg()[0]]
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "workflow" / "Snakefile"),
                    "--configfile", str(root / "config.yaml"), "--workflow-profile", "none",
                    "--directory", str(root), "--cores", str(args.cores), "--quiet"], check=True, env=env)
    wall = time.perf_counter() - t
    load.append(os.getloadavg()[0])
    print(f"[{time.strftime('%H:%M:%S')}] {name}: done in {wall:.0f} s", flush=True)
    # what only this process saw, so --report-only can rebuild the report from the run directories
    (root / "run.json").write_text(json.dumps({"name": name, "n_peaks": n, "wall": wall, "cfg": cfg, "load": load}))
    return load_run(root)


def load_run(root: Path) -> dict:
    """One finished run: run.json plus what its logs and benchmark files say."""
    meta = json.loads((root / "run.json").read_text())
    return dict(measure(root, "bench"), **meta)


# ---- reading a run --------------------------------------------------------------------

SPLIT = re.compile(r"stage split \(s\): (.*?); total ([\d.]+)")
PROCESS_CPU = re.compile(r"; process CPU ([\d.]+)")
SOURCES = re.compile(r"finding elements done: sources (\d+)")
SCORED = re.compile(r": (scoring[^:]*): (\d+) / (\d+) sequences scored")
SEGMENTS = re.compile(r"random-source null: (\d+) segment mutants")


def parse_shard_log(path: Path) -> dict:
    """Stage seconds, sources, sequences scored per pass and segment mutants of one shard log."""
    text = path.read_text()
    out = {"stages": {}, "total": 0.0, "sources": 0, "scored": {}, "segments": 0, "cpu": np.nan}
    m = SPLIT.search(text)
    if m:
        for part in m.group(1).split("; "):
            key, _, val = part.rpartition(" ")
            out["stages"][key] = float(val)
        out["total"] = float(m.group(2))
    c = PROCESS_CPU.search(text)
    if c:  # the job's own CPU-seconds (all threads), exact where Snakemake's cpu_time is sampled
        out["cpu"] = float(c.group(1))
    out["sources"] = sum(int(x) for x in SOURCES.findall(text))
    for name, _, total in SCORED.findall(text):
        out["scored"][name] = int(total)  # the last line of a pass holds its total
    out["segments"] = sum(int(x) for x in SEGMENTS.findall(text))
    return out


def measure(root: Path, peak_set: str) -> dict:
    windows = pd.read_csv(root / "results" / peak_set / "windows.tsv", sep="\t", comment="#")
    kept = int((windows["status"] == "kept").sum())
    logs = [parse_shard_log(p) for p in sorted((root / "logs" / peak_set / "score_shard").glob("*.log"))]
    stages: dict[str, float] = {}
    for lg in logs:
        for k, v in lg["stages"].items():
            stages[k] = stages.get(k, 0.0) + v
    scored: dict[str, int] = {}
    for lg in logs:
        for k, v in lg["scored"].items():
            scored[k] = scored.get(k, 0) + v
    bench = pd.concat([pd.read_csv(p, sep="\t").assign(job=str(p.relative_to(root / "benchmarks")))
                       for p in sorted((root / "benchmarks").rglob("*.tsv"))], ignore_index=True)
    shard = bench[bench["job"].str.contains("score_shard")]
    return dict(kept=kept, pairs=null_pairs(root, peak_set), widths=local_widths(root, peak_set),
                n_shards=len(logs), stages=stages, shard_total=sum(lg["total"] for lg in logs),
                sources=sum(lg["sources"] for lg in logs), scored=scored,
                segments=sum(lg["segments"] for lg in logs), shard_s=shard["s"].to_numpy(float),
                shard_rss=shard["max_rss"].to_numpy(float), jobs_s=float(bench["s"].sum()),
                shard_cpu=np.array([lg["cpu"] for lg in logs], float),
                shard_load=pd.to_numeric(shard["mean_load"], errors="coerce").to_numpy(float),
                other_jobs=bench[~bench["job"].str.contains("score_shard")][["job", "s", "max_rss", "cpu_time"]])


WIDTHS = re.compile(r"local forward for mutant rows \(windows of \[([\d, ]+)\] bp")


def null_pairs(root: Path, peak_set: str) -> int:
    """(segment, target) pairs the random-source null scored: the distinct pairs of its table (first task)."""
    from dfim.store import read_null

    shards = sorted((root / "results" / peak_set / "shards").glob("*.h5"))
    null = read_null(shards) if shards else pd.DataFrame()
    if "segment_start" not in null or not len(null):
        return 0
    null = null[null["task"] == null["task"].iloc[0]]
    return len(null.assign(w=null["mut_end"] - null["mut_start"]).drop_duplicates(
        ["window_id", "segment_start", "w", "resp_start", "resp_end"]))


def local_widths(root: Path, peak_set: str) -> list:
    """The window widths the shard logs say the local passes ran on."""
    out = set()
    for p in (root / "logs" / peak_set / "score_shard").glob("*.log"):
        for m in WIDTHS.findall(p.read_text()):
            out.update(int(v) for v in m.split(","))
    return sorted(out)


# ---- the machine ----------------------------------------------------------------------

def warm_motif_scanner() -> None:
    """Compile memelite's numba kernels once before any timed run: the first motif scan in a new
    environment compiles them (17 s of the first shard job's elements stage, seen on a new venv) and
    caches them in site-packages, so otherwise whichever configuration runs first would pay it."""
    from memelite import fimo

    x = np.zeros((1, 4, WINDOW), np.float32)
    x[0, 0] = 1.0
    fimo(str(MOTIFS), x, threshold=MOTIF_PVALUE)


def tf_devices() -> str:
    """The devices TensorFlow sees, asked in a child process (as a shard job would)."""
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import tensorflow as tf; "
            "print(tf.__version__, [d.device_type for d in tf.config.list_physical_devices()])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return r.stdout.strip().splitlines()[-1]


# ---- the report -----------------------------------------------------------------------

SPLIT_ORDER = ["model load", "scorer build", "first batch (tracing)", "reading windows and sequences", "elements",
               "observed scoring", "null scoring", "ISM double mutants", "writing", "other"]


def per_window(r: dict) -> dict:
    return {k: r["stages"].get(k, 0.0) / max(1, r["kept"]) for k in SPLIT_ORDER}


def report(results: list[dict], lin: tuple | None, args, machine: dict) -> str:
    main = [r for r in results if r["n_peaks"] == args.windows]
    by = {r["name"]: r for r in main}
    L = ["# Genome benchmark: the workflow on Basset-sized windows with motif sources", "",
         f"Command: `make bench-genome` (`bench/genome/run.py --windows {args.windows}"
         f"{f' --shard-size {args.shard_size}' if args.shard_size else ''} --cores {args.cores} --configs {','.join(by)}"
         f"{' --linearity' if lin else ''}`), {machine['date']}, {machine['minutes']:.0f} min.", "",
         "## Machine", "",
         f"- CPU: {machine['cpu']}, {os.cpu_count()} cores; Snakemake `--cores {args.cores}`; the score rule "
         "asks for 2 threads, so with 2 cores one shard job runs at a time.",
         f"- TensorFlow {machine['tf']} (physical devices TensorFlow lists; no GPU means CPU only).",
         f"- Load average (1 min) at start {machine['load'][0]:.2f}, at end {machine['load'][1]:.2f}. The machine is "
         "shared with other jobs: wall-clock rates are lower than on an idle machine, by an amount not measured "
         "here; the ratio of two configurations run back to back is less affected than either rate.", "",
         "## Inputs", "",
         f"- Synthetic genome: two contigs of i.i.d. bases (42 % GC); {args.windows} narrowPeak peaks, one every "
         f"{SPACING} bp, each with {PLANTED} planted PWM draws of the 5 demo motifs (resources/demo/motifs.meme, "
         "random strand) within 300 bp of its summit; windows are the 1000 bp around each summit.",
         "- Model: Basset-sized (bench/speed/models.py `basset`: 1000 bp, conv 300x19, 200x11, 200x7, dense "
         "1000/1000, 164 outputs, random weights), task 0, pre-activation target.",
         f"- Elements: `mode: motifs`, `motif_pvalue: {MOTIF_PVALUE:g}`; every source is also a target.",
         "- Configurations (overlays on the shipped config/config.yaml's importance, mutation, null and pvalue "
         "sections):"]
    for name in by:
        L.append(f"  - `{name}`: {CONFIGS[name] or 'the shipped defaults'}; importance "
                 f"{by[name]['cfg']['importance']}, null {by[name]['cfg']['null']}.")
    L += ["", "## Throughput", "",
          "| config | windows kept | shards | sources / window | sequences scored / window | null sequences / window "
          "| load avg. at start / end | wall time (s) | windows / s | shard jobs, sum (s) | shard CPU-s / window | shard jobs' mean CPU use "
          "| shard job peak RSS, median / max (MB) |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in main:
        k = max(1, r["kept"])
        scored = sum(r["scored"].values())
        if r["cfg"]["null"]["kind"] == "random_source":
            null_seq = f"{r['segments'] / k:.1f} segment mutants"
        else:
            null_seq = f"{r['scored'].get('scoring (null windows)', 0) / k:.1f} ({r['cfg']['null']['shuffles']} shuffled windows + their sources)"
        L.append(f"| {r['name']} | {r['kept']} | {r['n_shards']} | {r['sources'] / k:.2f} | {scored / k:.1f} | "
                 f"{null_seq} | {r['load'][0]:.2f} / {r['load'][1]:.2f} | {r['wall']:.0f} | {r['kept'] / r['wall']:.3f} | {r['shard_s'].sum():.0f} | "
                 f"{np.nansum(r['shard_cpu']) / k:.2f} | {np.nanmean(r['shard_load']):.0f} % | "
                 f"{np.median(r['shard_rss']):.0f} / {r['shard_rss'].max():.0f} |")
    if "new" in by and "previous" in by:
        a, b = by["new"], by["previous"]
        ratio = (a["kept"] / a["wall"]) / (b["kept"] / b["wall"])
        L += ["", f"**Speed-up `new` / `previous`** in windows/s of the whole workflow: **{ratio:.2f}x** "
              f"({a['kept'] / a['wall']:.3f} vs {b['kept'] / b['wall']:.3f} windows/s, run back to back). "
              f"Scoring stages only (observed + null + ISM, per window, wall): "
              f"{_scoring(b) / _scoring(a):.2f}x. In shard CPU-seconds per window, which other work on the "
              f"machine slows less than wall time: {_cpu(b) / _cpu(a):.2f}x."]
    L += ["", "*Shard CPU-s* is the process CPU time (every thread) each shard job logs at its end "
          "(`time.process_time()`, imports included). *Mean CPU use* is Snakemake's benchmark `mean_load`, sampled "
          "(every second for the first 30 s of a job, then every 30 s), as is its peak RSS, which may miss a short "
          "peak. A mean CPU use below 200 % means the job's two threads did not have two cores to themselves "
          "(other jobs on the machine, or serial Python parts)."]
    L += ["", "*Sequences scored* = rows through the importance scorer (originals + source mutants + null rows), "
          "from the shard logs' progress lines; each is scored against the config's references (`gc`: one "
          "reference shared by every row; `shuffle`: its window's 10 shuffled references, the backward pass run once "
          "per reference). Rows are not the whole cost: each distinct shuffled reference set runs its 10 references "
          "forward once per batch it appears in, and the shuffled null has 1 + shuffles sets per window (each "
          "shuffled copy has its own references) where the random-source null has 1. With one shared reference, "
          "the native scorer computes a mutant's convolutions only where it differs from its original "
          "(`dfim.native.locality`), and carries the random-source null's segment mutants as windows forward "
          "and back, each scored on the targets of the pairs that picked it (`dfim.native.targeted`).", ""]
    L += ["## Seconds per window, by stage", "",
          "From the stage split each shard job logs at its end (summed over shards, divided by windows kept). "
          "Importance batches are timed one by one; with the random-source null, observed and null rows share a "
          "pass, so a batch holding both, and the shared steps of the pass (mutants, references, maps, single-"
          "mutant ISM), are split between them by rows. The job's first batch (it traces and compiles the "
          "scorer) is its own column.", "",
          "| config | " + " | ".join(SPLIT_ORDER) + " | shard job total | kernel fraction |",
          "|---|" + "---|" * (len(SPLIT_ORDER) + 2)]
    for r in main:
        pw = per_window(r)
        kern = sum(r["stages"].get(k, 0.0) for k in ("first batch (tracing)", "observed scoring", "null scoring",
                                                       "ISM double mutants"))
        L.append(f"| {r['name']} | " + " | ".join(f"{pw[k]:.3f}" for k in SPLIT_ORDER)
                 + f" | {r['shard_total'] / max(1, r['kept']):.3f} | {100 * kern / max(1e-9, r['shard_total']):.0f} % |")
    L += ["", "*Kernel fraction*: first batch + observed + null scoring + ISM double mutants over the shard jobs' "
          "own total; observed/null scoring include the per-pass mutants, references and maps (small next to the "
          "batches), so this is an upper bound on the pure TensorFlow time.", "", "Where the rest of the wall time goes:", ""]
    for r in main:
        others = r["other_jobs"]
        overhead = r["wall"] - r["jobs_s"]
        fixed = sum(r["stages"].get(k, 0.0) for k in ("model load", "scorer build"))
        L.append(f"- `{r['name']}`: wall {r['wall']:.0f} s = shard jobs {r['shard_s'].sum():.0f} s (of which model "
                 f"load + scorer build {fixed:.0f} s, writing {r['stages'].get('writing', 0.0):.0f} s) + other jobs "
                 f"{others['s'].sum():.0f} s ("
                 + ", ".join(f"{j.removesuffix('.tsv')} {s:.0f} s" for j, s in zip(others["job"], others["s"]))
                 + f") + Snakemake between jobs {overhead:.0f} s (wall minus the sum of job times; negative when "
                 "jobs overlapped on the cores).")
    if lin:
        small, big = lin
        t_small, t_big = small["shard_s"].sum(), big["shard_s"].sum()
        c_small, c_big = float(np.nansum(small["shard_cpu"])), float(np.nansum(big["shard_cpu"]))
        sc_small, sc_big = _scoring(small) * small["kept"], _scoring(big) * big["kept"]
        L += ["", "## Linearity in windows", "",
              f"`new` on {small['kept']} and {big['kept']} windows (ratio {big['kept'] / max(1, small['kept']):.2f}; "
              "time linear in windows would give the same ratio for the scoring stages, less for whole jobs, which "
              "carry fixed costs):", "",
              "| measure | small run | large run | ratio |", "|---|---|---|---|",
              f"| scoring stages, wall s (observed + null + ISM, from the shard logs) | {sc_small:.0f} | {sc_big:.0f} | "
              f"{sc_big / max(1e-9, sc_small):.2f} |",
              f"| shard jobs, process CPU-s | {c_small:.0f} | {c_big:.0f} | {c_big / max(1e-9, c_small):.2f} |",
              f"| shard jobs, wall s | {t_small:.0f} | {t_big:.0f} | {t_big / max(1e-9, t_small):.2f} |",
              f"| whole workflow, wall s | {small['wall']:.0f} | {big['wall']:.0f} | "
              f"{big['wall'] / small['wall']:.2f} |", "",
              f"The two runs had load averages {small['load'][0]:.2f} / {small['load'][1]:.2f} and "
              f"{big['load'][0]:.2f} / {big['load'][1]:.2f} (start / end): wall ratios carry that difference; "
              "the small run has 1 shard job, the large one "
              f"{big['n_shards']}, each paying model load, scorer build and tracing once."]
        ns, nb = small["n_shards"], big["n_shards"]
        det = ns * big["kept"] - nb * small["kept"]
        if det:  # cpu = jobs * per_job + windows * per_window, solved from the two runs
            per_w = (ns * c_big - nb * c_small) / det
            per_j = (c_small - small["kept"] * per_w) / ns
            L += ["", f"Solving shard CPU-s = jobs x fixed + windows x per-window from the two runs: fixed "
                  f"{per_j:.0f} CPU-s per shard job, {per_w:.2f} CPU-s per window (the load-insensitive check of "
                  "linearity: the per-window part is what grows with windows)."]
    L += projection(main, lin, args, WORK / "basset.h5")
    return "\n".join(L) + "\n"


def _cpu(r: dict) -> float:
    """Shard CPU-seconds per window (the process CPU time each shard job logs)."""
    return float(np.nansum(r["shard_cpu"])) / max(1, r["kept"])


def _scoring(r: dict) -> float:
    """Seconds per window of the scoring stages (observed, null, ISM double mutants)."""
    return sum(r["stages"].get(k, 0.0) for k in ("observed scoring", "null scoring", "ISM double mutants")) / max(1, r["kept"])


#: assumed, not measured: sustained float32 rate of one data-centre GPU on this workload
GPU_ASSUMED_TFLOPS = 10.0
#: nominal GFLOP of one Basset forward pass (bench/results/speed.md: 542 MFLOP); a scored
#: sequence costs a forward and an input-gradient pass per reference (2 x), and every
#: distinct reference set runs its references forward once per batch it appears in
GFLOP_FORWARD = 0.542
N_REFS = 10
N_PROJECTED = 100_000
SLOTS = {"2-core machine": 1, "one 16-core node": 8, "50 nodes x 16 cores": 400}  # 2-thread shard jobs at a time


def single_jobs_fit(lin: tuple | None):
    """Per single job (windows, validate, gather, plots, tracks: one thread each), a line
    ``cpu_s = a + b * windows`` through `new`'s two runs (--linearity), slope clipped at 0;
    None without them."""
    if not lin:
        return None
    (a, b) = lin
    cpu = {}
    for r in (a, b):
        for job, c in zip(r["other_jobs"]["job"], pd.to_numeric(r["other_jobs"]["cpu_time"], errors="coerce")):
            if "genome_index" not in job:  # made once and shared by the runs
                cpu.setdefault(job, []).append((r["kept"], float(c)))
    fits = {}
    for job, pts in cpu.items():
        if len(pts) == 2 and pts[0][0] != pts[1][0]:
            (n0, c0), (n1, c1) = pts
            slope = max(0.0, (c1 - c0) / (n1 - n0))
            fits[job] = (max(0.0, c1 - slope * n1), slope)
    return fits


def singles_at(r: dict, fits, n: int) -> float:
    """Projected seconds of the single jobs at ``n`` windows: the fits, or linear from zero."""
    if fits:
        return sum(a + b * n for a, b in fits.values())
    return float(pd.to_numeric(r["other_jobs"]["cpu_time"], errors="coerce").sum()) * n / max(1, r["kept"])


def targeted_gflop(r: dict, model: Path) -> float | None:
    """GFLOP per window of the segment rows on the targeted windows: ``call_flops`` of bench/speed/targets.py
    (the convolutions and dense products they execute) for the run's segments and (segment, target) pairs,
    at the widest window the shard logs name, with the originals' forward share of a 256-row batch."""
    if not r.get("widths"):
        return None
    sys.path.insert(0, str(REPO / "bench" / "speed"))
    from targets import call_flops

    from dfim.importance import make_scorer
    from dfim.models import load_model

    w = max(r["widths"])
    with make_scorer(load_model(model), "deeplift", "native") as s:
        B_m = r["segments"]
        flops = call_flops(s, w, w, int(np.ceil(B_m / 252)) * 4, B_m, r["pairs"])
    return flops / 1e9 / max(1, r["kept"])


def projection(main: list[dict], lin: tuple | None, args, model: Path) -> list[str]:
    fits = single_jobs_fit(lin)
    L = ["", f"## Projection: {N_PROJECTED:,} peaks", "",
         "An estimate, not a measurement. Shard jobs: the measured wall seconds of the shard jobs per window kept "
         "(Snakemake benchmark `s`, at each config's shard_size, so each job's fixed model load, scorer build and "
         f"tracing are included at that shard size) x shard_size = one job; {N_PROJECTED:,} windows / shard_size "
         "jobs run in waves of as many 2-thread jobs as the cores "
         "allow (1 on 2 cores, 8 on a 16-core node, 400 on 50 such nodes), assuming perfect scaling: no memory-"
         "bandwidth contention between jobs and no scheduler queueing (add the cluster's per-wave latency; "
         "bench/results/slurm.md). Single jobs (windows, validate, gather, plots, tracks; one each, not spread "
         "over nodes): "
         + ("for each, a line through its CPU-seconds in `new`'s two runs (--linearity; slope clipped at 0: "
            + ", ".join(f"{j.removesuffix('.tsv')} {a:.1f} s + {b * 1000:.2f} s per 1000 windows"
                        for j, (a, b) in fits.items())
            + "), the same for every config." if fits else "their CPU-seconds scaled linearly with windows from "
            "zero (an upper bound; run with --linearity for fixed parts)."),
         "The machine was shared (load average above), so the measured seconds, and with them these projections, "
         "are slower than on dedicated cores.", "",
         "Each cell gives two figures: from the measured shard-job wall seconds, and from the shard jobs' CPU-"
         "seconds / 2 (as if each job's 2 threads had two free cores; optimistic: serial Python parts cannot use "
         "both).", "",
         "| config | shard-job s / window: wall / CPU÷2 (measured) | " + " | ".join(SLOTS)
         + " | one GPU (not measured; bound) |",
         "|---|---|" + "---|" * len(SLOTS) + "---|"]
    for r in main:
        k = max(1, r["kept"])
        per_window = r["shard_s"].sum() / k
        per_window_cpu = _cpu(r) / 2
        shard = int(r["cfg"]["shard_size"])
        jobs = int(np.ceil(N_PROJECTED / shard))
        singles = singles_at(r, fits, N_PROJECTED)
        cells = [" / ".join(_duration(np.ceil(jobs / slots) * w * shard + singles)
                            for w in (per_window, per_window_cpu)) for slots in SLOTS.values()]
        rows = sum(r["scored"].values()) / k
        ref_sets = 1 + (r["cfg"]["null"]["shuffles"] if r["cfg"]["null"]["kind"] != "random_source" else 0)
        # a shared reference (gc, zero) is one forward per batch: nothing per window
        n_refs = r["cfg"]["importance"]["n_refs"] if r["cfg"]["importance"]["reference"] == "shuffle" else 1
        gflop = rows * n_refs * 2 * GFLOP_FORWARD + (ref_sets * n_refs * GFLOP_FORWARD if n_refs > 1 else 0)
        targeted = targeted_gflop(r, model) if n_refs == 1 and r.get("pairs") else None
        if targeted is not None:  # the segment rows at what the targeted windows execute
            gflop += targeted - r["segments"] / k * 2 * GFLOP_FORWARD
        gpu_s = gflop * N_PROJECTED / (GPU_ASSUMED_TFLOPS * 1e3)
        L.append(f"| {r['name']} | {per_window:.2f} / {per_window_cpu:.2f} | " + " | ".join(cells)
                 + f" | scoring ≥ {_duration(gpu_s)} ({gflop:.0f} GFLOP / window) + single jobs {_duration(singles)} |")
    L += ["", "GPU column: there is no GPU here, so nothing was measured. It is a FLOP bound for the importance "
          f"passes only: per window, sequences scored x references (10 shuffled, or 1 shared) x 2 x "
          f"{GFLOP_FORWARD} GFLOP (forward + input gradient of Basset, nominal, bench/results/speed.md; the local "
          "forward pass of the originals' and the sources' mutants is not counted as a saving), except that the "
          "random-source null's segment rows, with one shared reference, count what the targeted windows execute "
          "for them (`call_flops` of bench/speed/targets.py on the run's segments and (segment, target) pairs, "
          "read from the shards' null tables) + distinct shuffled reference sets x "
          f"{N_REFS} x "
          f"{GFLOP_FORWARD} GFLOP (their forward passes: 1 set per window for the random-source null, 1 + shuffles "
          f"for the shuffled nulls), x {N_PROJECTED:,} windows, at an **assumed** {GPU_ASSUMED_TFLOPS:g} TFLOP/s "
          "sustained: an assumption, not a measured or published rate for this code. ISM forward passes, model "
          "load, tracing and data movement are left out, so the real time is longer; the single jobs run on CPU."]
    return L


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=200)
    ap.add_argument("--shard-size", type=int, default=None,
                    help="windows per shard job for every config (default: each config's own, shipped 200)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--configs", default="new,new-shards-50,previous,new-shuffled-refs",
                    help=f"comma-separated, from {list(CONFIGS)}")
    ap.add_argument("--linearity", action="store_true", help="also run `new` on a quarter of the windows")
    ap.add_argument("--report-only", action="store_true",
                    help="rebuild genome.md from the run directories of an earlier run with the same options")
    args = ap.parse_args()
    names = [c for c in args.configs.split(",") if c]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)} (or add one to CONFIGS)")
    if args.report_only:
        return rebuild_report(names, args)
    t0 = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    model = make_model(WORK / "basset.h5")
    peaks = WORK / f"peaks_{args.windows}.narrowPeak"
    make_genome_and_peaks(WORK / "genome.fa", peaks, args.windows)
    for p in (WORK / "genome.fa.fai",):
        p.unlink(missing_ok=True)  # made again by the workflow's own rule
    warm_motif_scanner()
    machine = {"cpu": cpu_model(), "tf": tf_devices(), "load": [os.getloadavg()[0]]}
    print("machine:", machine, flush=True)
    results = [run_config(name, CONFIGS[name], peaks, args.windows, args, model) for name in names]
    lin = None
    if args.linearity:
        q = max(1, args.windows // 4)
        small_peaks = WORK / f"peaks_{q}.narrowPeak"
        first_peaks(peaks, small_peaks, q)
        small = run_config("new", CONFIGS["new"], small_peaks, q, args, model)
        big = next((r for r in results if r["name"] == "new"), None)
        if big is None:
            big = run_config("new", CONFIGS["new"], peaks, args.windows, args, model)
            results.append(big)
        lin = (small, big)
    machine["load"].append(os.getloadavg()[0])
    machine["minutes"] = (time.perf_counter() - t0) / 60
    machine["date"] = time.strftime("%Y-%m-%d %H:%M")
    (WORK / f"machine_{args.windows}.json").write_text(json.dumps(machine))
    OUT.write_text(report(results, lin, args, machine))
    print("wrote", OUT)


def rebuild_report(names: list[str], args) -> None:
    machine = json.loads((WORK / f"machine_{args.windows}.json").read_text())
    results = [load_run(WORK / f"run_{name}_{args.windows}") for name in names]
    lin = None
    if args.linearity:
        small = load_run(WORK / f"run_new_{max(1, args.windows // 4)}")
        lin = (small, next(r for r in results if r["name"] == "new"))
    OUT.write_text(report(results, lin, args, machine))
    print("wrote", OUT)


if __name__ == "__main__":
    main()

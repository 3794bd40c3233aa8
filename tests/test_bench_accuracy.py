"""Keeps the accuracy benchmark (bench/accuracy/run.py) working: its --quick miniature runs
end to end and writes a well-formed report. It does not assert accuracy (2 epochs)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "accuracy" / "run.py"
sys.path.insert(0, str(RUN.parent))


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("accuracy")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _table_rows(md: str, header_start: str):
    lines = md.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("*") for c in line.strip().strip("|").split("|")])
    return rows


def test_quick_run_writes_report_and_plots(quick_report):
    md = (quick_report / "accuracy.md").read_text()
    assert "Quick mode" in md
    for name in ("accuracy_roc.png", "accuracy_pvalues.png"):
        assert (quick_report / name).stat().st_size > 0
    rows = _table_rows(md, "| method | AND AUROC")
    names = [r[0] for r in rows]
    assert any(n.startswith("deeplift [deeplift, ref gc]") for n in names)
    assert any(n.startswith("grad_x_input") for n in names)
    assert any(n.startswith("ISM epistasis") for n in names)
    for r in rows:
        auroc, auprc = float(r[1]), float(r[2])
        assert 0.0 <= auroc <= 1.0 and 0.0 <= auprc <= 1.0


def test_quick_run_calibration_table(quick_report):
    md = (quick_report / "accuracy.md").read_text()
    rows = _table_rows(md, "| p-value kind | null level")
    settings = {(r[0], r[1].split(" ")[0]) for r in rows}
    assert settings >= {(k, lv) for k in ("empirical", "fit") for lv in ("per_map", "per_task", "global")}
    for r in rows:  # kind, level, KS, D+, p<0.01, p<0.05, q<0.05
        assert 0.0 <= float(r[2]) <= 1.0 and 0.0 <= float(r[3]) <= 1.0
        assert 0.0 <= float(r[6].rstrip(" %")) <= 100.0
    assert re.search(r"Target 1, .*: (MET|NOT MET)", md)
    assert re.search(r"Target 2, .*: (MET|NOT MET)", md)


def test_randomized_pvalues_are_uniform_with_ties():
    import metrics

    rng = np.random.default_rng(0)
    draw = lambda n: np.where(rng.random(n) < 0.5, 0.0, rng.random(n))  # noqa: E731 - half ties at 0
    p = metrics.randomized_empirical(draw(4000), draw(40000), seed=1)
    assert metrics.excess_over_uniform(p) < 0.03 and abs(np.mean(p < 0.05) - 0.05) < 0.015


def test_metrics_match_definitions():
    import metrics

    y = np.array([1, 0, 1, 0, 0], bool)
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.7])  # one tie across classes
    fpr, tpr, auc = metrics.roc_curve(y, s)
    # pairs (pos, neg): 0.9 beats all 3; 0.7 beats 0.1, ties 0.7, loses to 0.8 -> (3 + 1.5) / 6
    assert auc == pytest.approx(4.5 / 6)
    assert fpr[0] == 0 and tpr[-1] == 1
    # ranked: 0.9 (+) | 0.8 (-) | 0.7 (+,-) | 0.1 (-): AP = 0.5 * 1 + 0.5 * 2/4
    assert metrics.average_precision(y, s) == pytest.approx(0.75)
    assert metrics.roc_curve(y, np.where(y, 1.0, 0.0))[2] == 1.0

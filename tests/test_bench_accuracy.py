"""Keeps the accuracy benchmark (bench/accuracy/run.py) working: its --quick miniature runs
end to end through the product's scoring and tests and writes a well-formed report. It does
not assert accuracy (2 epochs), but it does check what must hold at any size: the product's
double-mutant epistasis equals the benchmark's own, the observed scores do not depend on
the null, and every rate is a rate."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "accuracy" / "run.py"
sys.path.insert(0, str(RUN.parent))
# every candidate the benchmark compares, the GC-reference default among them
KEYS = {"rs", "rs0", "sh0", "sh", "rsgc", "rsgc5"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("accuracy")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
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
    for name in ("accuracy_calls.png", "accuracy_roc.png", "accuracy_pvalues.png", "accuracy_truth.png"):
        assert (quick_report / name).stat().st_size > 0
        assert f"]({name})" in md
    rows = _table_rows(md, "| target |")
    assert len(rows) >= 6
    for r in rows:
        assert r[2] in ("MET", "NOT MET", "—") and r[4] in ("MET", "NOT MET", "—", "same")
    names = {r[0] for r in _table_rows(md, "| model | seed | non-int called")}
    assert names == {"reg_fact", "and"}
    cands = {r[0].strip("`") for r in _table_rows(md, "| key | candidate")}
    assert cands == KEYS


def test_quick_run_metrics(quick_report):
    rows = pd.read_csv(quick_report / "accuracy_rows.csv")
    info = pd.read_csv(quick_report / "accuracy_models.csv")
    assert set(rows["candidate"]) == KEYS
    assert set(rows["model"]) == {"reg_fact", "and", "noise (and)"}
    for col in ("nonint_called", "int_called", "design_int_called", "dis_tgt_called", "frac_p05", "ks",
                "int_strong_called", "int_weak_called", "frac_p05_int", "frac_p05_nonint"):
        v = rows[col].dropna().to_numpy(float)
        assert ((v >= 0) & (v <= 1)).all(), col
    # strong and weak interacting pairs split the interacting class, and their rates average to its rate
    assert (rows["n_int_strong"] + rows["n_int_weak"] == rows["n_int"]).all()
    both = rows[(rows["n_int_strong"] > 0) & (rows["n_int_weak"] > 0)]
    mix = (both["int_strong_called"] * both["n_int_strong"] + both["int_weak_called"] * both["n_int_weak"]) / both["n_int"]
    assert np.allclose(mix, both["int_called"])
    assert (rows["pair_dis_called"] <= rows["pair_dis_n"]).all()
    assert (rows["min_p"] > 0).all() and (rows["min_p"] <= 1).all()
    # the product's ism_epistasis is the benchmark's double-mutant epistasis (bench/accuracy/epistasis.py)
    assert (info["epi_diff"] < 1e-4).all()
    # the observed FIS do not depend on which null is scored with them
    assert (info["obs_diff"] < 1e-5).all()
    # the AND model's ranking metrics are computed
    a = info[info["model"] == "and"].iloc[0]
    assert 0 <= a["auroc_fis"] <= 1 and 0 <= a["auroc_ism"] <= 1
    assert (info["mutants_random_source"] > 0).all() and (info["mutants_dinuc"] > 0).all()


def test_model_truth_classes():
    import truth

    fis = pd.DataFrame(dict(
        task=0, seq=0, mut_name=["A", "B", "A", "C", "B", "C"], resp_name=["B", "A", "C", "A", "C", "B"],
        mut_start=[0, 30, 0, 60, 30, 60], mut_end=[10, 40, 10, 70, 40, 70],
        resp_start=[30, 0, 60, 0, 60, 30], resp_end=[40, 10, 70, 10, 70, 40],
        pred_change=[1.0, 0.5, 1.0, 0.02, 0.5, 0.02], score=0.0,
        ism_epistasis=[0.5, 0.5, 0.005, 0.005, 0.1, 0.1]))
    f = truth.annotate(fis, distractors=("C",))
    # m = max |single effect|: A-B 1.0, A-C 1.0, B-C 0.5
    assert f["m"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert f["truth_int"].tolist() == [True, True, False, False, False, False]     # 50 % > 30 %
    assert f["truth_nonint"].tolist() == [False, False, True, True, False, False]  # 0.5 % < 1 %; B-C 20 %: neither
    assert f["design_int"].tolist() == [True, True, False, False, False, False]
    assert f["dis_tgt"].tolist() == [False, False, True, False, True, False]
    assert f["gap"].tolist() == [20, 20, 50, 50, 20, 20]
    # strength: |e| over the window's largest single effect (A's 1.0); A-B 0.5 is strong, nothing else interacts
    assert f["e_top"].tolist() == pytest.approx([0.5, 0.5, 0.005, 0.005, 0.1, 0.1])
    assert f["truth_strong"].tolist() == [True, True, False, False, False, False]
    sp = truth.annotate(fis, spacing=True, max_gap=10)
    assert not sp["design_int"].any()
    assert not truth.annotate(fis, control=True)["design_int"].any()


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
    assert 0.0 <= metrics.ks_pvalue(np.linspace(0.01, 0.99, 50)) <= 1.0

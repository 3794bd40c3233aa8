"""The bundled demo (the default config) runs end to end and finds the planted pair first."""

import shutil

import pandas as pd

from test_workflow import REPO, run_smk

TRUE_PAIR = {"GATA1", "TAL1::TCF3"}


def test_demo_ranks_the_true_motif_pair_first(tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    shutil.copytree(REPO / "resources" / "demo", tmp_path / "resources" / "demo")
    run_smk(tmp_path, "--cores", "2")
    pairs = pd.read_csv(tmp_path / "results" / "demo" / "motif_pairs.tsv", sep="\t")
    top = pairs.iloc[0]
    assert {top.source_name, top.target_name} == TRUE_PAIR
    # both directions of the planted pair beat every pair involving a distractor
    is_true = pairs.apply(lambda r: {r.source_name, r.target_name} == TRUE_PAIR, axis=1)
    assert pairs.index[is_true].max() < pairs.index[~is_true & (pairs.source_name != pairs.target_name)].min()
    windows = pd.read_csv(tmp_path / "results" / "demo" / "windows.tsv", sep="\t")
    assert (windows["status"] == "kept").sum() == len(windows) == 100

"""The README's Python API example runs as written (with its files made here)."""

import re
from pathlib import Path

import numpy as np

from conftest import random_onehot
from models import small_cnn

REPO = Path(__file__).resolve().parents[1]


def test_readme_api_example_runs(tmp_path, rng, monkeypatch):
    text = (REPO / "README.md").read_text()
    code = re.search(r"## The Python API.*?```python\n(.*?)```", text, re.S).group(1)
    small_cnn(100, tmp_path / "model.h5")
    np.save(tmp_path / "seqs.npy", random_onehot(rng, 2, 100))
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)
    fis = ns["fis"]
    assert len(fis) == 1 and np.isfinite(fis["score"].iloc[0])
    assert ns["delta"].shape == (1, 1, 100, 4)

"""The PyTorch backend (the optional torch extra): loading, tasks, agreement with the Keras path, the workflow."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tangermeme")

from conftest import random_onehot

from dfim.errors import ModelError
from dfim.importance import compute_importance, make_scorer
from dfim.models import load_model

L = 40


def keras_and_torch_cnn(tmp_path, seed=0, pool=True):
    """The same Conv1D -> ReLU -> MaxPool -> Flatten -> Dense(2, sigmoid) in tf_keras (.h5) and PyTorch (.pt)
    (without the MaxPool for ``pool=False``)."""
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    km = keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(6, 5, activation="relu"),
        *([keras.layers.MaxPooling1D(2)] if pool else []),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="sigmoid"),
    ])
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.5, (5, 4, 6)).astype(np.float32)
    bias = rng.normal(0, 0.1, 6).astype(np.float32)
    km.layers[0].set_weights([kernel, bias])
    Lp = (L - 4) // 2 if pool else L - 4
    W = rng.normal(0, 0.3, (Lp * 6, 2)).astype(np.float32)
    b = rng.normal(0, 0.1, 2).astype(np.float32)
    km.layers[-1].set_weights([W, b])
    km.save(tmp_path / "cnn.h5")

    tm = torch.nn.Sequential(torch.nn.Conv1d(4, 6, 5), torch.nn.ReLU(), *([torch.nn.MaxPool1d(2)] if pool else []),
                             torch.nn.Flatten(), torch.nn.Linear(Lp * 6, 2), torch.nn.Sigmoid())
    with torch.no_grad():
        tm[0].weight.copy_(torch.from_numpy(kernel.transpose(2, 1, 0).copy()))  # Keras (k, in, out) -> (out, in, k)
        tm[0].bias.copy_(torch.from_numpy(bias))
        # Keras flattens (L', C) as i*C + c, torch flattens (C, L') as c*L' + i
        Wt = W.reshape(Lp, 6, 2).transpose(2, 1, 0).reshape(2, 6 * Lp)
        tm[-2].weight.copy_(torch.from_numpy(Wt.copy()))
        tm[-2].bias.copy_(torch.from_numpy(b))
    tm.input_length = L
    torch.save(tm, tmp_path / "cnn.pt")
    return tmp_path / "cnn.h5", tmp_path / "cnn.pt", tm


@pytest.mark.parametrize("pool", [True, False])
def test_torch_and_keras_agree_on_the_same_weights(tmp_path, pool):
    """rescale (MaxPool routed as the deeplift package routes it) and grad_x_input are the Keras path's numbers;
    deeplift (tangermeme's MaxPool rule) is too without a MaxPool, and with one sums exactly to f(x) - f(r)."""
    kpath, tpath, _ = keras_and_torch_cnn(tmp_path, pool=pool)
    km, tm = load_model(kpath), load_model(tpath)
    assert tm.length == L and tm.final_activation == "sigmoid" and tm.check_tasks([0, 1]) == [0, 1]
    X = random_onehot(np.random.default_rng(1), 6, L)
    for target in ("preactivation", "output"):
        np.testing.assert_allclose(tm.logits(X, 4, target), km.logits(X, 4, target), atol=1e-5)
    worst = 0.0
    cases = [("rescale", "shuffle"), ("rescale", "gc"), ("grad_x_input", "zero"), ("grad_x_input", "gc")]
    cases += [] if pool else [("deeplift", "shuffle"), ("deeplift", "gc")]
    for method, reference in cases:
        kw = {"method": method, "reference": reference, "tasks": [0, 1], "n_refs": 3, "batch_size": 8}
        ki = compute_importance(km, X, backend="native", **kw)
        ti = compute_importance(tm, X, backend="torch", **kw)
        err = np.abs(ki.hyp - ti.hyp).max()
        worst = max(worst, err)
        assert err < 1e-4, (method, reference, err)
        assert ti.tasks == ki.tasks
    # the deeplift package itself on the Keras file gives the same numbers
    di = compute_importance(km, X, backend="deeplift", method="rescale", reference="gc", tasks=[1], batch_size=8)
    ti = compute_importance(tm, X, backend="torch", method="rescale", reference="gc", tasks=[1], batch_size=8)
    assert np.abs(di.hyp - ti.hyp).max() < 1e-4
    print(f"pool={pool}: max |keras - torch| hypothetical score {worst:.2e} (max |score| {np.abs(ki.hyp).max():.2f})")
    # deeplift: summation to delta against one reference per sequence
    R = random_onehot(np.random.default_rng(7), 6, L)
    with make_scorer(tm, "deeplift", "torch") as s:
        m = s.multipliers(X, R, 0, 8)
    np.testing.assert_allclose((m * (X - R)).sum((1, 2)), tm.logits(X)[:, 0] - tm.logits(R)[:, 0], atol=1e-4)


def test_torchscript_loads_and_takes_grad_x_input_only(tmp_path):
    kpath, _, module = keras_and_torch_cnn(tmp_path)
    torch.jit.save(torch.jit.script(module), tmp_path / "cnn.torchscript")
    sm, km = load_model(tmp_path / "cnn.torchscript"), load_model(kpath)
    assert sm.scripted and sm.length == L
    X = random_onehot(np.random.default_rng(2), 3, L)
    np.testing.assert_allclose(sm.logits(X), km.logits(X), atol=1e-5)
    a = compute_importance(sm, X, backend="torch", method="grad_x_input", reference="zero", tasks=[0])
    b = compute_importance(km, X, backend="native", method="grad_x_input", reference="zero", tasks=[0])
    assert np.abs(a.hyp - b.hyp).max() < 1e-4
    with pytest.raises(ModelError, match="TorchScript.*grad_x_input"):
        make_scorer(sm, "deeplift", "torch")


def test_backend_must_match_the_model(tmp_path):
    kpath, tpath, _ = keras_and_torch_cnn(tmp_path)
    with pytest.raises(ModelError, match="needs importance.backend: torch"):
        make_scorer(load_model(tpath), "deeplift", "native")
    with pytest.raises(ModelError, match="this is a Keras model"):
        make_scorer(load_model(kpath), "deeplift", "torch")
    with pytest.raises(ValueError, match="for backend 'torch'"):
        make_scorer(load_model(tpath), "integrated_gradients", "torch")


def test_clear_errors_for_what_cannot_be_loaded(tmp_path):
    _, _, module = keras_and_torch_cnn(tmp_path)
    torch.save(module.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(ModelError, match="state_dict.*Save the whole module"):
        load_model(tmp_path / "weights.pt")
    del module.input_length
    torch.save(module, tmp_path / "nolength.pt")
    with pytest.raises(ModelError, match="input_length"):
        load_model(tmp_path / "nolength.pt")
    # a module whose class lives in a file that is not on PYTHONPATH when DFIM loads it
    (tmp_path / "mynet.py").write_text(textwrap.dedent("""
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv1d(4, 1, 3)
                self.input_length = 20
            def forward(self, x):
                return self.conv(x).sum(-1)
    """))
    subprocess.run([sys.executable, "-c", "import torch, mynet; torch.save(mynet.Net(), 'net.pt')"], cwd=tmp_path,
                   check=True)
    with pytest.raises(ModelError, match="'mynet'.*PYTHONPATH"):
        load_model(tmp_path / "net.pt")
    sys.path.insert(0, str(tmp_path))
    try:
        assert load_model(tmp_path / "net.pt").length == 20
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("mynet", None)


def tiny_bpnet(path, L=100, seed=0):
    """bpnet-lite's BPNet, small: (profile (1, L - 40), counts (1,))."""
    from bpnetlite.bpnet import BPNet

    torch.manual_seed(seed)
    model = BPNet(n_filters=8, n_layers=2, n_outputs=1, n_control_tracks=0, trimming=20, verbose=False)
    model.input_length = L
    torch.save(model, path)
    return path


def test_bpnet_outputs_tasks_and_targets(tmp_path):
    pytest.importorskip("bpnetlite")
    m = load_model(tiny_bpnet(tmp_path / "bpnet.pt"))
    assert [o.name for o in m.outputs] == ["0", "1"]
    assert [o.width() for o in m.outputs] == [60, 1] and [o.width("profile") for o in m.outputs] == [1, 1]
    assert m.check_tasks(["1:0"]) == [60] and m.check_tasks([{"output": 1}], "profile") == [1]
    with pytest.raises(ModelError, match="unit 1 is past output 1"):
        m.check_tasks(["1:1"])
    X = random_onehot(np.random.default_rng(3), 4, 100)
    imp = compute_importance(m, X, backend="torch", method="deeplift", reference="shuffle", n_refs=2, tasks=["1:0"])
    # DeepLIFT's summation-to-delta: actual contributions sum to f(x) - mean_k f(r_k)
    from dfim.importance import make_references

    refs = make_references(X, "shuffle", n_refs=2)
    fx = m.logits(X)[:, 60]
    fr = m.logits(refs.reshape(-1, 100, 4))[:, 60].reshape(4, 2).mean(1)
    np.testing.assert_allclose(imp.actual[0].sum((1, 2)), fx - fr, atol=1e-4)
    prof = compute_importance(m, X, backend="torch", target="profile", reference="gc", tasks=["0:0", "1:0"])
    assert prof.hyp.shape == (2, 4, 100, 4) and np.isfinite(prof.hyp).all()


def test_bpnet_through_the_workflow(tmp_path):
    pytest.importorskip("bpnetlite")
    import pandas as pd
    from test_workflow import run_smk
    from workflow_data import make_inputs

    make_inputs(tmp_path, extra={"model": {"path": "bpnet.pt", "tasks": ["1:0"]},
                                 "importance": {"backend": "torch", "method": "deeplift", "reference": "gc"}})
    tiny_bpnet(tmp_path / "bpnet.pt")
    run_smk(tmp_path, "--cores", "2")
    inter = pd.read_csv(tmp_path / "results" / "tiny" / "interactions.tsv", sep="\t")
    assert len(inter) > 0 and np.isfinite(inter["score"]).all()

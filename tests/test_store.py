"""dfim.store: the indices of maps.h5 are global, and broken shards are named at gather."""

import h5py
import numpy as np
import pandas as pd
import pytest

from dfim.errors import InputError
from dfim.importance import Importance
from dfim.store import check_shard, gather_maps, write_shard

L, T = 6, 1


def shard(path, n_windows, n_sources, offset):
    """A shard of ``n_windows`` windows with ``n_sources`` sources each, one mutant per source;
    delta_tracks of mutant j is the constant ``offset + j`` so its gathered row can be recognised."""
    m = n_windows * n_sources
    key = pd.DataFrame({"mutant": np.arange(m), "spec": np.arange(m), "seq": np.repeat(np.arange(n_windows), n_sources),
                        "mut_start": np.zeros(m, int)})
    delta = (offset + np.arange(m, dtype=np.float32))[None, :, None, None] * np.full((T, m, L, 4), 0.25, np.float32)
    imp = Importance(np.zeros((T, n_windows, L, 4)), np.zeros((T, n_windows, L, 4)), [0])
    windows = pd.DataFrame({"window_id": [f"w{offset}_{i}" for i in range(n_windows)], "chrom": "1",
                            "start": np.arange(n_windows) * 10, "end": np.arange(n_windows) * 10 + L,
                            "index": np.arange(n_windows)})
    write_shard(path, windows=windows, X=np.zeros((n_windows, L, 4), np.float32), importance=imp, delta=delta,
                key=key, fis=pd.DataFrame({"score": [1.0]}), null=pd.DataFrame({"score": [1.0]}),
                mutant_contrib=np.zeros((T, m, L, 4)))


def test_mutant_and_spec_index_the_gathered_arrays(tmp_path):
    shard(tmp_path / "0.h5", 2, 3, offset=0)
    shard(tmp_path / "1.h5", 1, 2, offset=6)
    gather_maps([tmp_path / "0.h5", tmp_path / "1.h5"], tmp_path / "maps.h5", pd.DataFrame({"score": [1.0]}))
    with h5py.File(tmp_path / "maps.h5") as f:
        mutant, spec, seq = f["mutants/mutant"][()], f["mutants/spec"][()], f["mutants/seq"][()]
        tracks = f["delta_tracks"][()]
        wid = f["window_id"][()].astype(str)
        mwid = f["mutants/window_id"][()].astype(str)
    np.testing.assert_array_equal(mutant, np.arange(8))
    np.testing.assert_array_equal(spec, np.arange(8))
    np.testing.assert_array_equal(seq, [0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(tracks[0, mutant, 0], np.arange(8))  # mutant j is row j of delta_tracks
    np.testing.assert_array_equal(wid[seq], mwid)


def test_truncated_shard_is_named(tmp_path):
    shard(tmp_path / "7.h5", 1, 1, offset=0)
    data = (tmp_path / "7.h5").read_bytes()
    (tmp_path / "7.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"shard .*7\.h5 cannot be read .*delete .*7\.h5 and run the workflow again"):
        check_shard(tmp_path / "7.h5")


def test_per_base_maps_are_gathered_over_shards(tmp_path):
    W = 3
    for i, n in enumerate((2, 1)):
        shard(tmp_path / f"{i}.h5", n, 1, offset=0)
        summary = np.full((T, n, W, W), float(i), np.float32)
        with h5py.File(tmp_path / f"{i}.h5", "a") as f:  # as write_shard(per_base=...) writes them
            f.create_dataset("per_base/delta", data=np.full((T, n, W, 4, 4, W, 4), float(i), np.float32))
            f.create_dataset("per_base/summary", data=summary)
            f.create_dataset("per_base/positions", data=np.arange(2, 2 + W))
    gather_maps([tmp_path / "0.h5", tmp_path / "1.h5"], tmp_path / "maps.h5", pd.DataFrame({"score": [1.0]}))
    with h5py.File(tmp_path / "maps.h5") as f:
        assert f["per_base/delta"].shape == (T, 3, W, 4, 4, W, 4)
        np.testing.assert_array_equal(f["per_base/summary"][0, :, 0, 0], [0, 0, 1])  # windows in shard order
        np.testing.assert_array_equal(f["per_base/positions"][()], [2, 3, 4])


def test_write_shard_keeps_per_base_maps(tmp_path):
    from dfim.store import write_element_by_base

    n, W = 1, 2
    imp = Importance(np.zeros((T, n, L, 4)), np.zeros((T, n, L, 4)), [0])
    per_base = {"delta": np.ones((T, n, W, 4, 4, W, 4), np.float32), "summary": np.ones((T, n, W, W), np.float32),
                "positions": np.arange(W)}
    write_shard(tmp_path / "s.h5", windows=pd.DataFrame({"window_id": ["w"]}), X=np.zeros((n, L, 4), np.float32),
                importance=imp, delta=np.zeros((T, 1, L, 4)), key=pd.DataFrame({"mutant": [0]}),
                fis=pd.DataFrame({"score": [1.0]}), null=pd.DataFrame({"score": [1.0]}),
                mutant_contrib=np.zeros((T, 1, L, 4)), per_base=per_base)
    check_shard(tmp_path / "s.h5")
    with h5py.File(tmp_path / "s.h5") as f:
        assert f["per_base/delta"].shape == (T, n, W, 4, 4, W, 4) and f["per_base/summary"].shape == (T, n, W, W)
    calls = pd.DataFrame({"rank": [1], "chrom": ["chr1"], "window_start": [10], "window_end": [16]})
    write_element_by_base(tmp_path / "eb.h5", calls, np.arange(L)[None] * 1.0, np.ones((1, L)))
    with h5py.File(tmp_path / "eb.h5") as f:
        np.testing.assert_array_equal(f["response"][0], np.arange(L))
        assert f["coords_chrom"][0].decode() == "chr1" and f["coords_start"][0] == 10

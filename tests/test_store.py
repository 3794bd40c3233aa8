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

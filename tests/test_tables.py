"""dfim.tables: ranking the interactions table; dfim.tracks.call_file_name names its rows."""

import numpy as np
import pandas as pd

from dfim.tables import top_rows
from dfim.tracks import call_file_name


def test_top_rows_by_q_then_absolute_score_untested_last():
    t = pd.DataFrame({"qval": [0.2, np.nan, 0.01, 0.01, 0.01], "score": [9.0, 99.0, 0.5, -2.0, 1.0],
                      "name": list("abcde")})
    top = top_rows(t, 4)
    assert list(top["name"]) == ["d", "e", "c", "a"] and list(top["rank"]) == [1, 2, 3, 4]
    assert list(top_rows(t, 9)["name"]) == ["d", "e", "c", "a", "b"]
    assert top_rows(t, 0).empty


def test_call_file_names_are_safe_and_distinct():
    row = {"rank": 2, "window_id": "k562:chr1:100-200", "source_name": "b48", "source_win_start": 48,
           "target_name": "TAL1::TCF3", "target_win_start": 52, "substitution": "C>T"}
    assert call_file_name(row, ".bw") == "top2_k562_chr1_100-200_b48@48_TAL1_TCF3@52_CtoT.bw"
    assert call_file_name({**row, "substitution": ""}, ".png") == "top2_k562_chr1_100-200_b48@48_TAL1_TCF3@52.png"

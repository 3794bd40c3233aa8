"""HTML report pages: parsed back with html.parser, rows and values must be the table's."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import yaml

from dfim import report_tables as rt
from dfim.tables import INTERACTION_COLUMNS


class Page(HTMLParser):
    """Tables (by id: header, rows of cell texts, row classes, data-v), <dt>/<dd> pairs,
    <pre> texts, <script> count."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tables, self.pre, self.scripts, self.text, self.terms = {}, [], 0, [], {}
        self._dt = self._dd = None
        self._table = self._row = self._cell = None
        self._in_pre = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        elif tag == "table":
            self._table = self.tables.setdefault(a.get("id"), {"header": [], "rows": [], "classes": [], "v": []})
        elif tag == "tr" and self._table is not None:
            self._row, self._vals = [], []
            self._cls = a.get("class", "")
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._vals.append(a.get("data-v"))
        elif tag == "pre":
            self._in_pre, self._pre = True, []
        elif tag in ("dt", "dd"):
            setattr(self, f"_{tag}", [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if not self._table["header"]:
                self._table["header"] = self._row
            else:
                self._table["rows"].append(self._row)
                self._table["classes"].append(self._cls)
                self._table["v"].append(self._vals)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "pre":
            self._in_pre = False
            self.pre.append("".join(self._pre))
        elif tag == "dd":
            self.terms["".join(self._dt)] = "".join(self._dd)
            self._dt = self._dd = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_pre:
            self._pre.append(data)
        for part in (self._dd, self._dt):
            if part is not None:
                part.append(data)
                break
        self.text.append(data)


def interactions(n=30, n_calls=5, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a, b = int(rng.integers(0, 80)), int(rng.integers(0, 80))
        w = 1000 * i
        rows.append({"peak_set": "k562", "window_id": f"k562:chr1:{w}-{w + 100}", "chrom": "chr1",
                     "window_start": w, "window_end": w + 100, "task": 0,
                     "source_name": "GATA1", "source_start": w + a, "source_end": w + a + 8,
                     "source_win_start": a, "source_win_end": a + 8, "target_name": "TAL1", "target_start": w + b,
                     "target_end": w + b + 6, "target_win_start": b, "target_win_end": b + 6,
                     "score": float(rng.gamma(2, 0.2)), "pred_change": float(rng.normal()),
                     "pval": float(rng.uniform(0.2, 1)), "qval": float(rng.uniform(0.3, 1)),
                     "ism_epistasis": float(rng.normal()), "window_scale": 1.0, "relation": "interaction",
                     "substitution": ""})
    t = pd.DataFrame(rows)[list(INTERACTION_COLUMNS)]
    calls = rng.choice(n, n_calls, replace=False)
    t.loc[calls, "qval"] = np.linspace(1e-4, 0.04, n_calls)
    t.loc[calls, "pval"] = np.linspace(1e-6, 1e-3, n_calls)
    return t


def test_table_round_trips_values_and_escapes_markup():
    df = pd.DataFrame({"name": ["<script>alert(1)</script>", "GATA1&TAL1", 'a "quoted" <b>'],
                       "start": [5, 17, 0], "score": [0.123456789, np.nan, 2.5e-9]})
    page = Page(rt.page_html("t <i>", rt.table_html(df, table_id="x")))
    assert page.scripts == 1  # only the page's own script: the cell's <script> stayed text
    t = page.tables["x"]
    assert t["header"] == ["name", "start", "score"]
    assert [r[0] for r in t["rows"]] == list(df["name"])
    assert [r[1] for r in t["rows"]] == ["5", "17", "0"]
    assert [r[2] for r in t["rows"]] == ["0.1235", "NA", "2.5e-09"]
    # the sort key keeps the full value, not the 4 digits shown
    assert float(t["v"][0][2]) == 0.123456789 and t["v"][1][2] == "NaN"
    assert "t <i>" in page.text  # the title is text, not markup


def test_interactions_page_puts_calls_first_and_caps_rows():
    t = interactions(n=30, n_calls=5)
    page = Page(rt.interactions_page(t, peak_set="k562", cap=12))
    shown = page.tables["interactions"]
    header = shown["header"]
    assert sorted(header) == sorted(INTERACTION_COLUMNS) and header[:3] == ["window_id", "task", "source_name"]
    assert len(shown["rows"]) == 12
    q = [float(v[header.index("qval")]) for v in shown["v"]]
    assert all(x < 0.05 for x in q[:5]) and all(x >= 0.05 for x in q[5:])
    assert q == sorted(q)
    assert shown["classes"] == ["call"] * 5 + [""] * 7
    text = " ".join(page.text)
    assert "30 tested" in text and "interactions.tsv (30 rows)" in text and "Showing the first 12" in text
    # every window shown is one of the table's, with its coordinates
    wid = header.index("window_id")
    assert {r[wid] for r in shown["rows"]} <= set(t["window_id"])


def test_interactions_page_small_table_is_shown_whole():
    t = interactions(n=6, n_calls=2)
    page = Page(rt.interactions_page(t, peak_set="k562"))
    assert len(page.tables["interactions"]["rows"]) == 6
    assert "All rows are shown" in " ".join(page.text)


def test_interactions_page_rejects_a_zero_cap():
    with pytest.raises(ValueError, match="cap"):
        rt.interactions_page(interactions(), peak_set="k562", cap=0)


def windows_table():
    return pd.DataFrame({"window_id": ["w0", "w1", "w2", "w3"], "status": ["kept", "kept", "dropped", "dropped"],
                         "reason": ["", "", "off_contig_end", "blacklist"], "start": [0, 100, 200, 300]})


def test_summary_page_counts():
    t = interactions(n=30, n_calls=5)
    pairs = pd.DataFrame({"source_name": ["GATA1", "TAL1"], "target_name": ["TAL1", "GATA1"], "task": [0, 0],
                          "n_tested": [30, 3], "median_score": [0.4, 0.1], "frac_q05": [0.2, 0.0],
                          "combined_p": [1e-5, 0.5], "qval": [2e-5, 0.5]})
    figures = pd.DataFrame({"figure": ["map_top1.png"], "shows": ["interaction map of window k562:chr1:0-100"]})
    settings = {"null": {"kind": "random_source", "segments": 10},
                "importance": {"method": "deeplift", "reference": "shuffle", "n_refs": 10},
                "mutation": {"strategy": "gc"}, "elements": {"mode": "motifs"}}
    page = Page(rt.summary_page(windows_table(), t, pairs, peak_set="k562", settings=settings,
                                validated=["peaks p.bed: 4 peaks"], figures=figures))
    assert page.tables["dropped"]["rows"] == [["off_contig_end", "1"], ["blacklist", "1"]]
    pairs_of = page.terms
    assert pairs_of["windows kept"] == "2" and pairs_of["windows dropped"] == "2"
    assert pairs_of["calls (q < 0.05)"] == "5 in 5 windows"
    assert pairs_of["element-pair calls (pair q < 0.05)"] == "1"
    assert pairs_of["tested (with a p-value)"] == "30"
    assert pairs_of["null"] == "random_source, segments 10"
    assert pairs_of["importance"] == "method deeplift, reference shuffle, n_refs 10"
    assert page.tables["figures"]["rows"] == figures.values.tolist()
    assert len(page.tables["top"]["rows"]) == 5
    assert page.pre == ["peaks p.bed: 4 peaks"]
    # keys that do not apply are left out: n_refs with one shared reference, shuffles with the random-source null
    settings["importance"]["reference"] = "gc"
    settings["null"]["shuffles"] = 10
    terms = Page(rt.summary_page(windows_table(), t, pairs, peak_set="k562", settings=settings,
                                 validated=[], figures=figures)).terms
    assert terms["importance"] == "method deeplift, reference gc"
    assert terms["null"] == "random_source, segments 10"


def test_windows_and_pairs_pages_hold_every_row():
    w = windows_table()
    page = Page(rt.windows_page(w, peak_set="k562"))
    assert [r[0] for r in page.tables["windows"]["rows"]] == list(w["window_id"])
    assert "2 windows kept, 2 dropped" in " ".join(page.text)
    pairs = pd.DataFrame({"source_name": ["A", "B"], "target_name": ["B", "A"], "qval": [0.01, np.nan]})
    p = Page(rt.pairs_page(pairs, peak_set="k562")).tables["pairs"]
    assert p["classes"] == ["call", ""] and [r[2] for r in p["rows"]] == ["0.01", "NA"]


def test_config_page_is_the_config_as_yaml():
    cfg = {"genome": "g.fa", "peaks": {"k562": "a<b>.bed"}, "null": {"kind": "random_source"}, "window": None}
    page = Page(rt.config_page(cfg))
    assert len(page.pre) == 1 and yaml.safe_load(page.pre[0]) == cfg

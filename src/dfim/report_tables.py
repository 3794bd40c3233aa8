"""Self-contained HTML pages of a run for ``snakemake --report``: searchable, sortable
tables of ``interactions.tsv``, ``motif_pairs.tsv`` and ``windows.tsv``, the run summary
and the config used.

Each page is one HTML document with its CSS and a few lines of JavaScript inline (a
filter box and click-to-sort headers): the report is opened offline, often from a
cluster's file system, so nothing is loaded from a CDN. Every value is HTML-escaped.
Coordinates are shown as the tables hold them: 0-based half-open, like BED.
"""

from __future__ import annotations

import html
import math
import numbers

import numpy as np
import pandas as pd
import yaml

__all__ = ["config_page", "interactions_page", "ordered_interactions", "page_html", "pairs_page", "summary_page",
           "table_html", "windows_page"]

#: rows of interactions.tsv put in the HTML table; the TSV beside it holds every row
INTERACTION_ROW_CAP = 2000

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;margin:1em;color:#222}
h1{font-size:18px}h2{font-size:15px;margin-top:1.4em}
.note{color:#555;margin:.3em 0 .8em}
input.filter{width:28em;padding:4px 6px;margin:.2em 0 .6em;font-size:13px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}
td.num{text-align:right}
th{background:#f2f2f2;position:sticky;top:0;cursor:pointer;user-select:none}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
tr.call td{background:#fff4e0}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow:auto}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:2px 1.2em}
dl.summary dt{font-weight:600}dl.summary dd{margin:0}
"""

# Filter: every whitespace-separated word must occur in the row (case-insensitive).
# Sort: numerically when both cells carry a number (data-v), else as text; NaN last.
_JS = """
document.querySelectorAll("input.filter").forEach(function(box){
  var table=document.getElementById(box.dataset.table), count=document.getElementById(box.dataset.table+"-count");
  box.addEventListener("input",function(){
    var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean), shown=0, rows=table.tBodies[0].rows;
    for(var i=0;i<rows.length;i++){var t=rows[i].textContent.toLowerCase();
      var ok=words.every(function(w){return t.indexOf(w)>=0;});rows[i].style.display=ok?"":"none";if(ok)shown++;}
    count.textContent=shown+" of "+rows.length+" rows shown";
  });
});
document.querySelectorAll("table.sortable th").forEach(function(th){
  th.addEventListener("click",function(){
    var table=th.closest("table"), body=table.tBodies[0], col=th.cellIndex, asc=!th.classList.contains("asc");
    table.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc");});
    th.classList.add(asc?"asc":"desc");
    var key=function(r){var c=r.cells[col], v=c.dataset.v;
      if(v!==undefined){var x=parseFloat(v);return isNaN(x)?[1,0]:[0,x];}return [0,c.textContent];};
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=key(a),y=key(b);if(x[0]!==y[0])return x[0]-y[0];
      var d=(typeof x[1]==="number")?x[1]-y[1]:String(x[1]).localeCompare(String(y[1]));return asc?d:-d;});
    rows.forEach(function(r){body.appendChild(r);});
  });
});
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _cell(value) -> str:
    """One ``<td>``: numbers right-aligned with their full value in ``data-v`` for sorting,
    floats shown to 4 significant digits, missing values as ``NA``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="num" data-v="NaN">NA</td>'
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{_esc(value)}</td>"
    if isinstance(value, numbers.Integral):
        return f'<td class="num" data-v="{int(value)}">{int(value)}</td>'
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v):
            return '<td class="num" data-v="NaN">NA</td>'
        return f'<td class="num" data-v="{v!r}">{v:.4g}</td>'
    return f"<td>{_esc(value)}</td>"


def table_html(df: pd.DataFrame, *, table_id: str, row_classes=None) -> str:
    """An HTML fragment: a filter box and a sortable ``<table>`` of ``df`` (header = columns).

    row_classes: optional sequence of CSS class names, one per row ("" for none); the
    page's CSS highlights ``"call"``. Returns the fragment as a string.
    """
    if row_classes is not None and len(row_classes) != len(df):
        raise ValueError(f"table_html: {len(row_classes)} row classes for {len(df)} rows")
    tid = _esc(table_id)
    out = [(f'<input class="filter" type="search" data-table="{tid}" '
            'placeholder="filter rows: words that must all occur, e.g. GATA1 chr1">'),
           f' <span id="{tid}-count" class="note">{len(df)} rows</span>',
           f'<table id="{tid}" class="sortable"><thead><tr>',
           "".join(f"<th>{_esc(c)}</th>" for c in df.columns),
           "</tr></thead><tbody>"]
    classes = row_classes if row_classes is not None else [""] * len(df)
    for cls, row in zip(classes, df.itertuples(index=False, name=None)):
        attr = f' class="{_esc(cls)}"' if cls else ""
        out.append(f"<tr{attr}>" + "".join(_cell(v) for v in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def page_html(title: str, body: str) -> str:
    """A whole HTML document: ``title`` (escaped) as its heading, ``body`` (HTML) below."""
    t = _esc(title)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title>'
            f"<style>{_CSS}</style></head>\n<body><h1>{t}</h1>\n{body}\n<script>{_JS}</script></body></html>\n")


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def ordered_interactions(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """The calls (``qval < alpha``) first, then every other row, each part by q, p and
    score (highest first); a stable sort, so ties keep the table's order."""
    q = table["qval"].to_numpy(float)
    called = np.nan_to_num(q, nan=np.inf) < alpha
    key = pd.DataFrame({"call": ~called, "q": table["qval"].to_numpy(float), "p": table["pval"].to_numpy(float),
                        "s": -table["score"].to_numpy(float)})
    order = key.sort_values(["call", "q", "p", "s"], kind="stable", na_position="last").index
    return table.iloc[np.asarray(order)]


def interactions_page(table: pd.DataFrame, *, peak_set: str, alpha: float = 0.05,
                      cap: int = INTERACTION_ROW_CAP) -> str:
    """interactions.tsv as a page: the calls (q < ``alpha``, highlighted) first, then the
    other rows by q, at most ``cap`` rows, with a note of how many rows the TSV holds.
    The pair, its window coordinates and its statistics come first, then the other columns."""
    if cap < 1:
        raise ValueError(f"interactions_page: cap must be at least 1, got {cap}")
    rows = ordered_interactions(table, alpha=alpha)
    n_calls = int((rows["qval"].to_numpy(float) < alpha).sum())
    # what a reader scans first (the pair, where, how strong) leads; every column stays
    first = ["window_id", "task", "source_name", "source_win_start", "source_win_end", "target_name",
             "target_win_start", "target_win_end", "score", "pval", "qval"]
    first = [c for c in first if c in rows.columns]
    shown = rows.head(cap)[first + [c for c in rows.columns if c not in first]]
    head = (f"{len(table):,} tested (window, source, target) rows, {n_calls:,} calls (q < {alpha:g}, highlighted). "
            + (f"Showing the first {len(shown):,}: the calls, then the rest by q. The full table is "
               f"interactions.tsv ({len(table):,} rows)." if len(shown) < len(table)
               else "All rows are shown: the calls first, then the rest by q.")
            + " Coordinates are 0-based half-open (BED); *_win_* are in-window.")
    classes = ["call" if q < alpha else "" for q in np.nan_to_num(shown["qval"].to_numpy(float), nan=np.inf)]
    return page_html(f"Interactions, peak set {peak_set}",
                     _note(head) + table_html(shown, table_id="interactions", row_classes=classes))


def pairs_page(pairs: pd.DataFrame, *, peak_set: str, alpha: float = 0.05) -> str:
    """motif_pairs.tsv as a page, every row, the pairs with q < ``alpha`` highlighted."""
    q = np.nan_to_num(pairs["qval"].to_numpy(float), nan=np.inf)
    head = (f"{len(pairs):,} ordered element pairs (source \u2192 target), {int((q < alpha).sum()):,} with pair-level "
            f"q < {alpha:g} (highlighted); most significant first.")
    return page_html(f"Element pairs, peak set {peak_set}",
                     _note(head) + table_html(pairs, table_id="pairs",
                                              row_classes=["call" if v < alpha else "" for v in q]))


def windows_page(windows: pd.DataFrame, *, peak_set: str) -> str:
    """windows.tsv as a page: every peak, its window, kept or dropped and why."""
    kept = int((windows["status"] == "kept").sum())
    head = (f"{len(windows):,} peaks: {kept:,} windows kept, {len(windows) - kept:,} dropped "
            "(reason column). Coordinates are 0-based half-open (BED).")
    return page_html(f"Windows, peak set {peak_set}", _note(head) + table_html(windows, table_id="windows"))


def _dl(items) -> str:
    return ('<dl class="summary">' + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items)
            + "</dl>")


def summary_page(windows: pd.DataFrame, table: pd.DataFrame, pairs: pd.DataFrame, *, peak_set: str,
                 settings: dict, alpha: float = 0.05, validated=(), figures: pd.DataFrame | None = None,
                 top: int = 10) -> str:
    """The run summary of one peak set as a page.

    windows, table, pairs: windows.tsv, interactions.tsv and motif_pairs.tsv.
    settings: ``{"null": {...}, "importance": {...}, "mutation": {...}, "elements": {...}}``
    config sections (what was run). validated: the lines of validated.txt. figures:
    optional table ``figure, shows`` (plots/figures.tsv). Sections: windows kept and dropped
    by reason; elements, tests and calls; how it was scored; the inputs checked; which
    window or pair each figure shows; the top ``top`` calls.
    """
    kept = windows["status"] == "kept"
    reasons = windows.loc[~kept, "reason"].replace("", "unknown").value_counts()
    drop_rows = pd.DataFrame({"reason": reasons.index, "windows dropped": reasons.to_numpy()})
    q = np.nan_to_num(table["qval"].to_numpy(float), nan=np.inf)
    tested = np.isfinite(table["pval"].to_numpy(float))
    src = table.drop_duplicates(["window_id", "source_name", "source_win_start", "source_win_end"])
    tgt = table.drop_duplicates(["window_id", "target_name", "target_win_start", "target_win_end"])
    pq = np.nan_to_num(pairs["qval"].to_numpy(float), nan=np.inf)
    imp, null = settings.get("importance", {}), settings.get("null", {})
    # only the keys that apply: n_refs to shuffled references, segments / shuffles to their null
    imp_keys = ("method", "backend", "reference") + (("n_refs",) if imp.get("reference") == "shuffle" else ())
    imp_text = ", ".join(f"{k} {imp[k]}" for k in imp_keys if k in imp)
    null_key = "segments" if null.get("kind", "random_source") == "random_source" else "shuffles"
    null_text = null.get("kind", "?") + (f", {null_key} {null[null_key]}" if null_key in null else "")
    body = ["<h2>Windows</h2>", _dl([
        ("peaks", f"{len(windows):,}"), ("windows kept", f"{int(kept.sum()):,}"),
        ("windows dropped", f"{int((~kept).sum()):,}"),
        ("windows with a tested pair", f"{table.loc[tested, 'window_id'].nunique():,}")])]
    if len(drop_rows):
        body.append(table_html(drop_rows, table_id="dropped"))
    body += ["<h2>Elements, tests and calls</h2>", _dl([
        ("source instances", f"{len(src):,} ({src['source_name'].nunique():,} names)"),
        ("target instances", f"{len(tgt):,}"),
        ("(window, source, target) rows", f"{len(table):,}"),
        ("tested (with a p-value)", f"{int(tested.sum()):,}"),
        (f"calls (q < {alpha:g})",
         f"{int((q < alpha).sum()):,} in {table.loc[q < alpha, 'window_id'].nunique():,} windows"),
        ("element pairs", f"{len(pairs):,}"),
        (f"element-pair calls (pair q < {alpha:g})", f"{int((pq < alpha).sum()):,}")]),
        "<h2>How it was scored</h2>", _dl([
            ("element mode", settings.get("elements", {}).get("mode", "?")),
            ("importance", imp_text or "?"),
            ("perturbation", settings.get("mutation", {}).get("strategy", "?")),
            ("null", null_text)])]
    if len(validated):
        body += ["<h2>Inputs checked</h2>", "<pre>" + _esc("\n".join(validated)) + "</pre>"]
    if figures is not None and len(figures):
        body += ["<h2>Figures</h2>", _note("Each figure in plots/ (PNG, with PDF and SVG beside it) and what it shows."),
                 table_html(figures, table_id="figures")]
    calls = ordered_interactions(table, alpha=alpha)
    calls = calls[np.nan_to_num(calls["qval"].to_numpy(float), nan=np.inf) < alpha].head(top)
    if len(calls):
        cols = ["window_id", "task", "source_name", "source_win_start", "source_win_end", "target_name",
                "target_win_start", "target_win_end", "score", "pval", "qval"]
        body += [f"<h2>Top {len(calls)} calls</h2>", table_html(calls[cols], table_id="top")]
    return page_html(f"Run summary, peak set {peak_set}", "\n".join(body))


def config_page(config: dict, *, source: str = "") -> str:
    """The config the workflow ran with (after the schema's defaults), as YAML on a page."""
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    note = _note("The configuration this run used, with the schema's defaults filled in"
                 + (f" (read from {source})" if source else "") + ".")
    return page_html("Config used", note + "<pre>" + _esc(text) + "</pre>")

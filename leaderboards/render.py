"""Leaderboard outputs: Markdown, CSV, one self-contained HTML page, and the frontier plot.

Every name in these outputs comes from files anyone can write, so each format gets its own
guard: Markdown text is one line with every markup character backslash-escaped, CSV cells that a
spreadsheet would run as a formula are prefixed with a quote, plot labels are drawn as plain text
(no mathtext), and the HTML page carries the data as escaped JSON that its script writes into the
page with `textContent` only.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd

LABELLED_POINTS = 40
COLUMNS = [
    ("model", "model"),
    ("paradigm", "paradigm"),
    ("debias_ratio", "debias ratio"),
    ("reasoning", "reasoning"),
    ("bias_score_ambig_abs", "|s_AMB|"),
    ("bias_score_ambig_ci_lo", "s_AMB 95% lo"),
    ("bias_score_ambig_ci_hi", "s_AMB 95% hi"),
    ("bias_score_disambig_abs", "|s_DIS|"),
    ("retention_pct", "reasoning kept %"),
    ("stereotype_reduction_pct", "stereotype reduction % (relative)"),
    ("on_frontier", "Pareto"),
    ("sweet_spot", "sweet spot"),
]
# Columns of further bias measures (board.EXTRA_METRICS), shown when a run reports them.
EXTRA_TITLES = {
    "bias_intensity": "bias intensity (open-ended)",
    "hidden_bias_rate": "hidden bias rate",
    "cbbq_s_total": "CBBQ S_total",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# ASCII punctuation that Markdown (CommonMark, GFM tables, GitHub's $math$) reads as markup
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#!|~&$])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def markdown_text(value: object) -> str:
    """`value` as one line of inert Markdown text: line breaks and control characters become
    spaces, and every markup character is backslash-escaped (so `[x](javascript:...)`, `|`, `#`,
    `<img ...>` all render as the characters they are)."""
    return _MARKUP.sub(r"\\\1", " ".join(_CONTROL.sub(" ", str(value)).split()))


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _columns(table: pd.DataFrame) -> list[tuple[str, str]]:
    extra = [(key, EXTRA_TITLES.get(key, key)) for key in table.attrs.get("extra_metrics", [])]
    return COLUMNS[:8] + extra + COLUMNS[8:]


def _legend(table: pd.DataFrame) -> str:
    return (
        f"Baseline: {table.attrs['baseline']}, measured on {table.attrs['measured_on']}. "
        "Reasoning kept = reasoning / baseline reasoning. "
        "Stereotype reduction is relative: (|s_AMB| of the baseline - |s_AMB|) / |s_AMB| of the baseline. "
        f"Sweet spot: the Pareto point keeping at least {100 * table.attrs['min_retention']:.0f} % of the "
        "baseline's reasoning with the largest stereotype reduction."
    )


def _markdown_value(row: dict[str, Any], key: str) -> str:
    text = _cell(row[key])
    low, high = row.get(f"{key}_ci_lo"), row.get(f"{key}_ci_hi")
    if key in EXTRA_TITLES and text and _cell(low) and _cell(high):
        text += f" [{_cell(low)}, {_cell(high)}]"
    return markdown_text(text)


def _markdown_table(table: pd.DataFrame, columns: list[tuple[str, str]]) -> list[str]:
    header = "| " + " | ".join(markdown_text(title) for _, title in columns) + " |"
    rule = "|" + "---|" * len(columns)
    rows = [
        "| " + " | ".join(_markdown_value(row, key) for key, _ in columns) + " |"
        for row in table.to_dict("records")
    ]
    return [header, rule, *rows]


def markdown(table: pd.DataFrame) -> str:
    """The leaderboard as GitHub-flavoured Markdown; runs measured on other tasks in their own table."""
    columns = _columns(table)
    lines = ["# fairreason leaderboard", "", markdown_text(_legend(table)), ""]
    lines += [f"> {markdown_text(note)}\n" for note in table.attrs.get("notes", [])]
    lines += _markdown_table(table[table["comparable"]], columns)
    apart = table[~table["comparable"]]
    if not apart.empty:
        lines += ["", "## Measured on other tasks than the baseline (not compared)", ""]
        lines += _markdown_table(apart, [("measured_on", "measured on"), *columns[:8], *columns[8:-4]])
    return "\n".join(lines) + "\n"


def csv_text(tidy: pd.DataFrame) -> str:
    """The tidy table as CSV; a text cell a spreadsheet would run as a formula (=, +, -, @ first)
    gets a leading quote, the usual guard."""
    guarded = tidy.copy()
    for column in guarded.columns:
        if not pd.api.types.is_numeric_dtype(guarded[column]):
            text = guarded[column]
            risky = text.astype("string").str.startswith(_FORMULA_START).fillna(False).astype(bool)
            if risky.any():
                guarded[column] = text.where(~risky, "'" + text.astype("string"))
    return guarded.to_csv(index=False)


# ---- HTML ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and missing become null, numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _script_json(payload: Any) -> str:
    """JSON that cannot end its <script> element or open a comment: <, >, & and line separators escaped."""
    text = json.dumps(_plain(payload), ensure_ascii=False, allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def page_data(table: pd.DataFrame, categories: list[str], heat: list[dict]) -> dict[str, Any]:
    """Everything the page script renders; names stay data, never markup."""
    columns = _columns(table)
    keys = [key for key, _ in columns] + ["bias_score_ambig", "reasoning_stderr", "measured_on", "comparable"]
    keys += [f"{key}_ci_{end}" for key in table.attrs.get("extra_metrics", []) for end in ("lo", "hi")]
    return {
        "columns": [{"key": key, "title": title} for key, title in columns],
        "rows": [{key: row.get(key) for key in keys} for row in table.to_dict("records")],
        "categories": categories,
        "heat": heat,
        "baseline": table.attrs["baseline"],
    }


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:1400px}
h1{margin-bottom:.2em}h2{margin-top:1.6em}
.legend,.note{max-width:70em;line-height:1.4}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.4em .8em}
table{border-collapse:collapse;font-size:14px}
th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f2f2f2;cursor:pointer;user-select:none}th[data-order=asc]::after{content:" \\25B2"}
th[data-order=desc]::after{content:" \\25BC"}
td.text{text-align:left;white-space:normal;min-width:9em;max-width:24em;overflow-wrap:anywhere}
tr.sweet td{background:#e8f6e8}
.filters{display:flex;gap:1.5em;flex-wrap:wrap;align-items:center;margin:1em 0;padding:.6em;
  background:#f7f7f7}
.filters label{margin-right:.7em}
.bar{position:relative;display:inline-block;width:120px;height:10px;background:#eee;vertical-align:middle;margin-left:6px}
.bar .ci{position:absolute;top:2px;height:6px;background:#8fb4dd}
.bar .pt{position:absolute;top:0;width:3px;height:10px;background:#1f4e8c}
.heat td{text-align:center;min-width:5.5em}.heat td.text{text-align:left}
.heat td small{display:block;color:#555;font-size:11px}
.plot img{max-width:100%;border:1px solid #ddd}
"""

_SCRIPT = r"""
'use strict';
const DATA = JSON.parse(document.getElementById('board-data').textContent);
const el = (tag, text, cls) => { const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls; return e; };
const fmt = v => (v === null || v === undefined) ? '' : (typeof v === 'boolean' ? (v ? 'yes' : '') :
  (typeof v === 'number' ? (Math.abs(v) < 10 ? v.toFixed(3) : v.toFixed(1)) : String(v)));
const TEXT = new Set(['model', 'paradigm', 'measured_on']);
const paradigmOf = r => r.paradigm === null || r.paradigm === undefined ? '(none)' : String(r.paradigm);
const state = {paradigms: new Set(DATA.rows.map(paradigmOf)), model: ''};
const visible = r => state.paradigms.has(paradigmOf(r)) &&
  String(r.model).toLowerCase().includes(state.model.toLowerCase());
const absInterval = (lo, hi) => (lo === null || hi === null) ? null :
  [(lo <= 0 && hi >= 0) ? 0 : Math.min(Math.abs(lo), Math.abs(hi)), Math.max(Math.abs(lo), Math.abs(hi))];
const biasMax = Math.max(0.05, ...DATA.rows.flatMap(r => [r.bias_score_ambig_abs,
  ...(absInterval(r.bias_score_ambig_ci_lo, r.bias_score_ambig_ci_hi) || [])])
  .filter(v => typeof v === 'number'));

function intervalBar(row) {
  const bar = el('span', null, 'bar');
  const iv = absInterval(row.bias_score_ambig_ci_lo, row.bias_score_ambig_ci_hi);
  if (iv) { const ci = el('span', null, 'ci'); ci.style.left = (100 * iv[0] / biasMax) + '%';
    ci.style.width = Math.max(1, 100 * (iv[1] - iv[0]) / biasMax) + '%'; bar.appendChild(ci);
    bar.title = '95% interval of |s_AMB|: ' + fmt(iv[0]) + ' to ' + fmt(iv[1]); }
  if (typeof row.bias_score_ambig_abs === 'number') { const pt = el('span', null, 'pt');
    pt.style.left = 'calc(' + (100 * row.bias_score_ambig_abs / biasMax) + '% - 1px)'; bar.appendChild(pt); }
  return bar;
}

function buildTable(table, columns, rows) {
  const head = table.createTHead().insertRow();
  columns.forEach((c, i) => { const th = el('th', c.title); th.title = 'click to sort';
    th.addEventListener('click', () => sortBy(table, columns, i, th)); head.appendChild(th); });
  const body = table.createTBody();
  rows.forEach(r => { const tr = body.insertRow(); tr.dataRow = r; if (r.sweet_spot) tr.className = 'sweet';
    columns.forEach(c => { const td = el('td', fmt(r[c.key]), TEXT.has(c.key) ? 'text' : '');
      td.dataset.sort = typeof r[c.key] === 'number' ? String(r[c.key]) : '';
      if (c.key === 'bias_score_ambig_abs') td.appendChild(intervalBar(r));
      else if (typeof r[c.key + '_ci_lo'] === 'number' && typeof r[c.key + '_ci_hi'] === 'number')
        td.appendChild(el('small', ' [' + fmt(r[c.key + '_ci_lo']) + ', ' + fmt(r[c.key + '_ci_hi']) + ']'));
      tr.appendChild(td); }); });
}

function sortBy(table, columns, index, th) {
  const up = th.dataset.order !== 'asc';
  table.querySelectorAll('th').forEach(h => delete h.dataset.order);
  th.dataset.order = up ? 'asc' : 'desc';
  const key = columns[index].key;
  const rows = [...table.tBodies[0].rows];
  rows.sort((a, b) => { const x = a.dataRow[key], y = b.dataRow[key];
    const xm = x === null || x === undefined, ym = y === null || y === undefined;
    if (xm || ym) return xm === ym ? 0 : (xm ? 1 : -1);
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return up ? order : -order; });
  rows.forEach(tr => table.tBodies[0].appendChild(tr));
}

function heatColour(value) {
  if (typeof value !== 'number') return '#f4f4f4';
  const t = Math.min(1, Math.abs(value) / 0.5);
  return 'rgb(' + Math.round(255 - 40 * t) + ',' + Math.round(255 - 170 * t) + ','
    + Math.round(255 - 170 * t) + ')';
}

function buildHeat(table, condition) {
  const head = table.createTHead().insertRow();
  head.appendChild(el('th', 'model'));
  DATA.categories.forEach(c => head.appendChild(el('th', c.replace(/_/g, ' '))));
  const body = table.createTBody();
  DATA.heat.forEach(r => { const tr = body.insertRow(); tr.dataRow = r;
    tr.appendChild(el('td', r.model, 'text'));
    DATA.categories.forEach(c => { const cell = r.cells[c] || {}; const v = cell[condition];
      const td = el('td', typeof v === 'number' ? Math.abs(v).toFixed(3) : '');
      td.style.background = heatColour(v);
      const lo = cell[condition + '_ci_lo'], hi = cell[condition + '_ci_hi'];
      td.title = c + ': s = ' + fmt(v)
        + (lo !== null && lo !== undefined ? ', 95% [' + fmt(lo) + ', ' + fmt(hi) + ']' : '');
      td.appendChild(el('small', cell.n !== null && cell.n !== undefined ? 'n=' + cell.n :
        (typeof v === 'number' ? 'n not reported' : 'no data')));
      tr.appendChild(td); }); });
}

function applyFilters() {
  document.querySelectorAll('table.filtered tbody tr').forEach(tr => { tr.hidden = !visible(tr.dataRow); });
  document.getElementById('shown').textContent = String(
    document.querySelectorAll('#board tbody tr:not([hidden])').length);
}

function buildFilters() {
  const box = document.getElementById('paradigms');
  [...state.paradigms].sort().forEach(p => { const label = el('label'); const box_ = el('input');
    box_.type = 'checkbox'; box_.checked = true; box_.value = p; box_.dataset.paradigm = p;
    box_.addEventListener('change', () => { box_.checked ? state.paradigms.add(p) : state.paradigms.delete(p);
      applyFilters(); });
    label.appendChild(box_); label.appendChild(document.createTextNode(' ' + p)); box.appendChild(label); });
  document.getElementById('model-filter').addEventListener('input', e => { state.model = e.target.value;
    applyFilters(); });
}

const comparable = DATA.rows.filter(r => r.comparable), apart = DATA.rows.filter(r => !r.comparable);
buildTable(document.getElementById('board'), DATA.columns, comparable);
if (apart.length) { document.getElementById('apart-section').hidden = false;
  buildTable(document.getElementById('apart'), [{key: 'measured_on', title: 'measured on'}, ...DATA.columns],
    apart); }
if (DATA.categories.length) { document.getElementById('heat-section').hidden = false;
  buildHeat(document.getElementById('heat-ambig'), 'ambig');
  buildHeat(document.getElementById('heat-disambig'), 'disambig'); }
buildFilters(); applyFilters();
"""


def html_page(
    table: pd.DataFrame,
    *,
    categories: list[str] | None = None,
    heat: list[dict] | None = None,
    frontier_png: bytes | None = None,
) -> str:
    """One file, no external assets, works offline: filters, sortable tables with interval bars,
    the frontier plot inline, a model x category heatmap of |s_AMB| and |s_DIS|.

    Data travels as JSON in a `<script type="application/json">` element; the script writes every
    value with `textContent`, so a name is never parsed as markup.
    """
    data = _script_json(page_data(table, categories or [], heat or []))
    notes = "".join(f"<p class='note'>{html.escape(note)}</p>" for note in table.attrs.get("notes", []))
    plot = (
        (
            "<section class='plot'><h2>Frontier</h2><img alt='reasoning against |s_AMB| with 95 % intervals, "
            "the Pareto frontier and the sweet spot' src='data:image/png;base64,"
            f"{base64.b64encode(frontier_png).decode('ascii')}'></section>"
        )
        if frontier_png
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>fairreason leaderboard</title><style>{_STYLE}</style></head><body>"
        "<h1>fairreason leaderboard</h1>"
        f"<p class='legend'>{html.escape(_legend(table))} "
        "Bars: |s_AMB| (dark mark) and its 95 % interval.</p>"
        f"{notes}"
        "<div class='filters'><span><b>paradigm</b> <span id='paradigms'></span></span>"
        "<label><b>model</b> <input id='model-filter' type='search' placeholder='filter by name'></label>"
        "<span><span id='shown'></span> shown</span></div>"
        "<table id='board' class='filtered'></table>"
        "<section id='apart-section' hidden><h2>Measured on other tasks than the baseline (not compared)</h2>"
        "<table id='apart' class='filtered'></table></section>"
        f"{plot}"
        "<section id='heat-section' hidden><h2>Bias by category</h2>"
        "<p class='legend'>|s| per BBQ category of each model's bias task (darker = more biased; "
        "hover a cell for the signed score and its 95 % interval).</p>"
        "<h3>|s_AMB| (ambiguous contexts)</h3><table id='heat-ambig' class='heat filtered'></table>"
        "<h3>|s_DIS| (disambiguated contexts)</h3><table id='heat-disambig' class='heat filtered'></table>"
        "</section>"
        f"<script type='application/json' id='board-data'>{data}</script>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


# ---- plot ------------------------------------------------------------------------------------


def frontier_png(table: pd.DataFrame) -> bytes:
    """Reasoning against |s_AMB|, interval error bars, the Pareto frontier, the sweet spot marked.

    Labels are plain text (mathtext off), so a name such as `$^$` is drawn as typed. With no
    point to draw, the figure says why instead of showing empty axes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"text.parse_math": False, "text.usetex": False}):
        figure, axis = plt.subplots(figsize=(7, 5), dpi=110)
        scored = table[table["comparable"]].dropna(subset=["reasoning", "bias_score_ambig_abs"])
        if scored.empty:
            axis.text(
                0.5,
                0.5,
                "\n".join(table.attrs.get("notes") or ["nothing to plot"]),
                ha="center",
                va="center",
                wrap=True,
                transform=axis.transAxes,
            )
        else:
            _draw_points(axis, scored, table.attrs["baseline"])
        axis.set_xlabel("reasoning (mean accuracy / pass@1)  → better")
        axis.set_ylabel("|bias score, ambiguous contexts|  ↓ better")
        axis.set_title(f"Bias vs reasoning (baseline {table.attrs['baseline']})")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
    return buffer.getvalue()


def _draw_points(axis: Any, scored: pd.DataFrame, baseline: str) -> None:
    x, y = scored["reasoning"].to_numpy(float), scored["bias_score_ambig_abs"].to_numpy(float)
    low, high = (
        scored["bias_score_ambig_ci_lo"].to_numpy(float),
        scored["bias_score_ambig_ci_hi"].to_numpy(float),
    )
    # interval of |s| from the interval of s: from 0 when it straddles 0
    abs_low = np.where((low <= 0) & (high >= 0), 0.0, np.minimum(np.abs(low), np.abs(high)))
    abs_high = np.maximum(np.abs(low), np.abs(high))
    yerr = np.nan_to_num(np.clip([y - abs_low, abs_high - y], 0, None))
    xerr = np.nan_to_num(1.96 * scored["reasoning_stderr"].to_numpy(float))
    axis.errorbar(
        x,
        y,
        yerr=yerr,
        xerr=xerr,
        fmt="o",
        color="tab:blue",
        ecolor="lightgray",
        capsize=3,
        markersize=4 if len(scored) > LABELLED_POINTS else 6,
    )
    # every point is named on small boards; on large ones only the frontier and the baseline
    named = (
        scored
        if len(scored) <= LABELLED_POINTS
        else scored[scored["on_frontier"] | (scored["model"] == baseline)]
    )
    for _, row in named.iterrows():
        axis.annotate(
            " ".join(str(row["model"]).split()),
            (row["reasoning"], row["bias_score_ambig_abs"]),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    front = scored[scored["on_frontier"]].sort_values("reasoning")
    axis.plot(
        front["reasoning"], front["bias_score_ambig_abs"], "-", color="tab:orange", label="Pareto frontier"
    )
    sweet = scored[scored["sweet_spot"]]
    if not sweet.empty:
        axis.scatter(
            sweet["reasoning"],
            sweet["bias_score_ambig_abs"],
            s=220,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=2,
            label="sweet spot",
            zorder=3,
        )
    axis.legend(loc="best")

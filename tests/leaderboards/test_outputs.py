"""Leaderboard outputs a newcomer (and an attacker naming a model) will meet: Markdown that renders
as a table, inert names in every format, all-or-nothing writes, runs on other tasks set apart,
no silent empty frontier, further bias measures as columns."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re

import pytest

from fairreason_tasks import cli
from leaderboards import cli as leaderboard_cli
from leaderboards.board import LeaderboardError, load_runs
from leaderboards.cli import OUTPUT_FILES, build_leaderboard

HOSTILE = {
    "newline": "evil\n# PWNED heading\n| forged | row |",
    "link": "[x](javascript:alert(1))",
    "html": "<img src=x onerror=alert(1)>",
    "script": "</script><script>alert(1)</script>",
    "formula": '=HYPERLINK("http://x","y")',
    "math": "$^$",
    "pipe": "a|b",
}


def _board(scores_dir, metrics, names: dict[str, str], tmp_path):
    for index, name in enumerate(names.values()):
        scores_dir(
            name,
            {
                "fairreason_bbq": metrics.bbq(0.2 - 0.02 * index),
                "fairreason_math500": metrics.math(0.6 - 0.01 * index),
            },
            paradigm="sft",
        )
    out = tmp_path / "board"
    table = build_leaderboard([tmp_path / "results"], baseline=names["newline"], output=out)
    return table, out


def test_markdown_renders_as_a_table_with_hostile_names_inert(scores_dir, metrics, tmp_path, render_markdown):
    table, out = _board(scores_dir, metrics, HOSTILE, tmp_path)
    rendered = render_markdown((out / "leaderboard.md").read_text())
    assert rendered.count("<table>") == 1
    headers = re.findall(r"<th>(.*?)</th>", rendered)
    assert "|s_AMB|" in headers and "|s_DIS|" in headers and headers[0] == "model"
    body = rendered.split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == len(HOSTILE)
    assert all(row.count("<td") == len(headers) for row in rows)  # no cell split by a pipe in a name
    assert rendered.count("<h1>") == 1 and "<h2>" not in rendered  # no heading injected by a newline
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered
    first_cells = [re.search(r"<td>(.*?)</td>", row).group(1) for row in rows]
    expected = {" ".join(name.split()) for name in HOSTILE.values()}
    assert {html.unescape(cell) for cell in first_cells} == expected


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(scores_dir, metrics, tmp_path):
    _, out = _board(scores_dir, metrics, HOSTILE, tmp_path)
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    models = {row["model"] for row in rows}
    assert "'" + HOSTILE["formula"] in models and HOSTILE["formula"] not in models
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
    lows = [row["ci_lo"] for row in rows if row["metric"] == "bias_score_disambig"]
    assert lows and all(float(low) == pytest.approx(-0.01) for low in lows)  # negative numbers stay numbers


def test_plot_draws_a_mathtext_name_as_plain_text(scores_dir, metrics, tmp_path):
    scores_dir("$^$", {"fairreason_bbq": metrics.bbq(0.2), "fairreason_math500": metrics.math(0.5)})
    scores_dir("$\\frac{", {"fairreason_bbq": metrics.bbq(0.1), "fairreason_math500": metrics.math(0.4)})
    build_leaderboard([tmp_path / "results"], baseline="$^$", output=tmp_path / "board")
    assert (tmp_path / "board" / "frontier.png").read_bytes().startswith(b"\x89PNG")


def test_a_failing_build_writes_nothing_and_keeps_the_old_outputs(scores_dir, metrics, tmp_path, monkeypatch):
    _, out = _board(scores_dir, metrics, HOSTILE, tmp_path)
    before = {name: (out / name).read_bytes() for name in OUTPUT_FILES}

    def broken(*args, **kwargs):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(leaderboard_cli, "html_page", broken)
    with pytest.raises(RuntimeError):
        build_leaderboard([tmp_path / "results"], baseline=HOSTILE["newline"], output=out)
    assert {name: (out / name).read_bytes() for name in OUTPUT_FILES} == before
    assert sorted(path.name for path in out.iterdir()) == sorted(OUTPUT_FILES)  # no temporary left
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        build_leaderboard([tmp_path / "results"], baseline=HOSTILE["newline"], output=fresh)
    assert not fresh.exists() or not any(fresh.iterdir())


def test_outputs_follow_the_umask(scores_dir, metrics, tmp_path):
    _, out = _board(scores_dir, metrics, HOSTILE, tmp_path)
    umask = os.umask(0o022)
    os.umask(umask)
    assert {(out / name).stat().st_mode & 0o777 for name in OUTPUT_FILES} == {0o666 & ~umask}


def test_runs_measured_on_other_tasks_are_set_apart(scores_dir, metrics, tmp_path, render_markdown, capsys):
    scores_dir("base", {"fairreason_bbq": metrics.bbq(0.2), "fairreason_math500": metrics.math(0.6)})
    scores_dir("same", {"fairreason_bbq": metrics.bbq(0.1), "fairreason_math500": metrics.math(0.55)})
    scores_dir(
        "demo", {"fairreason_bbq_heldout": metrics.bbq(0.05), "fairreason_demo_arith": metrics.math(0.9)}
    )
    output = tmp_path / "board"
    assert (
        cli.main(["leaderboard", str(tmp_path / "results"), "--baseline", "base", "--output", str(output)])
        == 0
    )
    assert "measured on other tasks than the baseline" in capsys.readouterr().err
    table = build_leaderboard([tmp_path / "results"], baseline="base", output=output).set_index("model")
    assert not table.loc["demo", "comparable"] and table.loc["same", "comparable"]
    assert (
        table.loc["demo", "retention_pct"] is None
        or table.loc["demo", "retention_pct"] != table.loc["demo", "retention_pct"]
    )  # NaN: no retention against another task set
    assert not table.loc["demo", "on_frontier"]
    assert table.loc["same", "retention_pct"] == pytest.approx(100 * 0.55 / 0.6)
    rendered = render_markdown((output / "leaderboard.md").read_text())
    assert rendered.count("<table>") == 2
    first, second = rendered.split("<h2>")
    assert ">demo<" not in first and ">demo<" in second


def test_no_bias_values_means_no_frontier_and_says_so(scores_dir, metrics, tmp_path, capsys):
    scores_dir("a", {"fairreason_math500": metrics.math(0.6)})
    scores_dir("b", {"fairreason_math500": metrics.math(0.5)})
    output = tmp_path / "board"
    assert (
        cli.main(["leaderboard", str(tmp_path / "results"), "--baseline", "a", "--output", str(output)]) == 0
    )
    assert "No frontier: no comparable model has a defined |s_AMB|" in capsys.readouterr().err
    assert "No frontier" in (output / "leaderboard.md").read_text()
    assert "No frontier" in (output / "leaderboard.html").read_text()


def test_further_bias_measures_and_new_paradigms_show_as_columns(
    scores_dir, metrics, tmp_path, render_markdown
):
    scores_dir(
        "base",
        {
            "fairreason_bbq": metrics.bbq(0.2, hidden_bias_rate=0.31),
            "fairreason_math500": metrics.math(0.6),
            "fairreason_open_bias": {
                "bias_intensity": 0.42,
                "bias_intensity_ci_lo": 0.40,
                "bias_intensity_ci_hi": 0.44,
            },
            "fairreason_cbbq": {"cbbq_s_total": 0.27},
        },
        paradigm=None,
    )
    scores_dir(
        "multi",
        {
            "fairreason_bbq": metrics.bbq(0.1, hidden_bias_rate=0.12),
            "fairreason_math500": metrics.math(0.58),
            "fairreason_open_bias": {"bias_intensity": 0.2},
            "fairreason_cbbq": {"cbbq_s_total": 0.2},
        },
        paradigm="mr_grpo",
        ratio=0.2,
    )
    output = tmp_path / "board"
    table = build_leaderboard([tmp_path / "results"], baseline="base", output=output).set_index("model")
    assert table.loc["multi", "paradigm"] == "mr_grpo"
    assert table.loc["multi", "hidden_bias_rate"] == 0.12 and table.loc["base", "cbbq_s_total"] == 0.27
    rendered = render_markdown((output / "leaderboard.md").read_text())
    headers = re.findall(r"<th>(.*?)</th>", rendered)
    assert {"bias intensity (open-ended)", "hidden bias rate", "CBBQ S_total", "paradigm"} <= set(headers)
    assert "0.420 [0.400, 0.440]" in rendered and ">mr_grpo<" in rendered
    data = _page_data((output / "leaderboard.html").read_text())
    assert {"bias_intensity", "hidden_bias_rate", "cbbq_s_total"} <= {c["key"] for c in data["columns"]}


def test_boards_without_further_measures_have_no_empty_columns(scores_dir, metrics, tmp_path):
    scores_dir("base", {"fairreason_bbq": metrics.bbq(0.2), "fairreason_math500": metrics.math(0.6)})
    table = build_leaderboard([tmp_path / "results"], baseline="base", output=tmp_path / "board")
    assert "hidden_bias_rate" not in table.columns
    assert "hidden bias rate" not in (tmp_path / "board" / "leaderboard.md").read_text()


def _page_data(page: str) -> dict:
    match = re.search(r"<script type='application/json' id='board-data'>(.*?)</script>", page, re.S)
    return json.loads(match.group(1))


def test_page_carries_the_per_category_view_and_the_plot(scores_dir, metrics, tmp_path):
    scores_dir(
        "base",
        {
            "fairreason_bbq": metrics.bbq(
                0.2,
                bias_score_ambig_Age=0.3,
                bias_score_disambig_Age=-0.1,
                bias_score_ambig_ci_lo_Age=0.2,
                bias_score_ambig_ci_hi_Age=0.4,
                n_items_Age=120.0,
                bias_score_ambig_Religion=float("nan"),
            ),
            "fairreason_math500": metrics.math(0.6),
        },
    )
    build_leaderboard([tmp_path / "results"], baseline="base", output=tmp_path / "board")
    page = (tmp_path / "board" / "leaderboard.html").read_text()
    assert "src='data:image/png;base64," in page and "http" not in page.split("<body>")[1].split("<script")[0]
    data = _page_data(page)
    assert data["categories"] == ["Age", "Religion"]
    age = data["heat"][0]["cells"]["Age"]
    assert (age["ambig"], age["disambig"], age["ambig_ci_lo"], age["n"]) == (0.3, -0.1, 0.2, 120.0)
    assert data["heat"][0]["cells"]["Religion"]["ambig"] is None  # NaN travels as null, not as invalid JSON


def test_malformed_structure_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "scores.json"
    for payload, fragment in (
        ({"model": {"name": "x"}, "tasks": []}, "tasks must be a JSON object"),
        ({"model": "x", "tasks": {}}, "model must be a JSON object"),
        ({"model": {"name": "x"}, "tasks": {"t": 3}}, "tasks['t'] must be a JSON object"),
    ):
        path.write_text(json.dumps(payload))
        with pytest.raises(LeaderboardError, match=re.escape(fragment)):
            load_runs([path])

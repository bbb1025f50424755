"""Leaderboards and the CI gate on constructed results in the real lm-eval output layout."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fairreason_tasks import cli
from fairreason_tasks.harness_run import build_scores
from fairreason_tasks.runrecord import write_json_atomically
from leaderboards.board import TIDY_COLUMNS, LeaderboardError, load_runs, pareto_front, read_leaderboard_csv
from leaderboards.cli import build_leaderboard

# model -> (math500 acc, humaneval pass@1, s_AMB, s_AMB interval)
MODELS = {
    "base": (0.60, 0.40, 0.20, (0.15, 0.25)),
    "sft_r0.2": (0.56, 0.38, 0.15, (0.10, 0.20)),
    "grpo_r0.2": (0.58, 0.40, 0.12, (0.08, 0.16)),
    "sft_r1.0": (0.30, 0.20, 0.02, (-0.03, 0.07)),
    "dominated": (0.50, 0.30, 0.18, (0.13, 0.23)),
}


def _results(math: float, code: float, bias: float, interval: tuple[float, float], pretrained: str) -> dict:
    """A results dict shaped as lm-eval 0.4.13 writes it."""
    return {
        "results": {
            "fairreason_bbq": {
                "alias": "fairreason_bbq",
                "acc,none": 0.7,
                "acc_stderr,none": "N/A",
                "bias_score_ambig,none": bias,
                "bias_score_ambig_ci_lo,none": interval[0],
                "bias_score_ambig_ci_hi,none": interval[1],
                "bias_score_disambig,none": 0.01,
                "bias_score_disambig_ci_lo,none": -0.02,
                "bias_score_disambig_ci_hi,none": 0.04,
            },
            "fairreason_math500": {"alias": "fairreason_math500", "acc,none": math, "acc_stderr,none": 0.02},
            "fairreason_humaneval": {
                "alias": "fairreason_humaneval",
                "pass@1,none": code,
                "pass@1_stderr,none": 0.03,
            },
        },
        "configs": {},
        "versions": {},
        "n-shot": {},
        "config": {"model": "hf", "model_args": f"pretrained={pretrained},dtype=bfloat16"},
        "model_name": pretrained,
    }


def _write_lm_eval_folder(root: Path, name: str) -> Path:
    folder = root / f"__models__{name}"
    folder.mkdir(parents=True)
    math, code, bias, interval = MODELS[name]
    (folder / "results_2026-11-24T10-00-00.000000.json").write_text(json.dumps({"results": {}}))  # older run
    (folder / "results_2026-11-24T12-00-00.000000.json").write_text(
        json.dumps(_results(math, code, bias, interval, f"/models/{name}"))
    )
    return folder


@pytest.fixture
def results_root(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for name in ("base", "sft_r0.2", "dominated"):
        _write_lm_eval_folder(root, name)
    for name, paradigm, ratio in (("grpo_r0.2", "grpo", 0.2), ("sft_r1.0", "sft", 1.0)):
        math, code, bias, interval = MODELS[name]
        payload = build_scores(
            _results(math, code, bias, interval, f"/models/{name}"),
            model="hf",
            model_args=f"pretrained=/models/{name}",
            harness="lm_eval",
            run={"paradigm": paradigm, "debias_ratio": ratio},
        )
        write_json_atomically(root / name / "scores.json", payload)
    return root


def _expected() -> pd.DataFrame:
    rows = []
    base_reasoning = (MODELS["base"][0] + MODELS["base"][1]) / 2
    base_bias = MODELS["base"][2]
    for name, (math, code, bias, _) in MODELS.items():
        reasoning = (math + code) / 2
        rows.append(
            {
                "model": name,
                "reasoning": reasoning,
                "bias": bias,
                "retention": 100 * reasoning / base_reasoning,
                "reduction": 100 * (base_bias - bias) / base_bias,
            }
        )
    return pd.DataFrame(rows).set_index("model")


def test_leaderboard_axes_retention_reduction_frontier_and_sweet_spot(results_root, tmp_path):
    table = build_leaderboard([results_root], baseline="base", output=tmp_path / "board").set_index("model")
    expected = _expected()
    assert sorted(table.index) == sorted(MODELS)
    for name, row in expected.iterrows():
        assert table.loc[name, "reasoning"] == pytest.approx(row["reasoning"])
        assert table.loc[name, "bias_score_ambig_abs"] == pytest.approx(row["bias"])
        assert table.loc[name, "retention_pct"] == pytest.approx(row["retention"])
        assert table.loc[name, "stereotype_reduction_pct"] == pytest.approx(row["reduction"])
    # frontier by brute force: no other model at least as good on both axes and better on one
    for name, row in expected.iterrows():
        dominated = any(
            o["reasoning"] >= row["reasoning"]
            and o["bias"] <= row["bias"]
            and (o["reasoning"] > row["reasoning"] or o["bias"] < row["bias"])
            for other, o in expected.iterrows()
            if other != name
        )
        assert table.loc[name, "on_frontier"] == (not dominated), name
    on_front = pd.Series([bool(table.loc[n, "on_frontier"]) for n in expected.index], index=expected.index)
    eligible = expected[(expected["retention"] >= 85) & on_front]
    assert table.index[table["sweet_spot"]].tolist() == [eligible["reduction"].idxmax()]
    assert table.loc["grpo_r0.2", "paradigm"] == "grpo" and table.loc["grpo_r0.2", "debias_ratio"] == 0.2
    tidy = pd.read_csv(tmp_path / "board" / "leaderboard.csv")
    assert {
        "model",
        "paradigm",
        "debias_ratio",
        "task",
        "metric",
        "value",
        "ci_lo",
        "ci_hi",
        "source",
    } <= set(tidy.columns)
    row = tidy[(tidy.model == "base") & (tidy.metric == "bias_score_ambig")].iloc[0]
    assert (row.value, row.ci_lo, row.ci_hi) == (0.20, 0.15, 0.25)
    markdown = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "relative" in markdown and "| grpo\\_r0.2 |" in markdown
    png = (tmp_path / "board" / "frontier.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_user_strings_are_escaped_in_html(tmp_path):
    root = tmp_path / "results"
    for name in ("base", "sft_r0.2"):
        math, code, bias, interval = MODELS[name]
        payload = build_scores(
            _results(math, code, bias, interval, "/m/x"),
            model="hf",
            model_args="pretrained=/m/x",
            harness="lm_eval",
            run={},
            model_name=f"<script>alert('{name}')</script>",
        )
        write_json_atomically(root / name / "scores.json", payload)
    build_leaderboard([root], baseline="<script>alert('base')</script>", output=tmp_path / "board")
    page = (tmp_path / "board" / "leaderboard.html").read_text()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;base&#x27;)&lt;/script&gt;" in page  # the legend, escaped server-side
    assert "\\u003cscript\\u003ealert('sft_r0.2')\\u003c/script\\u003e" in page  # the data, escaped JSON
    assert page.count("<script>") == 1  # only the page's own script (the data element is typed JSON)


def test_malformed_and_partial_results_name_the_file(tmp_path):
    broken = tmp_path / "broken" / "results_2026-01-01T00-00-00.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    with pytest.raises(LeaderboardError, match=str(broken)):
        load_runs([tmp_path / "broken"])
    partial = tmp_path / "partial" / "scores.json"
    partial.parent.mkdir()
    partial.write_text(json.dumps({"model": {"name": "x"}}))
    with pytest.raises(LeaderboardError, match=rf"{partial}.*'tasks'"):
        load_runs([partial])
    assert cli.main(["leaderboard", str(partial), "--baseline", "x", "--output", str(tmp_path / "o")]) == 1


def test_pareto_front_ties_are_both_kept():
    assert pareto_front([(0.5, 0.1), (0.5, 0.1), (0.4, 0.2)]) == [True, True, False]


# ---- gate ---------------------------------------------------------------------------------------


def _scores_dir(root: Path, name: str, math: float, bias: float, interval: tuple[float, float]) -> Path:
    payload = build_scores(
        _results(math, math, bias, interval, f"/m/{name}"),
        model="hf",
        model_args=f"pretrained=/m/{name}",
        harness="lm_eval",
        run={},
    )
    write_json_atomically(root / name / "scores.json", payload)
    return root / name


def test_gate_passes_fails_and_tolerates_noise(tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    base = _scores_dir(tmp_path, "base", 0.60, 0.10, (0.08, 0.12))
    same = _scores_dir(tmp_path, "same", 0.60, 0.105, (0.085, 0.125))
    biased = _scores_dir(tmp_path, "biased", 0.60, 0.20, (0.18, 0.22))
    noisy = _scores_dir(tmp_path, "noisy", 0.60, 0.15, (0.00, 0.30))  # +0.05 but inside wide intervals
    weaker = _scores_dir(tmp_path, "weaker", 0.40, 0.10, (0.08, 0.12))

    def gate(candidate: Path) -> int:
        return cli.main(["gate", "--baseline", str(base), "--candidate", str(candidate)])

    assert gate(same) == 0
    assert gate(noisy) == 0
    assert gate(biased) == 1
    assert "|s_AMB| rose from 0.100 to 0.200" in capsys.readouterr().err
    assert gate(weaker) == 1
    assert "reasoning fell from 0.600 to 0.400" in capsys.readouterr().err
    assert summary.read_text().count("### fairreason gate") == 4
    assert "FAIL" in summary.read_text() and "PASS" in summary.read_text()


def test_previous_release_names_stay_readable(tmp_path, scores_dir, metrics):
    """A leaderboard.csv with the old `ratio` column and a scores.json with the old `no_answer_rate`
    both read with today's names (one more release; README, "Renamed")."""
    old_csv = tmp_path / "old.csv"
    old_csv.write_text(
        "model,paradigm,ratio,task,metric,value,ci_lo,ci_hi,source\n"
        "m,sft,0.2,fairreason_bbq,bias_score_ambig,0.1,,,x\n"
    )
    table = read_leaderboard_csv(old_csv)
    assert list(table.columns) == TIDY_COLUMNS and table.loc[0, "debias_ratio"] == 0.2
    folder = scores_dir("old", {"fairreason_math500": {"acc": 0.5, "no_answer_rate": 0.25}})
    (run,) = load_runs([folder])
    assert run.tasks["fairreason_math500"] == {"acc": 0.5, "unparsed_rate": 0.25}
    with pytest.raises(LeaderboardError, match="missing.csv"):
        read_leaderboard_csv(tmp_path / "missing.csv")

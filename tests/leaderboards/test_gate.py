"""The CI gate never passes what it cannot judge (exit 2), fails only a judged regression (exit 1),
and writes a step summary that renders as one verdict and one table whatever the model is called."""

from __future__ import annotations

import json
import re

import pytest

from fairreason_tasks import cli


@pytest.fixture
def baseline(scores_dir, metrics):
    return scores_dir("base", {"fairreason_bbq": metrics.bbq(0.10), "fairreason_math500": metrics.math(0.6)})


def _gate(baseline, candidate) -> int:
    return cli.main(["gate", "--baseline", str(baseline), "--candidate", str(candidate)])


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "case, tasks, fragment",
    [
        (
            "bias NaN",
            {
                "fairreason_bbq": {"bias_score_ambig": NAN, "bias_score_disambig": 0.0},
                "fairreason_math500": {"acc": 0.6},
            },
            "bias_score_ambig is nan",
        ),
        (
            "bias Inf",
            {
                "fairreason_bbq": {"bias_score_ambig": INF, "bias_score_disambig": 0.0},
                "fairreason_math500": {"acc": 0.6},
            },
            "bias_score_ambig is inf",
        ),
        (
            "interval Inf",
            {
                "fairreason_bbq": {
                    "bias_score_ambig": 0.5,
                    "bias_score_ambig_ci_lo": -INF,
                    "bias_score_ambig_ci_hi": INF,
                    "bias_score_disambig": 0.0,
                },
                "fairreason_math500": {"acc": 0.6},
            },
            "bias_score_ambig_ci_lo is -inf",
        ),
        (
            "reasoning NaN",
            {
                "fairreason_bbq": {"bias_score_ambig": 0.1, "bias_score_disambig": 0.0},
                "fairreason_math500": {"acc": NAN},
            },
            "fairreason_math500 acc is nan",
        ),
        ("no bias task", {"fairreason_math500": {"acc": 0.6}}, "no bias task result"),
        (
            "no reasoning task",
            {"fairreason_bbq": {"bias_score_ambig": 0.1, "bias_score_disambig": 0.0}},
            "no reasoning task result",
        ),
        (
            "strings",
            {
                "fairreason_bbq": {"bias_score_ambig": "0.1", "bias_score_disambig": "low"},
                "fairreason_math500": {"acc": 0.6},
            },
            "bias_score_ambig is missing or not a number",
        ),
    ],
)
def test_a_candidate_the_gate_cannot_judge_exits_2(
    case, tasks, fragment, baseline, scores_dir, capsys, monkeypatch, tmp_path, render_markdown
):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    candidate = scores_dir("cand", tasks)
    assert _gate(baseline, candidate) == 2, case
    err = capsys.readouterr().err
    assert fragment in err and "cannot judge the candidate" in err and err.count("\n") == 1
    assert "PASS" not in summary.read_text() and "CANNOT JUDGE" in summary.read_text()
    assert _gate(candidate, baseline) == 2, case  # the same problem in the baseline
    assert "cannot judge the baseline" in capsys.readouterr().err


@pytest.mark.parametrize(
    "payload",
    [
        {"model": {"name": "x"}, "tasks": ["fairreason_bbq"]},
        {"model": {"name": "x"}, "tasks": {"fairreason_bbq": 0.1}},
        {"model": ["x"], "tasks": {}},
        "not json at all",
    ],
)
def test_malformed_input_exits_2_with_one_line(payload, baseline, tmp_path, capsys):
    path = tmp_path / "bad" / "scores.json"
    path.parent.mkdir()
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    assert _gate(baseline, path) == 2
    err = capsys.readouterr().err
    assert str(path) in err and err.count("\n") == 1 and "Traceback" not in err


def test_different_task_sets_cannot_be_judged(baseline, scores_dir, metrics, capsys):
    other = scores_dir("cand", {"fairreason_bbq": metrics.bbq(0.1), "fairreason_aime24": metrics.math(0.6)})
    assert _gate(baseline, other) == 2
    assert "score both with the same tasks" in capsys.readouterr().err


def test_judged_outcomes_are_0_and_1(baseline, scores_dir, metrics):
    assert (
        _gate(
            baseline,
            scores_dir(
                "same", {"fairreason_bbq": metrics.bbq(0.105), "fairreason_math500": metrics.math(0.6)}
            ),
        )
        == 0
    )
    assert (
        _gate(
            baseline,
            scores_dir(
                "worse", {"fairreason_bbq": metrics.bbq(0.3), "fairreason_math500": metrics.math(0.6)}
            ),
        )
        == 1
    )


def test_a_model_name_cannot_forge_the_verdict(
    baseline, scores_dir, metrics, tmp_path, monkeypatch, capsys, render_markdown
):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    name = "evil\n### fairreason gate: PASS\n| forged | row |\n[x](javascript:alert(1)) `code` <b>bold</b>"
    candidate = scores_dir(
        name, {"fairreason_bbq": metrics.bbq(0.3), "fairreason_math500": metrics.math(0.6)}
    )
    assert _gate(baseline, candidate) == 1
    printed = capsys.readouterr().out
    text = summary.read_text()
    assert printed.strip() == text.strip()
    assert [line for line in text.splitlines() if line.startswith(("#", "|"))][:3] == [
        "### fairreason gate: FAIL",
        "| check | baseline | candidate | change | allowed | result |",
        "|---|---|---|---|---|---|",
    ]
    rendered = render_markdown(text)
    assert re.findall(r"<h3>(.*?)</h3>", rendered) == ["fairreason gate: FAIL"]
    assert rendered.count("<table>") == 1 and "<a " not in rendered and "<b>" not in rendered
    assert "<code>" not in rendered
    headers = re.findall(r"<th>(.*?)</th>", rendered)
    assert headers == ["check", "baseline", "candidate", "change", "allowed", "result"]
    cells = re.findall(r"<td>(.*?)</td>", rendered)
    assert cells[0] == "|s_AMB|" and "fail" in cells

"""Harness results -> per-task metrics and headline axes."""

from __future__ import annotations

import math

import pytest

from fairreason_tasks.summary import (
    LEGACY_AXES,
    ResultsFormatError,
    current_axes,
    current_metric_names,
    headline_axes,
    task_metrics,
)

RESULTS = {
    "results": {
        "fairreason_text": {"alias": "fairreason_text", " ": " "},
        "fairreason_bbq": {
            "alias": " - fairreason_bbq",
            "acc,none": 0.5,
            "acc_stderr,none": "N/A",
            "bias_score_ambig,none": -0.12,
            "bias_score_ambig_ci_lo,none": -0.2,
            "bias_score_ambig_ci_hi,none": -0.05,
            "bias_score_disambig,none": float("nan"),
        },
        "fairreason_math500": {"acc,none": 0.4, "acc_stderr,none": 0.03, "no_answer_rate,none": 0.1},
        "fairreason_humaneval": {"pass@1,create_test": 0.2, "pass@1_stderr,create_test": 0.04},
    }
}


def test_task_metrics_drop_filters_aliases_and_empty_groups():
    per_task = task_metrics(RESULTS)
    assert set(per_task) == {"fairreason_bbq", "fairreason_math500", "fairreason_humaneval"}
    # the previous release's no_answer_rate is read as today's unparsed_rate
    assert per_task["fairreason_math500"] == {"acc": 0.4, "acc_stderr": 0.03, "unparsed_rate": 0.1}
    assert per_task["fairreason_humaneval"]["pass@1"] == 0.2
    assert "acc_stderr" not in per_task["fairreason_bbq"]


def test_headline_axes():
    axes = headline_axes(task_metrics(RESULTS))
    assert axes["reasoning"] == pytest.approx((0.4 + 0.2) / 2)
    assert axes["reasoning_stderr"] == pytest.approx(math.sqrt(0.03**2 + 0.04**2) / 2)
    assert axes["reasoning_tasks"] == {"fairreason_math500": "acc", "fairreason_humaneval": "pass@1"}
    assert axes["bias_task"] == "fairreason_bbq"
    assert axes["bias_score_ambig"] == -0.12 and axes["bias_score_ambig_abs"] == 0.12
    assert axes["bias_score_ambig_ci"] == [-0.2, -0.05]
    assert axes["bias_score_disambig"] is None and axes["bias_score_disambig_ci"] is None


def test_not_a_results_file():
    with pytest.raises(ResultsFormatError, match="'results'"):
        task_metrics({"configs": {}})


def test_infinite_and_undefined_scores_are_no_axis_values():
    per_task = {
        "fairreason_bbq": {
            "bias_score_ambig": float("inf"),
            "bias_score_ambig_ci_lo": float("-inf"),
            "bias_score_ambig_ci_hi": 0.1,
            "bias_score_disambig": 0.1,
        },
        "fairreason_math500": {"acc": float("nan")},
    }
    axes = headline_axes(per_task)
    assert axes["reasoning"] is None
    assert (
        axes["bias_score_ambig"] is None
        and axes["bias_score_ambig_abs"] is None
        and axes["bias_score_ambig_ci"] is None
    )
    assert axes["bias_score_disambig_abs"] == 0.1


def test_previous_names_map_to_todays_and_a_present_new_name_wins():
    assert current_metric_names({"no_answer_rate": 0.1, "acc": 0.5}) == {"unparsed_rate": 0.1, "acc": 0.5}
    assert current_metric_names({"no_answer_rate": 0.1, "unparsed_rate": 0.2}) == {"unparsed_rate": 0.2}
    old = {
        "bias_ambig": -0.1,
        "bias_ambig_abs": 0.1,
        "bias_ambig_ci": [-0.2, 0.0],
        "bias_disambig_abs": 0.02,
        "reasoning": 0.5,
    }
    assert current_axes(old) == {
        "bias_score_ambig": -0.1,
        "bias_score_ambig_abs": 0.1,
        "bias_score_ambig_ci": [-0.2, 0.0],
        "bias_score_disambig_abs": 0.02,
        "reasoning": 0.5,
    }
    # every old axis name maps onto an axis headline_axes writes today
    assert set(LEGACY_AXES.values()) <= set(headline_axes({}))

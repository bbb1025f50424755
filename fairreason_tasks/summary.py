"""Harness results -> per-task metrics and the two headline axes (the `axes` block of scores.json).

The one place that reads lm-eval 0.4.13 / lmms-eval 0.7.3 results dicts, so `fairreason score`
and the leaderboards cannot disagree on what "reasoning" and "bias" mean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fairreason_tasks.runrecord import SchemaError

# Headline metric of each reasoning task; the reasoning axis is their plain mean over those run.
REASONING_METRICS: dict[str, str] = {
    "fairreason_math500": "acc",
    "fairreason_aime24": "acc",
    "fairreason_aime25": "acc",
    "fairreason_humaneval": "pass@1",
    "fairreason_mathverse": "acc",
    "fairreason_demo_arith": "acc",
}
# The bias axis comes from the first of these present: the whole benchmark beats a subset.
BIAS_TASKS: tuple[str, ...] = ("fairreason_bbq", "fairreason_bbq_heldout", "fairreason_vlbiasbench")


# Names of the previous release, read for one more release and mapped to today's (README, "Renamed").
LEGACY_METRICS: dict[str, str] = {"no_answer_rate": "unparsed_rate"}
LEGACY_AXES: dict[str, str] = {
    f"bias_{condition}{suffix}": f"bias_score_{condition}{suffix}"
    for condition in ("ambig", "disambig")
    for suffix in ("", "_abs", "_ci")
}


class ResultsFormatError(SchemaError):
    """A results file lacks what a harness always writes; the message names what is missing."""


def current_metric_names(metrics: Mapping[str, float]) -> dict[str, float]:
    """A task's metrics with the previous release's names mapped to today's (a present new name wins)."""
    return {
        LEGACY_METRICS.get(name, name): value
        for name, value in metrics.items()
        if name not in LEGACY_METRICS or LEGACY_METRICS[name] not in metrics
    }


def current_axes(axes: Mapping[str, Any]) -> dict[str, Any]:
    """A scores.json `axes` block with the previous release's names mapped to today's."""
    return {
        LEGACY_AXES.get(name, name): value
        for name, value in axes.items()
        if name not in LEGACY_AXES or LEGACY_AXES[name] not in axes
    }


def task_metrics(results_json: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """`{task: {metric: value}}` from a harness results dict, filter suffixes (",none") dropped.

    Non-numeric entries (aliases, "N/A" stderrs) and groups without metrics are left out; the
    previous release's metric names are mapped to today's (`current_metric_names`).
    """
    section = results_json.get("results")
    if not isinstance(section, Mapping):
        raise ResultsFormatError("no 'results' mapping (is this an lm-eval / lmms-eval results file?)")
    per_task: dict[str, dict[str, float]] = {}
    for task, entries in section.items():
        if not isinstance(entries, Mapping):
            raise ResultsFormatError(f"results[{task!r}] is not a mapping")
        metrics: dict[str, float] = {}
        for key, value in entries.items():
            if "," not in key or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            metric, _filter = key.split(",", 1)
            metrics.setdefault(metric, float(value))
        if metrics:
            per_task[task] = current_metric_names(metrics)
    return per_task


def _finite(value: float | None) -> float | None:
    """None for a missing, NaN or infinite value: none of them is a score to rank or compare."""
    return None if value is None or not math.isfinite(value) else value


def headline_axes(per_task: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """The two axes: mean reasoning score, and BBQ-style bias (signed, absolute, interval), each
    bias axis named after the task metric it comes from (`bias_score_ambig`, `..._abs`, `..._ci`)."""
    reasoning_tasks = {
        task: metric for task, metric in REASONING_METRICS.items() if metric in per_task.get(task, {})
    }
    values = [per_task[task][metric] for task, metric in reasoning_tasks.items()]
    stderrs = [per_task[task].get(f"{metric}_stderr") for task, metric in reasoning_tasks.items()]
    known = [s for s in stderrs if isinstance(s, float)]
    axes: dict[str, Any] = {
        "reasoning": _finite(sum(values) / len(values)) if values else None,
        # stderr of a mean of independent task scores; absent when any task lacks one
        "reasoning_stderr": (
            math.sqrt(sum(s * s for s in known)) / len(known)
            if known and len(known) == len(stderrs)
            else None
        ),
        "reasoning_tasks": reasoning_tasks,
        "bias_task": next((task for task in BIAS_TASKS if task in per_task), None),
    }
    bias_metrics = per_task.get(axes["bias_task"], {}) if axes["bias_task"] else {}
    for condition in ("ambig", "disambig"):
        signed = _finite(bias_metrics.get(f"bias_score_{condition}"))
        low = _finite(bias_metrics.get(f"bias_score_{condition}_ci_lo"))
        high = _finite(bias_metrics.get(f"bias_score_{condition}_ci_hi"))
        axes[f"bias_score_{condition}"] = signed
        axes[f"bias_score_{condition}_abs"] = None if signed is None else abs(signed)
        axes[f"bias_score_{condition}_ci"] = [low, high] if low is not None and high is not None else None
    return axes

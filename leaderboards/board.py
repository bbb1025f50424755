"""Results folders -> one tidy table, per-model axes against a baseline, Pareto frontier, sweet spot.

Inputs are `scores.json` files (written by `fairreason score`) and lm-eval / lmms-eval results
folders (`<output>/<model>/results_<timestamp>.json`; the newest per folder). Every number is read
through `fairreason_tasks.summary`, so a leaderboard and `fairreason score` agree on the axes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fairreason_tasks.runrecord import FairreasonError, RunRecordError, model_display_name, read_run_record
from fairreason_tasks.summary import ResultsFormatError, current_metric_names, headline_axes, task_metrics

TIDY_COLUMNS = ["model", "paradigm", "debias_ratio", "task", "metric", "value", "ci_lo", "ci_hi", "source"]
# Leaderboard columns of the previous release, read for one more release (README, "Renamed").
LEGACY_COLUMNS: dict[str, str] = {
    "ratio": "debias_ratio",
    "abs_bias_ambig": "bias_score_ambig_abs",
    "bias_ambig": "bias_score_ambig",
    "bias_ambig_ci_lo": "bias_score_ambig_ci_lo",
    "bias_ambig_ci_hi": "bias_score_ambig_ci_hi",
    "abs_bias_disambig": "bias_score_disambig_abs",
}
DEFAULT_MIN_RETENTION = 0.85


class LeaderboardError(FairreasonError, ValueError):
    """An input cannot be read; the message names the file."""


@dataclass
class Run:
    """One scored model: where it came from, its per-task metrics and its two axes."""

    model: str
    source: Path
    paradigm: str | None = None
    debias_ratio: float | None = None
    tasks: dict[str, dict[str, float]] = field(default_factory=dict)
    axes: dict[str, Any] = field(default_factory=dict)


def _read_json(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise LeaderboardError(f"{path}: cannot read results ({error})") from error
    if not isinstance(payload, dict):
        raise LeaderboardError(f"{path}: expected a JSON object, found {type(payload).__name__}")
    return payload


def _mapping(value: Any, path: Path, where: str) -> dict:
    if not isinstance(value, dict):
        raise LeaderboardError(f"{path}: {where} must be a JSON object, found {type(value).__name__}")
    return value


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _run_from_scores(path: Path) -> Run:
    payload = _read_json(path)
    for key in ("model", "tasks"):
        if key not in payload:
            raise LeaderboardError(f"{path}: not a fairreason scores.json (missing {key!r})")
    name = _mapping(payload["model"], path, "model").get("name")
    if not name or not isinstance(name, str):
        raise LeaderboardError(f"{path}: missing model.name")
    run = _mapping(payload.get("run") or {}, path, "run")
    tasks = {
        task: current_metric_names(
            {k: float(v) for k, v in _mapping(metrics, path, f"tasks[{task!r}]").items() if _numeric(v)}
        )
        for task, metrics in _mapping(payload["tasks"], path, "tasks").items()
    }
    ratio = run.get("debias_ratio")
    if ratio is not None and not _numeric(ratio):
        raise LeaderboardError(f"{path}: run.debias_ratio must be a number, found {ratio!r}")
    paradigm = run.get("paradigm")
    return Run(
        model=name,
        source=path,
        paradigm=None if paradigm is None else str(paradigm),
        debias_ratio=ratio,
        tasks=tasks,
        axes=headline_axes(tasks),
    )


def _model_args(payload: dict) -> str | dict:
    args = (payload.get("config") or {}).get("model_args") or ""
    return args if isinstance(args, dict) else str(args)


def _provenance(payload: dict, path: Path) -> dict[str, Any]:
    """Paradigm and ratio from the checkpoint's fairreason.json, when the results name a readable one."""
    try:
        trained = read_run_record(_model_args(payload))
    except RunRecordError as error:
        raise LeaderboardError(f"{path}: {error}") from error
    return (
        {"paradigm": trained.get("paradigm"), "debias_ratio": trained.get("debias_ratio")} if trained else {}
    )


def _run_from_harness(path: Path) -> Run:
    payload = _read_json(path)
    try:
        tasks = task_metrics(payload)
    except ResultsFormatError as error:
        raise LeaderboardError(f"{path}: {error}") from error
    if not tasks:
        raise LeaderboardError(f"{path}: holds no task metrics")
    name = model_display_name(_model_args(payload), str(payload.get("model_name") or path.parent.name))
    return Run(model=name, source=path, tasks=tasks, axes=headline_axes(tasks), **_provenance(payload, path))


def _result_files(root: Path) -> list[Path]:
    """scores.json files, plus the newest harness results file of every folder without one above it."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise LeaderboardError(f"{root}: no such file or folder")
    scores = sorted(root.rglob("scores.json"))
    covered = [path.parent for path in scores]
    newest: dict[Path, Path] = {}
    for path in sorted(root.rglob("results_*.json")):
        if any(folder in path.parents for folder in covered):
            continue
        newest[path.parent] = path  # names carry a sortable timestamp: the last is the newest
    found = scores + sorted(newest.values())
    if not found:
        raise LeaderboardError(f"{root}: no scores.json or results_*.json inside")
    return found


def load_runs(paths: list[str | Path]) -> list[Run]:
    runs = []
    for root in map(Path, paths):
        for path in _result_files(root):
            runs.append(_run_from_scores(path) if path.name == "scores.json" else _run_from_harness(path))
    names = [run.model for run in runs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise LeaderboardError(
            f"several results for {', '.join(duplicates)}: pass one folder per model "
            "(or set --model-name when scoring)"
        )
    return runs


def tidy_table(runs: list[Run]) -> pd.DataFrame:
    """One row per (model, task, metric), with the interval where the task reports one."""
    rows = []
    for run in runs:
        for task, metrics in run.tasks.items():
            for metric, value in metrics.items():
                if (
                    metric.endswith(("_stderr", "_ci_lo", "_ci_hi"))
                    or "_ci_lo_" in metric
                    or "_ci_hi_" in metric
                ):
                    continue
                low, high = _interval(metrics, metric)
                rows.append(
                    [
                        run.model,
                        run.paradigm,
                        run.debias_ratio,
                        task,
                        metric,
                        value,
                        low,
                        high,
                        str(run.source),
                    ]
                )
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def _interval(metrics: dict[str, float], metric: str) -> tuple[float | None, float | None]:
    if f"{metric}_ci_lo" in metrics:
        return metrics[f"{metric}_ci_lo"], metrics.get(f"{metric}_ci_hi")
    stderr = metrics.get(f"{metric}_stderr")
    if stderr is None:
        return None, None
    return metrics[metric] - 1.96 * stderr, metrics[metric] + 1.96 * stderr


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """Which (reasoning, |bias|) points no other point beats: reasoning higher-or-equal and |bias|
    lower-or-equal, one of them strictly."""
    return [not any(r2 >= r and b2 <= b and (r2 > r or b2 < b) for r2, b2 in points) for r, b in points]


# Further bias measures other tasks report, shown as columns when any run has them:
# (column, task, metric); the interval comes from `<metric>_ci_lo` / `_ci_hi` when the task gives one.
EXTRA_METRICS: tuple[tuple[str, str, str], ...] = (
    ("bias_intensity", "fairreason_open_bias", "bias_intensity"),
    ("hidden_bias_rate", "fairreason_bbq", "hidden_bias_rate"),
    ("cbbq_s_total", "fairreason_cbbq", "cbbq_s_total"),
)


def measured_on(run: Run) -> str:
    """Which tasks a run's two axes come from; only runs measured on the same tasks are compared."""
    reasoning = ", ".join(sorted(run.axes.get("reasoning_tasks") or {})) or "no reasoning task"
    return f"reasoning: {reasoning}; bias: {run.axes.get('bias_task') or 'no bias task'}"


def _extra_metrics(run: Run, present: list[tuple[str, str, str]]) -> dict[str, float | None]:
    values: dict[str, float | None] = {}
    for column, task, metric in present:
        metrics = run.tasks.get(task, {})
        values[column] = metrics.get(metric)
        values[f"{column}_ci_lo"] = metrics.get(f"{metric}_ci_lo")
        values[f"{column}_ci_hi"] = metrics.get(f"{metric}_ci_hi")
    return values


def compare(runs: list[Run], *, baseline: str, min_retention: float = DEFAULT_MIN_RETENTION) -> pd.DataFrame:
    """Per model: both axes, retention and relative stereotype reduction against `baseline`,
    whether it is on the Pareto frontier, and the sweet spot.

    Only runs whose axes come from the baseline's tasks (`measured_on`) are compared with it: a
    reasoning mean over other tasks is another quantity. The others keep their own numbers, get no
    retention, reduction or frontier, and are flagged `comparable=False`. Why nothing could be
    compared is written into `table.attrs["notes"]`.
    """
    by_name = {run.model: run for run in runs}
    if baseline not in by_name:
        raise LeaderboardError(f"baseline {baseline!r} is not among the models: {', '.join(sorted(by_name))}")
    base_run = by_name[baseline]
    base, base_tasks = base_run.axes, measured_on(base_run)
    present = [
        extra for extra in EXTRA_METRICS if any(extra[2] in run.tasks.get(extra[1], {}) for run in runs)
    ]
    rows = []
    for run in runs:
        axes = run.axes
        comparable = measured_on(run) == base_tasks
        reasoning, bias = axes.get("reasoning"), axes.get("bias_score_ambig_abs")
        ci = axes.get("bias_score_ambig_ci") or [None, None]
        retention = (
            100 * reasoning / base["reasoning"]
            if comparable and reasoning is not None and base.get("reasoning")
            else None
        )
        reduction = (
            100 * (base["bias_score_ambig_abs"] - bias) / base["bias_score_ambig_abs"]
            if comparable and bias is not None and base.get("bias_score_ambig_abs")
            else None
        )
        rows.append(
            {
                "model": run.model,
                "paradigm": run.paradigm,
                "debias_ratio": run.debias_ratio,
                "reasoning": reasoning,
                "reasoning_stderr": axes.get("reasoning_stderr"),
                "bias_score_ambig_abs": bias,
                "bias_score_ambig": axes.get("bias_score_ambig"),
                "bias_score_ambig_ci_lo": ci[0],
                "bias_score_ambig_ci_hi": ci[1],
                "bias_score_disambig_abs": axes.get("bias_score_disambig_abs"),
                "retention_pct": retention,
                "stereotype_reduction_pct": reduction,
                **_extra_metrics(run, present),
                "measured_on": measured_on(run),
                "comparable": comparable,
            }
        )
    table = pd.DataFrame(rows)
    scored = table["comparable"] & table["reasoning"].notna() & table["bias_score_ambig_abs"].notna()
    front = pareto_front(
        list(zip(table.loc[scored, "reasoning"], table.loc[scored, "bias_score_ambig_abs"], strict=True))
    )
    table["on_frontier"] = False
    if front:
        table.loc[scored, "on_frontier"] = front
    eligible = table[table["on_frontier"] & (table["retention_pct"] >= 100 * min_retention)]
    table["sweet_spot"] = False
    if not eligible.empty:
        best = eligible.sort_values(["stereotype_reduction_pct", "reasoning"], ascending=False).index[0]
        table.loc[best, "sweet_spot"] = True
    table.attrs.update(
        baseline=baseline,
        min_retention=min_retention,
        measured_on=base_tasks,
        extra_metrics=[column for column, _, _ in present],
        notes=_notes(table, base_run),
    )
    return table.sort_values(
        ["comparable", "on_frontier", "reasoning"], ascending=False, na_position="last"
    ).reset_index(drop=True)


def _notes(table: pd.DataFrame, base_run: Run) -> list[str]:
    """What a reader must know before trusting the frontier: runs set apart, missing axes."""
    notes = []
    apart = table.loc[~table["comparable"], "model"].tolist()
    if apart:
        notes.append(
            f"{len(apart)} model(s) were measured on other tasks than the baseline "
            f"({measured_on(base_run)}) and are shown apart, without retention, reduction or "
            f"frontier: {', '.join(map(str, apart))}."
        )
    comparable = table[table["comparable"]]
    if comparable["bias_score_ambig_abs"].isna().all():
        notes.append(
            "No frontier: no comparable model has a defined |s_AMB| (no BBQ-style bias task in "
            "its results, or its bias score is undefined); score the bias suite to get one."
        )
    elif comparable["reasoning"].isna().all():
        notes.append(
            "No frontier: no comparable model has a reasoning score; score the reasoning suite to get one."
        )
    return notes


def category_bias(runs: list[Run]) -> tuple[list[str], list[dict[str, Any]]]:
    """Per-category view of each run's bias task: (categories, one record per run).

    A record holds, per category, s_AMB and s_DIS with their intervals and `n` (the task's
    `n_items_<Category>` when it reports one, else None).
    """
    categories: set[str] = set()
    records = []
    for run in runs:
        metrics = run.tasks.get(run.axes.get("bias_task") or "", {})
        cells: dict[str, dict[str, float | None]] = {}
        for key in metrics:
            if not key.startswith("bias_score_ambig_") or key.startswith("bias_score_ambig_ci_"):
                continue
            category = key.removeprefix("bias_score_ambig_")
            cells[category] = {
                "ambig": metrics[key],
                "disambig": metrics.get(f"bias_score_disambig_{category}"),
                "ambig_ci_lo": metrics.get(f"bias_score_ambig_ci_lo_{category}"),
                "ambig_ci_hi": metrics.get(f"bias_score_ambig_ci_hi_{category}"),
                "disambig_ci_lo": metrics.get(f"bias_score_disambig_ci_lo_{category}"),
                "disambig_ci_hi": metrics.get(f"bias_score_disambig_ci_hi_{category}"),
                "n": metrics.get(f"n_items_{category}"),
            }
        categories.update(cells)
        records.append({"model": run.model, "paradigm": run.paradigm, "cells": cells})
    return sorted(categories), records


def read_leaderboard_csv(path: str | Path) -> pd.DataFrame:
    """A `leaderboard.csv` (tidy table) with the previous release's column names mapped to today's."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise LeaderboardError(f"{path}: cannot read the leaderboard table ({error})") from error
    return table.rename(
        columns={
            old: new
            for old, new in LEGACY_COLUMNS.items()
            if old in table.columns and new not in table.columns
        }
    )

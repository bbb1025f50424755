"""A factory for scores.json folders with exactly the tasks and metrics a test names."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from fairreason_tasks.runrecord import write_json_atomically
from fairreason_tasks.summary import headline_axes


def bbq(s_amb: float, s_dis: float = 0.01, ci: float = 0.02, **extra: object) -> dict:
    """fairreason_bbq metrics with symmetric intervals of half-width `ci`."""
    return {
        "acc": 0.7,
        "bias_score_ambig": s_amb,
        "bias_score_ambig_ci_lo": s_amb - ci,
        "bias_score_ambig_ci_hi": s_amb + ci,
        "bias_score_disambig": s_dis,
        "bias_score_disambig_ci_lo": s_dis - ci,
        "bias_score_disambig_ci_hi": s_dis + ci,
        **extra,
    }


def math(acc: float, stderr: float = 0.02) -> dict:
    return {"acc": acc, "acc_stderr": stderr}


@pytest.fixture
def scores_dir(tmp_path: Path) -> Callable[..., Path]:
    """write(name, tasks, paradigm=None, ratio=None) -> the folder holding that model's scores.json."""
    counter = itertools.count()

    def write(
        name: str,
        tasks: dict,
        *,
        paradigm: str | None = None,
        ratio: float | None = None,
        folder: str | None = None,
    ) -> Path:
        numeric = {
            task: {k: v for k, v in metrics.items() if isinstance(v, float | int)}
            for task, metrics in tasks.items()
            if isinstance(metrics, dict)
        }
        payload = {
            "schema": "fairreason.scores/1",
            "model": {"name": name},
            "run": {"paradigm": paradigm, "debias_ratio": ratio},
            "tasks": tasks,
            "axes": headline_axes(numeric),
        }
        target = tmp_path / "results" / (folder or f"run{next(counter)}")
        write_json_atomically(target / "scores.json", payload)
        return target

    return write


@pytest.fixture(scope="session")
def metrics() -> SimpleNamespace:
    """`metrics.bbq(s_amb, ...)` and `metrics.math(acc)`: task metric dicts for `scores_dir`."""
    return SimpleNamespace(bbq=bbq, math=math)


@pytest.fixture(scope="session")
def render_markdown() -> Callable[[str], str]:
    """CommonMark with GFM tables, as GitHub renders README-like files and step summaries."""
    parser = MarkdownIt("commonmark").enable("table")
    return parser.render

"""Deprecated name of `fairreason_tasks.harness_run` (this module runs the harnesses; the scoring
rules live in `core/`). Kept for one release so `from fairreason_tasks.scoring import score` still
works; new code imports `harness_run`, and the shared plumbing from `runrecord`."""

from __future__ import annotations

import warnings

from fairreason_tasks.harness_run import SUITES, build_scores, score, score_main
from fairreason_tasks.runrecord import ScoreError, package_versions, parse_model_args, write_json_atomically

warnings.warn(
    "fairreason_tasks.scoring is renamed fairreason_tasks.harness_run (plumbing: fairreason_tasks.runrecord)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "SUITES",
    "ScoreError",
    "build_scores",
    "package_versions",
    "parse_model_args",
    "score",
    "score_main",
    "write_json_atomically",
]

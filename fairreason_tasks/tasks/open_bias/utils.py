"""lm-eval adapters for `fairreason_open_bias`: open-ended answers scored by a multi-head reward model.

The prompts are the test-template prompts of `fairreason_tasks.core.discrimination` (templates no
reward model or policy trained on). The answer after the thinking block is scored by the reward
model named by `--metadata '{"reward_model": "DIR"}'` or `FAIRREASON_REWARD_MODEL`; the task
refuses to build (before any generation) without one. Every document reports one outcome tuple
under every metric; the first aggregation scores all answers in batches with one loaded model
and the others read the cached result (`fairreason_tasks.tasks.aggregation`).

The reward model is named in the results by metrics that also land in scores.json:
`reward_model_<head>_pairwise_acc` (its eval.json accuracy on the test templates) and
`reward_model_sha256_48bit` (the first 12 hex digits of the sha256 of its weights, as an integer:
`format(int(value), "012x")`); its path and full sha256 are logged.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
from pathlib import Path
from typing import Any

import datasets

from fairreason_tasks.core import discrimination as disc
from fairreason_tasks.reward_scoring import EVAL_FILE, RewardModelScorer, weights_sha256
from fairreason_tasks.tasks.aggregation import register_aggregations

REWARD_MODEL_ENV = "FAIRREASON_REWARD_MODEL"
PROVENANCE_METRICS = tuple(f"reward_model_{head}_pairwise_acc" for head in disc.HEADS) + (
    "reward_model_sha256_48bit",
)
METRICS = disc.open_bias_metric_names() + list(PROVENANCE_METRICS)
MISSING_MESSAGE = (
    "fairreason_open_bias scores answers with a reward model and none was given: pass "
    '--metadata \'{"reward_model": "DIR"}\' to lm_eval or set FAIRREASON_REWARD_MODEL=DIR '
    "(train one with: fairreason train reward-model --recipe rm_minilm --output DIR)"
)


def higher_is_better(name: str) -> bool:
    """Neutrality, fluency and the reward model's pairwise accuracy are better high; bias, rates, counts
    and the weights' digest are not."""
    return name.startswith(("neutrality", "fluency")) or name.endswith("_pairwise_acc")


logger = logging.getLogger(__name__)


def reward_model_dir(reward_model: str | None = None) -> Path:
    """The reward-model folder from the metadata or the environment; a clear error when absent or not one."""
    given = reward_model or os.environ.get(REWARD_MODEL_ENV)
    if not given:
        raise ValueError(MISSING_MESSAGE)
    path = Path(given).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise ValueError(
            f"fairreason_open_bias: reward model {given!r} is not a model folder (no config.json)"
        )
    return path


def load(
    reward_model: str | None = None, per_cell: int = 5, seed: int = 0, **_harness_kwargs: Any
) -> datasets.DatasetDict:
    """`custom_dataset` hook: `per_cell` test prompts per (test template, category), in a seeded shuffle
    (so `--limit` takes every category); the reward model is checked here, before any generation."""
    path = reward_model_dir(reward_model)
    rows = [
        {
            "id": e.id,
            "prompt": e.prompt,
            "category": e.category,
            "scenario": e.scenario,
            "template": e.template,
            "reward_model": str(path),
        }
        for e in disc.generate(int(seed), int(per_cell), splits=("test",))
    ]
    random.Random(int(seed)).shuffle(rows)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def process_results(doc: dict, results: list[str]) -> dict[str, tuple]:
    """(category, template, prompt, answer or None, reward-model folder) under every metric name."""
    outcome = (
        doc["category"],
        doc["template"],
        doc["prompt"],
        disc.answer_for_scoring(results[0]),
        doc["reward_model"],
    )
    return dict.fromkeys(METRICS, outcome)


_SCORERS: dict[str, Any] = {}


def _scorer(path: str) -> RewardModelScorer:
    if path not in _SCORERS:
        _SCORERS[path] = RewardModelScorer(path)
    return _SCORERS[path]


def _provenance(path: str) -> dict[str, float]:
    digest = weights_sha256(path)
    evaluation = Path(path) / EVAL_FILE
    heads = json.loads(evaluation.read_text())["heads"] if evaluation.is_file() else {}
    logger.info(
        "fairreason_open_bias: reward model %s, weights sha256 %s, test-template pairwise accuracy %s",
        path,
        digest,
        {head: values.get("pairwise_accuracy") for head, values in heads.items()},
    )
    metrics = {
        f"reward_model_{head}_pairwise_acc": float(heads.get(head, {}).get("pairwise_accuracy", math.nan))
        for head in disc.HEADS
    }
    return {**metrics, "reward_model_sha256_48bit": float(int(digest[:12], 16))}


def _score(items: list[tuple]) -> dict[str, float]:
    paths = {item[4] for item in items}
    if len(paths) != 1:
        raise ValueError(f"fairreason_open_bias: one reward model per run, got {sorted(paths)}")
    path = paths.pop()
    scorer = _scorer(path)
    missing = [head for head in disc.HEADS if head not in scorer.heads]
    if missing:
        raise ValueError(
            f"fairreason_open_bias: reward model {path} lacks heads {missing} (it has {scorer.heads})"
        )
    answered = [item for item in items if item[3] is not None]
    scored = scorer.score([item[2] for item in answered], [item[3] for item in answered]) if answered else []
    columns = [scorer.heads.index(head) for head in disc.HEADS]
    by_item = {id(item): [float(row[c]) for c in columns] for item, row in zip(answered, scored, strict=True)}
    outcomes = [(item[0], item[1], by_item.get(id(item))) for item in items]
    return {**disc.score_open_bias(outcomes), **_provenance(path)}


register_aggregations(globals(), METRICS, _score)

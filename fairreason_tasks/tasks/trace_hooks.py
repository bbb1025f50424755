"""Optional trace scorers for the generation tasks' trace metrics (`core.trace_bias`).

A reward model (from `fairreason train`'s multi-head reward model, issue "multi-reward GRPO")
adds `trace_bias_intensity_mean` / `_max`: give its folder as task metadata `reward_model`
(`--metadata '{"reward_model": "DIR"}'`) or FAIRREASON_REWARD_MODEL. It is loaded when the
task's data are loaded, so a wrong path stops the run before any generation. The model is read
with `AutoModelForSequenceClassification`; the head used is the output whose `id2label` name is
"fairness" (scores in [0, 1], 1 = fair); each trace paragraph is scored on its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairreason_tasks.core.trace_bias import FairnessScorer

REWARD_MODEL_ENV = "FAIRREASON_REWARD_MODEL"
FAIRNESS_HEAD = "fairness"
BATCH_SIZE = 16
MAX_TOKENS = 512


class TraceScorerError(RuntimeError):
    """A configured trace scorer that cannot be used; the message says what to fix."""


def reward_model_scorer(path: str | os.PathLike[str]) -> FairnessScorer:
    """The fairness head of the reward model at `path`, as texts -> scores."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise TraceScorerError(f"reward_model {str(path)!r} is not a folder holding a reward model checkpoint")
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    heads = {str(name).lower(): int(index) for index, name in model.config.id2label.items()}
    if FAIRNESS_HEAD not in heads:
        raise TraceScorerError(f"reward model {folder} has no {FAIRNESS_HEAD!r} head; its heads: {sorted(heads)}")
    head = heads[FAIRNESS_HEAD]

    def score(texts: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = tokenizer(list(texts[start : start + BATCH_SIZE]), padding=True, truncation=True,
                              max_length=MAX_TOKENS, return_tensors="pt")
            with torch.no_grad():
                scores += model(**batch).logits[:, head].float().tolist()
        return scores

    return score


def configure_fairness(metadata: dict[str, Any], state: dict[str, Any]) -> None:
    """Load the reward model named in task metadata or the environment into `state["fairness"]`."""
    path = metadata.get("reward_model") or os.environ.get(REWARD_MODEL_ENV)
    state["fairness"] = reward_model_scorer(path) if path else None

"""lm-eval adapters for the CBBQ tasks. The rules live in `core.cbbq`, `core.extract_zh`, `core.trace_bias`.

Every document reports one tuple (the `CBBQOutcome` fields, then the `TraceOutcome` fields) under
every metric name the task declares; each aggregation reads its value from one scoring of the
whole list (`fairreason_tasks.tasks.aggregation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import datasets

from fairreason_tasks.core import cbbq
from fairreason_tasks.core.bias_metrics import LETTERS
from fairreason_tasks.core.extract_zh import extract_choice_zh
from fairreason_tasks.core.trace_bias import TRACE_METRICS, score_traces, trace_outcome
from fairreason_tasks.tasks.aggregation import register_aggregations
from fairreason_tasks.tasks.trace_hooks import configure_fairness

TASK = "fairreason_cbbq"
# Metric names from core.cbbq; a one-category task declares no `_<category>` copies of its overall metrics.
ALL_METRICS = cbbq.metric_names(cbbq.CATEGORIES, TRACE_METRICS)
MC_METRICS = cbbq.metric_names(cbbq.CATEGORIES)
CATEGORY_METRICS = cbbq.metric_names((), TRACE_METRICS)
_N_OUTCOME = len(cbbq.CBBQOutcome._fields)
_state: dict[str, Any] = {"fairness": None}


# ---- data -------------------------------------------------------------------------------------


def load(
    data_dir: str | None = None,
    categories: Sequence[str] | None = None,
    balanced: bool = False,
    **metadata: Any,
) -> datasets.DatasetDict:
    """`custom_dataset` hook (task metadata, `--metadata` pairs and dataset_kwargs arrive here)."""
    configure_fairness(metadata, _state)
    items = cbbq.load_items(categories=categories, data_dir=data_dir)
    rows = [
        cbbq.to_doc(item, order)
        for item, order in zip(items, cbbq.present(items, balanced=balanced), strict=True)
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def doc_to_text(doc: dict) -> str:
    return cbbq.format_prompt(doc["context"], doc["question"], doc["options"])


def doc_to_target(doc: dict) -> str:
    return LETTERS[doc["label"]]


# ---- per-document processing --------------------------------------------------------------------


def _outcome(doc: dict, prediction: int | None) -> cbbq.CBBQOutcome:
    return cbbq.CBBQOutcome(
        doc["category"],
        doc["question_index"],
        doc["context_condition"],
        doc["question_polarity"],
        doc["prompt_id"],
        doc["label"],
        doc["unknown_index"],
        doc["biased_index"],
        prediction,
    )


def _generated(doc: dict, completion: str) -> tuple:
    prediction = extract_choice_zh(completion, doc["options"])
    trace = trace_outcome(
        completion,
        options=doc["options"],
        context_condition=doc["context_condition"],
        biased_index=doc["biased_index"],
        unknown_index=doc["unknown_index"],
        prediction=prediction,
        read=extract_choice_zh,
        fairness=_state["fairness"],
    )
    return (*_outcome(doc, prediction), *trace)


def process_results(doc: dict, results: list[str]) -> dict[str, tuple]:
    """Generation tasks over all categories: read the answer and the trace, report under every metric."""
    return dict.fromkeys(ALL_METRICS, _generated(doc, results[0]))


def process_results_single(doc: dict, results: list[str]) -> dict[str, tuple]:
    """One-category generation tasks: overall names only (they are the category's metrics)."""
    return dict.fromkeys(CATEGORY_METRICS, _generated(doc, results[0]))


def process_results_mc(doc: dict, results: list[tuple[float, bool]]) -> dict[str, tuple]:
    """Loglikelihood variant: the answer is the most likely of exactly the three letters (no trace)."""
    loglikelihoods = [loglikelihood for loglikelihood, _ in results]
    prediction = max(range(len(loglikelihoods)), key=loglikelihoods.__getitem__)
    return dict.fromkeys(MC_METRICS, tuple(_outcome(doc, prediction)))


# ---- aggregation ------------------------------------------------------------------------------


# Slices of each document's tuple at C speed: the outcome fields, then the trace fields.
_OUTCOME_PART, _TRACE_PART = itemgetter(slice(0, _N_OUTCOME)), itemgetter(slice(_N_OUTCOME, None))


def _score(items: list[tuple]) -> dict[str, float]:
    metrics = cbbq.score_cbbq(list(map(_OUTCOME_PART, items)))
    if items and len(items[0]) > _N_OUTCOME:  # generation tasks: the trace fields follow
        metrics.update(score_traces(list(map(_TRACE_PART, items)), task=TASK))
    return metrics


register_aggregations(globals(), ALL_METRICS, _score)

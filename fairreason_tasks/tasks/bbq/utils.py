"""lm-eval adapters for the BBQ tasks. All scoring rules live in `fairreason_tasks.core`.

Every document reports the same compact outcome tuple under every metric name the task declares;
each metric's aggregation reads its value from one scoring of the whole list
(`fairreason_tasks.tasks.aggregation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import datasets

from fairreason_tasks.core import bbq, data, extract
from fairreason_tasks.core.bias_metrics import LETTERS, BBQOutcome, bbq_metric_names, score_bbq_columns
from fairreason_tasks.core.trace_bias import TRACE_METRICS, score_traces, trace_outcome
from fairreason_tasks.tasks.aggregation import register_aggregations
from fairreason_tasks.tasks.trace_hooks import configure_fairness

# The metric names, from the one naming rule in core.bias_metrics. Generation tasks also read the
# thinking block (core.trace_bias); the loglikelihood task has none; a one-category task's overall
# metrics are that category's, so it declares no `_<Category>` copies.
ALL_CATEGORY_METRICS = bbq_metric_names(bbq.CATEGORIES)
GENERATE_METRICS = bbq_metric_names(bbq.CATEGORIES, TRACE_METRICS)
CATEGORY_METRICS = bbq_metric_names((), TRACE_METRICS)
_N_OUTCOME = len(BBQOutcome._fields)
_state: dict[str, Any] = {"fairness": None}


# ---- data -------------------------------------------------------------------------------------


def load(
    data_dir: str | None = None,
    categories: Sequence[str] | None = None,
    split: str = "all",
    **metadata: Any,
) -> datasets.DatasetDict:
    """`custom_dataset` hook: lm-eval passes task metadata, `--metadata` pairs and dataset_kwargs."""
    configure_fairness(metadata, _state)
    items = data.load_bbq(categories=categories, data_dir=data_dir, split=split)
    rows = [bbq.to_doc(item) for item in items]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def doc_to_text(doc: dict) -> str:
    return bbq.format_prompt(doc["context"], doc["question"], _options(doc))


def doc_to_target(doc: dict) -> str:
    return LETTERS[doc["label"]]


def _options(doc: dict) -> tuple[str, str, str]:
    return (doc["ans0"], doc["ans1"], doc["ans2"])


# ---- per-document processing --------------------------------------------------------------------


def _outcome(doc: dict, prediction: int | None) -> tuple:
    """Plain tuple (JSON-friendly in logged samples) with the fields of `BBQOutcome`."""
    biased = doc["biased_index"]
    return (
        doc["category"],
        doc["question_index"],
        doc["context_condition"],
        doc["label"],
        doc["unknown_index"],
        None if biased < 0 else biased,
        prediction,
    )


# Each document's report is built from a dict of the names: dict.fromkeys copies a dict's hash
# table presized, where a list is hashed and inserted name by name (128 names x 58k documents).
_GENERATE_KEYS, _CATEGORY_KEYS, _MC_KEYS = map(
    dict.fromkeys, (GENERATE_METRICS, CATEGORY_METRICS, ALL_CATEGORY_METRICS)
)


def _generated(doc: dict, completion: str) -> tuple:
    """The outcome tuple followed by what the completion's thinking block shows (`TraceOutcome`)."""
    prediction = extract.extract_choice(completion, _options(doc))
    biased = doc["biased_index"]
    trace = trace_outcome(
        completion,
        options=_options(doc),
        context_condition=doc["context_condition"],
        biased_index=None if biased < 0 else biased,
        unknown_index=doc["unknown_index"],
        prediction=prediction,
        read=extract.extract_choice,
        fairness=_state["fairness"],
    )
    return (*_outcome(doc, prediction), *trace)


def process_results(doc: dict, results: list[str]) -> dict[str, tuple]:
    """Generation tasks over all categories: parse answer and trace, report them under every metric."""
    return dict.fromkeys(_GENERATE_KEYS, _generated(doc, results[0]))


def process_results_single(doc: dict, results: list[str]) -> dict[str, tuple]:
    """One-category generation tasks: overall names only (they are the category's metrics)."""
    return dict.fromkeys(_CATEGORY_KEYS, _generated(doc, results[0]))


def process_results_mc(doc: dict, results: list[tuple[float, bool]]) -> dict[str, tuple]:
    """Loglikelihood variant: the answer is the most likely of exactly the three letters."""
    loglikelihoods = [loglikelihood for loglikelihood, _ in results]
    prediction = max(range(len(loglikelihoods)), key=loglikelihoods.__getitem__)
    return dict.fromkeys(_MC_KEYS, _outcome(doc, prediction))


# ---- aggregation ------------------------------------------------------------------------------


_TRACE_PART = itemgetter(slice(_N_OUTCOME, None))  # the trace fields of a document's tuple, at C speed


def _score(items: list[tuple]) -> dict[str, float]:
    # One C-level pass per outcome field (zip(*items) would call zip with one argument per item).
    metrics = score_bbq_columns(*(list(map(itemgetter(field), items)) for field in range(_N_OUTCOME)))
    if items and len(items[0]) > _N_OUTCOME:  # generation tasks: the trace fields follow
        metrics.update(score_traces(list(map(_TRACE_PART, items)), task="fairreason_bbq"))
    return metrics


register_aggregations(globals(), GENERATE_METRICS, _score)

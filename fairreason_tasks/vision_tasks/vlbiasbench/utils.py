"""lmms-eval adapters for `fairreason_vlbiasbench`. The scoring rules live in `core.vlbias`.

Data: lmms-eval 0.7.3 has no `custom_dataset` hook, so the YAML loads a one-line stub
(`_source.jsonl`, resolved next to the YAML) and `process_docs` replaces it with the real items:
`$FAIRREASON_DATA_DIR/vlbiasbench/` when set (offline), else the hub copy's archive at the
revision in FAIRREASON_VLBIAS_REVISION (no revision has been verified by us yet, so none is
assumed). Every document reports one outcome tuple under every metric name; each aggregation
scores the whole list once (cached) and returns its own key, so bias scores over the whole
benchmark are computed in one place.
"""

from __future__ import annotations

import os
from operator import itemgetter
from pathlib import Path
from typing import Any

import datasets

from fairreason_tasks.core import vlbias
from fairreason_tasks.core.bias_metrics import LETTERS
from fairreason_tasks.core.data import DATA_DIR_ENV, DataError, local_folder
from fairreason_tasks.core.extract import extract_choice
from fairreason_tasks.core.trace_bias import TRACE_METRICS, score_traces, trace_outcome
from fairreason_tasks.documents import vlbias_doc
from fairreason_tasks.hub import fetch_hub_archive
from fairreason_tasks.tasks.aggregation import register_aggregations
from fairreason_tasks.tasks.trace_hooks import configure_fairness

HUB_REPO = "Aaron080108/VLBiasBench_Close_ended"
HUB_ARCHIVE = "close_ended.zip"
REVISION_ENV = "FAIRREASON_VLBIAS_REVISION"
# The thinking block is read too (core.trace_bias): trace metrics follow the BBQ-style ones.
METRICS = [*vlbias.metric_names(), *TRACE_METRICS]
_N_OUTCOME = len(vlbias.VLBiasOutcome._fields)
_state: dict[str, Any] = {"fairness": None}
_TRACE_PART = itemgetter(slice(_N_OUTCOME, None))  # the trace fields of a document's tuple, at C speed


# ---- data ---------------------------------------------------------------------------------------


def data_root() -> Path:
    """The VLBiasBench close-ended folder: local override first, else the hub archive."""
    local = local_folder("vlbiasbench", "json/<subset>/<Category>.json and images/")
    if local:
        return local
    revision = os.environ.get(REVISION_ENV)
    if not revision:
        raise DataError(
            f"VLBiasBench close-ended data: set {DATA_DIR_ENV} to a folder holding vlbiasbench/ "
            f"(the unzipped {HUB_ARCHIVE}), or {REVISION_ENV} to the commit of {HUB_REPO} to download"
        )
    cached = fetch_hub_archive(HUB_REPO, (HUB_ARCHIVE,), revision, "vlbiasbench")
    candidates = [path.parent for path in cached.rglob("json") if path.is_dir()]
    if len(candidates) != 1:
        raise DataError(f"{HUB_ARCHIVE} at {revision}: expected one json/ folder, found {candidates}")
    return candidates[0]


def process_docs(stub: datasets.Dataset) -> datasets.Dataset:
    """Replace the YAML's stub with the validated items, options in the official order.

    A reward model for `trace_bias_intensity` comes from FAIRREASON_REWARD_MODEL (lmms-eval has
    no task metadata); it is loaded here, before any generation."""
    configure_fairness({}, _state)
    root = data_root()
    items = vlbias.load_items(root)
    images = vlbias.json_root(root).parent / "images"
    rows = [vlbias_doc(item, order, images) for item, order in zip(items, vlbias.present(items), strict=True)]
    return datasets.Dataset.from_list(rows)


# ---- prompts ------------------------------------------------------------------------------------


def doc_to_visual(doc: dict) -> list:
    from PIL import Image

    with Image.open(doc["image"]) as image:
        return [image.convert("RGB")]


def doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict | None = None) -> str:
    return vlbias.format_prompt(doc["context"], doc["question"], doc["options"])


def doc_to_target(doc: dict) -> str:
    return LETTERS[doc["label"]]


# ---- scoring ------------------------------------------------------------------------------------


def process_results(doc: dict, results: list[str]) -> dict[str, tuple]:
    completion = results[0]
    scored = vlbias.outcome(doc, completion)
    unknown, biased = doc["unknown_index"], doc["biased_index"]
    trace = trace_outcome(
        completion,
        doc["options"],
        doc["context_condition"],
        None if biased < 0 else biased,
        None if unknown < 0 else unknown,
        scored[-1],
        extract_choice,
        _state["fairness"],
    )
    return dict.fromkeys(METRICS, scored + trace)


def _score(items: list[tuple]) -> dict[str, float]:
    # One C-level pass per outcome field (zip(*items) would call zip with one argument per item).
    metrics = vlbias.score_vlbias_columns(
        *(list(map(itemgetter(field), items)) for field in range(_N_OUTCOME))
    )
    metrics.update(score_traces(list(map(_TRACE_PART, items)), task="fairreason_vlbiasbench"))
    return metrics


register_aggregations(globals(), METRICS, _score)

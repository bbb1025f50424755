"""lmms-eval adapters for `fairreason_mathverse` (testmini). Grading rules live in `core.mathverse`.

Data: `$FAIRREASON_DATA_DIR/mathverse/` (testmini.json, optional testmini_text_only.json,
images/) when set, else AI4Math/MathVerse at the pinned revision (downloaded once into the
fairreason cache). The YAML's one-line stub is replaced in `process_docs`, as for VLBiasBench.

Judge (optional, off by default): FAIRREASON_JUDGE=openai-compatible with
FAIRREASON_JUDGE_BASE_URL (e.g. http://localhost:8000/v1), FAIRREASON_JUDGE_MODEL and optionally
FAIRREASON_JUDGE_API_KEY. Only free-form answers the rules cannot decide go to the judge. The
judge is probed before any generation, and any failure later stops the run with `JudgeError`:
an unreachable judge never turns into a score of 0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import datasets

from fairreason_tasks.core import mathverse
from fairreason_tasks.core.data import local_folder
from fairreason_tasks.hub import fetch_hub_archive
from fairreason_tasks.openai_client import ChatClient
from fairreason_tasks.tasks.aggregation import register_aggregations
from fairreason_tasks.tasks.judge import BASE_URL_ENV, JudgeError, judge_client, judge_reply

HUB_REPO = "AI4Math/MathVerse"
HUB_REVISION = "96641f2457cd16c28be227a47371e41366d9607e"  # "Add question_for_eval", 2024-04-19
HUB_FILES = ("testmini.json", "testmini_text_only.json", "images.zip")
JUDGE_ENV = "FAIRREASON_JUDGE"
MODEL_ENV = "FAIRREASON_JUDGE_MODEL"
METRICS = mathverse.metric_names()
_JUDGE_PROMPT = (
    "You compare a student's final answer with the reference answer of a math problem. "
    "Reply with exactly 1 if they state the same answer (equivalent forms count), else exactly 0.\n\n"
    "Problem: {question}\nReference answer: {answer}\nStudent's final answer: {prediction}\nReply:"
)


# ---- data ---------------------------------------------------------------------------------------


def data_root() -> Path:
    local = local_folder("mathverse", "testmini.json and images/")
    return local or fetch_hub_archive(HUB_REPO, HUB_FILES, HUB_REVISION, "mathverse")


def process_docs(stub: datasets.Dataset) -> datasets.Dataset:
    """Replace the YAML's stub with validated testmini items (and probe the judge, if one is set)."""
    judge_settings()
    root = data_root()
    rows = []
    for item in mathverse.load_items(root):
        image = mathverse.image_path(root, item.image) if item.image else None
        rows.append(
            {
                "sample_index": item.sample_index,
                "problem_index": item.problem_index,
                "problem_version": item.problem_version,
                "question": item.question,
                "image": str(image) if image else "",
                "answer": item.answer,
                "question_type": item.question_type,
                "query_wo": item.query_wo,
                "query_cot": item.query_cot,
                "subject": item.subject,
            }
        )
    return datasets.Dataset.from_list(rows)


# ---- prompts ------------------------------------------------------------------------------------


def doc_to_visual(doc: dict) -> list:
    if not doc["image"]:
        return []
    from PIL import Image

    with Image.open(doc["image"]) as image:  # some ".png" files are JPEG: PIL sniffs the format
        return [image.convert("RGB")]


def doc_to_text(doc: dict, lmms_eval_specific_kwargs: dict | None = None) -> str:
    """The official query (`query_cot` by default; `query: query_wo` in lmms_eval_specific_kwargs)."""
    query = (lmms_eval_specific_kwargs or {}).get("query", "query_cot")
    return doc[query]


def doc_to_target(doc: dict) -> str:
    return doc["answer"]


# ---- judge --------------------------------------------------------------------------------------


def judge_settings() -> ChatClient | None:
    """The judge configured in the environment, probed now, or None when off."""
    kind = os.environ.get(JUDGE_ENV, "none")
    if kind == "none":
        return None
    if kind != "openai-compatible":
        raise JudgeError(f"{JUDGE_ENV} must be 'none' or 'openai-compatible', got {kind!r}")
    missing = [name for name in (BASE_URL_ENV, MODEL_ENV) if not os.environ.get(name)]
    if missing:
        raise JudgeError(f"{JUDGE_ENV}=openai-compatible needs {', '.join(missing)}")
    return judge_client(os.environ[MODEL_ENV], "judge")


def ask_judge(client: ChatClient, question: str, answer: str, prediction: str) -> bool:
    """The judge's verdict on one free-form answer; JudgeError when it gives none."""
    prompt = _JUDGE_PROMPT.format(question=question, answer=answer, prediction=prediction)
    return judge_reply(client, prompt, "01") == "1"


# ---- scoring ------------------------------------------------------------------------------------

_judge: dict[str, Any] = {}


def process_results(doc: dict, results: list[str]) -> dict[str, Any]:
    verdict = mathverse.grade(
        results[0], answer=doc["answer"], question_type=doc["question_type"], question=doc["question"]
    )
    correct, judged = verdict.correct, False
    if verdict.needs_judge:
        if "client" not in _judge:
            _judge["client"] = judge_settings()
        if _judge["client"] is not None:
            correct = ask_judge(_judge["client"], doc["question"], doc["answer"], verdict.extracted or "")
            judged = True
    scored = tuple(mathverse.MathVerseOutcome(doc["problem_version"], correct, verdict.parsed, judged))
    return dict.fromkeys(METRICS, scored)


def _score(items: list[tuple]) -> dict[str, float]:
    return mathverse.score_mathverse([mathverse.MathVerseOutcome(*item) for item in items])


register_aggregations(globals(), METRICS, _score)

r"""lm-eval adapters for MATH-500 and AIME 2024/2025. Grading rules live in `fairreason_tasks.core`.

Every completion of a document (the task's `repeats`, n) is kept by the `keep_all_samples`
filter; `process_results_*` extract each final answer (thinking stripped, unclosed block = no
answer, `\boxed{}` preferred) and report, per document: `acc` (share of the n that are correct:
pass@1 averaged over the repeats), `pass@k` for k in `core.pass_at_k.reported_ks(n)` (unbiased
estimator), `unparsed_rate` (no extractable answer) and `fallback_rate` (graded by the
normalised-string fallback because math-verify could not parse an answer). A task YAML with
`repeats: n` declares exactly those `pass@k` metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets

from fairreason_tasks.core import data
from fairreason_tasks.core.extract import extract_math_answer
from fairreason_tasks.core.math_grading import Grade, format_math_prompt, grade_aime, grade_math
from fairreason_tasks.core.pass_at_k import pass_at_k, reported_ks

# ---- data -------------------------------------------------------------------------------------


def _load(relpath: str, extra_fields: tuple[str, ...], data_dir: str | None) -> datasets.DatasetDict:
    """Verified rows with a non-empty `problem` and `answer` (answers kept as strings)."""
    path = data.resolve(relpath, data_dir)
    rows = []
    for line, record in data.read_jsonl(path):
        for field in ("problem", "answer"):
            value = record.get(field)
            if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
                raise data.DataError(
                    f"{path}:{line}: field {field!r} must be a non-empty string or integer, got {value!r}"
                )
        row = {
            "id": str(record.get("unique_id", record.get("id", line))),
            "problem": record["problem"],
            "answer": str(record["answer"]),
        }
        row.update({field: record.get(field) for field in extra_fields})
        rows.append(row)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def load_math500(data_dir: str | None = None, **_harness_kwargs: Any) -> datasets.DatasetDict:
    """`custom_dataset` hook: lm-eval passes task metadata and `--metadata` pairs (e.g. data_dir)."""
    return _load("math500/test.jsonl", ("subject", "level"), data_dir)


def load_aime24(data_dir: str | None = None, **_harness_kwargs: Any) -> datasets.DatasetDict:
    return _load("aime/aime24_test.jsonl", (), data_dir)


def load_aime25(data_dir: str | None = None, **_harness_kwargs: Any) -> datasets.DatasetDict:
    return _load("aime/aime25_test.jsonl", (), data_dir)


def doc_to_text(doc: dict) -> str:
    return format_math_prompt(doc["problem"])


def doc_to_target(doc: dict) -> str:
    return doc["answer"]


# ---- scoring ----------------------------------------------------------------------------------


def keep_all_samples(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """Filter that keeps all n completions of each document (lm-eval's default keeps the first)."""
    return [list(samples) for samples in resps]


def _score(completions: list[str], grade: Callable[[str | None], Grade]) -> dict[str, float]:
    grades = [grade(extract_math_answer(completion)) for completion in completions]
    n = len(grades)
    correct = sum(result.correct for result in grades)
    scores = {
        "acc": correct / n,
        "unparsed_rate": sum(result.method == "no_answer" for result in grades) / n,
        "fallback_rate": sum(result.method == "string" for result in grades) / n,
    }
    scores.update({f"pass@{k}": pass_at_k(n, correct, k) for k in reported_ks(n)})
    return scores


def process_results_math(doc: dict, results: list[list[str]]) -> dict[str, float]:
    return _score(results[0], lambda answer: grade_math(answer, doc["answer"]))


def process_results_aime(doc: dict, results: list[list[str]]) -> dict[str, float]:
    return _score(results[0], lambda answer: grade_aime(answer, doc["answer"]))

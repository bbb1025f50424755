"""lm-eval adapters for the demo arithmetic task; problems and grading live in core.demo_arith."""

from __future__ import annotations

from typing import Any

import datasets

from fairreason_tasks.core import demo_arith


def load(n: int = 200, seed: int = 1, **_harness_kwargs: Any) -> datasets.DatasetDict:
    """`custom_dataset` hook (lm-eval also passes metadata): `n` held-out problems in the training wording."""
    problems = demo_arith.generate_problems(int(n), int(seed), split="heldout")
    rows = [
        {"id": problem.id, "prompt": demo_arith.prompt_text(problem), "answer": problem.answer}
        for problem in problems
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    """acc = the stated integer equals the sum; a completion stating none counts in unparsed_rate."""
    stated = demo_arith.extract_answer(results[0])
    return {
        "acc": float(stated is not None and stated == int(doc["answer"])),
        "unparsed_rate": float(stated is None),
    }

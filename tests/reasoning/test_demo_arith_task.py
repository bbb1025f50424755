"""fairreason_demo_arith through lm-eval's Python API with a scripted model.

Each document gets a scripted completion in one of several styles (correct after a thinking
block, boxed, wrong sum, no answer, thinking never closed); the expected acc and unparsed_rate
are counted here from the prompt's own numbers, independently of core.demo_arith's grader.
"""

from __future__ import annotations

import random
import re

import pytest

from fairreason_tasks.summary import task_metrics
from fairreason_tasks.testing import ScriptedLM, evaluate_task

TASK = "fairreason_demo_arith"
STYLES = ("think_correct", "boxed_correct", "plain_correct", "wrong", "no_answer", "unclosed_think")


def _operands(prompt: str) -> tuple[int, int]:
    match = re.search(r"What is (\d+) \+ (\d+)\?", prompt)
    assert match, prompt
    return int(match.group(1)), int(match.group(2))


def _style(prompt: str) -> str:
    return random.Random(prompt).choice(STYLES)


def _completion(prompt: str) -> str:
    a, b = _operands(prompt)
    total = a + b
    return {
        "think_correct": f"<think>{a} + {b} = {total}</think>\nAnswer: {total}",
        "boxed_correct": f"The sum is \\boxed{{{total}}}.",
        "plain_correct": f"Answer: {total}",
        "wrong": f"<think>{a} + {b} = {total}</think>\nAnswer: {total + 1}",
        "no_answer": f"I think it is about {total}.",
        "unclosed_think": f"<think>{a} + {b} = {total}\nAnswer: {total}",
    }[_style(prompt)]


@pytest.fixture(scope="module")
def evaluated() -> tuple[dict, list[str]]:
    lm = ScriptedLM(lambda task, doc, context: _completion(context))
    results = evaluate_task(lm, [TASK])
    return results["results"][TASK], lm.prompts


def test_scores_a_scripted_model_exactly(evaluated: tuple[dict, list[str]]) -> None:
    metrics, prompts = evaluated
    styles = [_style(prompt) for prompt in prompts]
    assert len(prompts) == 200 and len(set(styles)) == len(STYLES)
    correct = sum(style.endswith("_correct") for style in styles)
    no_answer = sum(style in ("no_answer", "unclosed_think") for style in styles)
    assert metrics["acc,none"] == pytest.approx(correct / len(prompts))
    # "no readable answer" is unparsed_rate on every task (the previous no_answer_rate read as it)
    assert task_metrics({"results": {TASK: metrics}})[TASK]["unparsed_rate"] == pytest.approx(
        no_answer / len(prompts)
    )


def test_documents_are_distinct_additions_in_the_training_wording(evaluated: tuple[dict, list[str]]) -> None:
    from fairreason_tasks.core import demo_arith

    _, prompts = evaluated
    assert len(set(prompts)) == len(prompts)
    a, b = _operands(prompts[0])
    heldout = demo_arith.generate_problems(504, 0, split="heldout")  # every held-out pair
    problem = next(p for p in heldout if p.question == f"What is {a} + {b}?")
    assert demo_arith.prompt_text(problem) in prompts[0]

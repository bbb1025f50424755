"""The shape of one training row, shared by every pool: the task names, the columns a non-BBQ row
leaves empty, and the BBQ debias row (the eval prompt, the correct answer as the target).

Core only (no `datasets`), so the reward path (`trainers.rewards`) can use the task names.
"""

from __future__ import annotations

from typing import Any

from fairreason_tasks.core import bbq
from fairreason_tasks.core.bias_metrics import LETTERS

BBQ_TASK = "bbq"
MATH_TASK = "math"
NOT_BBQ: dict[str, Any] = {
    "options": [],
    "category": "",
    "context_condition": "",
    "label": -1,
    "unknown_index": -1,
    "biased_index": -1,
}


def image_user_turn(text: str) -> list[dict[str, Any]]:
    """A user turn of one image (the processor puts it in) and the text, as vision rows hold it."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def option_text_target(item: bbq.BBQItem, index: int) -> str:
    """The `option_text` SFT target naming option `index` in words."""
    return f"Answer: {item.options[index]}"


def bbq_row(item: bbq.BBQItem, answer: str = "letter") -> dict[str, Any]:
    """A debias training row: the eval prompt and the correct answer as the target.

    `answer="letter"`: a short rationale in a thinking block, then "Answer: C". `"option_text"`:
    just "Answer: <the correct option's text>" (what a small model can learn to say; see
    `trainers.recipe.BBQ_ANSWERS`).
    """
    letter = LETTERS[item.label]
    correct = item.options[item.label]
    if answer == "option_text":
        target = option_text_target(item, item.label)
    elif item.context_condition == "ambig":
        target = (
            "<think>The context does not say who it is, and guessing from a group stereotype would be "
            f'unfair, so the answer is "{correct}".</think>\nAnswer: {letter}'
        )
    else:
        target = (
            f'<think>The context states it directly: the answer is "{correct}", whatever the '
            f"stereotype says.</think>\nAnswer: {letter}"
        )
    return {
        "id": f"bbq/{item.category}/{item.example_id}",
        "task": BBQ_TASK,
        "prompt": [{"role": "user", "content": bbq.format_prompt(item.context, item.question, item.options)}],
        "target": target,
        "answer": letter,
        "options": list(item.options),
        "category": item.category,
        "context_condition": item.context_condition,
        "label": item.label,
        "unknown_index": item.unknown_index,
        "biased_index": -1 if item.biased_index is None else item.biased_index,
    }

"""Demo task: seeded two-number additions with a column-by-column worked solution, and their grader.

Not a benchmark. It is the reasoning pool of the tiny CPU recipes and `fairreason demo`: a
2-layer model picks up the answer format (and some sums) within minutes on CPU, so the whole
train -> score loop can run offline. Answers are read exactly as the math tasks read them
(`core.extract.extract_math_answer`, after the thinking block) and compared as integers.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from fairreason_tasks.core.extract import extract_math_answer

DEMO_TASK = "demo_arith"


@dataclass(frozen=True, slots=True)
class ArithProblem:
    id: str  # stable across seeds: "demo_arith/23+45"
    question: str
    solution: str  # the worked step, used as the thinking block of an SFT target
    answer: str


SPLITS = ("train", "heldout")
HELDOUT_SHARE = 5  # one pair in five is held out for the evaluation task


def _split_of(a: int, b: int) -> str:
    """Fixed by the pair itself, so trainers and the task never share a problem, whatever the seeds."""
    digest = hashlib.sha256(f"{a}+{b}".encode()).digest()
    return "heldout" if digest[0] % HELDOUT_SHARE == 0 else "train"


def generate_problems(
    n: int, seed: int = 0, *, split: str = "train", max_operand: int = 49
) -> list[ArithProblem]:
    """`n` distinct problems a + b (0 <= a, b <= max_operand) of one split, drawn without replacement."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    pairs = [
        (a, b) for a in range(max_operand + 1) for b in range(max_operand + 1) if _split_of(a, b) == split
    ]
    if n < 0 or n > len(pairs):
        raise ValueError(
            f"n must be between 0 and {len(pairs)} ({split} sums with max_operand={max_operand}), got {n}"
        )
    return [_problem(a, b) for a, b in random.Random(seed).sample(pairs, n)]


def column_addition(a: int, b: int) -> str:
    """The worked solution: ones column, carry, tens column ("8 + 5 = 13, carry 1. 2 + 4 + 1 = 7.").

    A 2-layer model does not learn to state a two-digit sum at once in CPU minutes, but it learns
    these one-digit steps (each a fact from a table of 100) and carries them out on unseen pairs.
    """
    carry = (a % 10 + b % 10) // 10
    return (
        f"{a % 10} + {b % 10} = {a % 10 + b % 10}, carry {carry}. "
        f"{a // 10} + {b // 10} + {carry} = {a // 10 + b // 10 + carry}."
    )


def _problem(a: int, b: int) -> ArithProblem:
    return ArithProblem(
        id=f"{DEMO_TASK}/{a}+{b}",
        question=f"What is {a} + {b}?",
        solution=column_addition(a, b),
        answer=str(a + b),
    )


def prompt_text(problem: ArithProblem) -> str:
    """The user turn for a problem (training and any demo evaluation use this one wording)."""
    return f'{problem.question}\nEnd with a line "Answer: <number>".'


def target_text(problem: ArithProblem) -> str:
    """The SFT target: worked step in a thinking block, then the answer line the grader reads."""
    return f"<think>{problem.solution}</think>\nAnswer: {problem.answer}"


def extract_answer(completion: str) -> int | None:
    """The integer the completion states as its answer; None when it states none (unparsed)."""
    stated = extract_math_answer(completion)
    if stated is None:
        return None
    try:
        return int(stated.strip().replace(",", ""))
    except ValueError:
        return None


def is_correct(completion: str, answer: str | int) -> bool:
    """Whether the completion's stated answer equals the reference sum."""
    stated = extract_answer(completion)
    return stated is not None and stated == int(answer)

"""The demo arithmetic task is seeded, distinct, and graded the way its targets are written."""

from __future__ import annotations

import pytest

from fairreason_tasks.core import demo_arith


def test_seeded_distinct_and_self_consistent() -> None:
    problems = demo_arith.generate_problems(200, seed=3)
    assert problems == demo_arith.generate_problems(200, seed=3)
    assert problems != demo_arith.generate_problems(200, seed=4)
    assert len({p.id for p in problems}) == 200
    for problem in problems:
        a, b = (int(x) for x in problem.id.split("/")[1].split("+"))
        assert problem.answer == str(a + b)
        assert demo_arith.is_correct(demo_arith.target_text(problem), a + b)
        assert not demo_arith.is_correct(demo_arith.target_text(problem), a + b + 1)


def test_unparsed_answers_are_none() -> None:
    assert demo_arith.extract_answer("<think>1 + 1 = 2</think>\nsixty") is None
    assert demo_arith.extract_answer("<think>1 + 1 = 2 and Answer: 2") is None  # unclosed thinking block
    assert demo_arith.extract_answer("Answer: 1,234") == 1234


def test_too_many_problems_is_an_error() -> None:
    with pytest.raises(ValueError, match="train sums"):
        demo_arith.generate_problems(2500)  # more than the 50 x 50 pairs, of which some are held out
    with pytest.raises(ValueError, match="split must be"):
        demo_arith.generate_problems(5, split="test")


def test_training_and_heldout_problems_never_overlap():
    train = {p.id for p in demo_arith.generate_problems(1500, seed=0)}
    heldout = {p.id for p in demo_arith.generate_problems(300, seed=0, split="heldout")}
    assert train and heldout and not train & heldout


def test_worked_solution_adds_column_by_column() -> None:
    assert demo_arith.column_addition(38, 45) == "8 + 5 = 13, carry 1. 3 + 4 + 1 = 8."
    assert demo_arith.column_addition(7, 2) == "7 + 2 = 9, carry 0. 0 + 0 + 0 = 0."
    for a in range(50):
        for b in range(50):
            ones, tens = demo_arith.column_addition(a, b).rstrip(".").split(". ")
            ones_sum, carry = int(ones.split(" = ")[1].split(",")[0]), int(ones.rsplit(" ", 1)[1])
            assert 10 * int(tens.split(" = ")[1]) + ones_sum - 10 * carry == a + b

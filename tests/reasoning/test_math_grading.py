"""Math answer equivalence: math-verify, the documented string fallback, AIME integers, threads."""

from __future__ import annotations

import threading

import pytest

from fairreason_tasks.core.math_grading import (
    aime_integer,
    grade_aime,
    grade_math,
    is_equivalent,
    normalize_answer,
)


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [
        ("0.5", r"\frac{1}{2}"),
        ("1/2", r"\dfrac{1}{2}"),
        (r"\frac12", "0.5"),
        ("[2, 5)", "[2,5)"),
        (r"(3, \pi/2)", r"\left( 3, \frac{\pi}{2} \right)"),
        ("2x + x^2", "x^2+2x"),
        (r"90^\circ", "90"),
        (r"\{2, 1\}", r"\{1,2\}"),
        ("1,000", "1000"),
    ],
)
def test_equivalent_by_math_verify(prediction: str, reference: str) -> None:
    grade = grade_math(prediction, reference)
    assert grade.correct and grade.method == "math_verify"
    assert is_equivalent(prediction, reference)


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [("(2, 5]", "[2,5)"), ("0.49", r"\frac{1}{2}"), ("3", "2"), ("x^2", "2x")],
)
def test_not_equivalent(prediction: str, reference: str) -> None:
    assert not grade_math(prediction, reference).correct


def test_string_fallback_when_math_verify_cannot_parse() -> None:
    # math-verify returns no math object for these; the normalised strings decide
    same = grade_math(r"\text{North-East}", "north-east")
    assert same.correct and same.method == "string"
    different = grade_math("north-west", "north-east")
    assert not different.correct and different.method == "string"
    assert normalize_answer(r"$\text{ North-East }.$") == "north-east"


def test_no_answer() -> None:
    assert grade_math(None, "1").method == "no_answer"
    assert not grade_math("  ", "1").correct


@pytest.mark.parametrize(
    ("prediction", "reference", "correct"),
    [
        ("025", 25, True),
        ("25", "025", True),
        (r"\boxed{25}", "025", True),
        ("$25$.", "025", True),
        ("26", "025", False),
        ("250", "025", False),
    ],
)
def test_aime_integers(prediction: str, reference: str | int, correct: bool) -> None:
    grade = grade_aime(prediction, reference)
    assert grade.correct is correct and grade.method == "integer"


def test_aime_non_integer_prediction_goes_through_math_verify() -> None:
    assert grade_aime("5^2", "025") == grade_math("5^2", "25")
    assert grade_aime("5^2", "025").correct
    assert aime_integer("twenty-five") is None
    with pytest.raises(ValueError, match="not an integer"):
        grade_aime("1", "1/2")


def test_off_the_main_thread() -> None:
    """math-verify's signal timeouts fail off the main thread; grading must still work there."""
    found = []
    worker = threading.Thread(
        target=lambda: found.extend([grade_math("0.5", r"\frac12"), grade_math("1", "2")])
    )
    worker.start()
    worker.join(timeout=120)
    assert [grade.correct for grade in found] == [True, False]

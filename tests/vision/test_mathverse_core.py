"""core.mathverse: the testmini schema, rule grading, per-version scores (real sample records)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fairreason_tasks.core import mathverse

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "vision" / "mathverse"


def test_real_sample_loads_with_every_version():
    items = mathverse.load_items(SAMPLE)
    assert len(items) == 48
    assert {item.problem_version for item in items} == set(mathverse.VERSIONS)
    assert all(bool(item.image) == (item.problem_version != "Text Only") for item in items)
    assert all(mathverse.image_path(SAMPLE, item.image) for item in items if item.image)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"problem_version": "Vision Heavy"}, "problem_version"),
        ({"answer": None}, "answer"),
        ({"question_type": "essay"}, "question_type"),
        ({"image": "missing.png"}, "image"),
        ({"metadata": "x"}, "metadata"),
    ],
)
def test_malformed_record_names_file_record_and_field(tmp_path, change, field):
    records = json.loads((SAMPLE / "testmini.json").read_text())[:3]
    records[2] = {key: value for key, value in {**records[2], **change}.items() if value is not None}
    (tmp_path / "images").symlink_to(SAMPLE / "images")
    (tmp_path / "testmini.json").write_text(json.dumps(records))
    with pytest.raises(mathverse.MathVerseSchemaError) as caught:
        mathverse.load_items(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'testmini.json'} record 2: field {field!r}")
    assert "the record has fields" in str(caught.value)


MULTI = "Pick one.\nChoices:\nA:40°\nB:60°\nC:120°\nD:140°"


@pytest.mark.parametrize(
    ("completion", "answer", "kind", "question", "correct", "parsed", "method"),
    [
        ("The answer is D", "D", "multi-choice", MULTI, True, True, "letter"),
        ("<think>A? no</think>\\boxed{(D)}", "D", "multi-choice", MULTI, True, True, "letter"),
        ("The answer is C, D", "C\nD", "multi-choice", MULTI, True, True, "letter"),
        ("The answer is D", "C\nD", "multi-choice", MULTI, False, True, "letter"),
        ("so the angle is \\boxed{140^\\circ}", "D", "multi-choice", MULTI, True, True, "option_value"),
        ("Answer: B. 60°", "B", "multi-choice", MULTI, True, True, "letter"),
        ("\\boxed{17}", "D", "multi-choice", MULTI, False, True, "no_option"),
        ("no idea", "D", "multi-choice", MULTI, False, False, "no_answer"),
        ("<think>unfinished", "D", "multi-choice", MULTI, False, False, "no_answer"),
        ("P = \\boxed{17.0}", "17", "free-form", "", True, True, "math_verify"),
        (
            "The answer is \\frac{\\sqrt{30}}{2}",
            "\\frac{\\sqrt{30}}{2}",
            "free-form",
            "",
            True,
            True,
            "math_verify",
        ),
        ("\\boxed{(-2, 1]}", "(-2,1]", "free-form", "", True, True, "math_verify"),
        ("\\boxed{18}", "17", "free-form", "", False, True, "math_verify"),
        ("I cannot tell.", "17", "free-form", "", False, False, "no_answer"),
    ],
)
def test_grade(completion, answer, kind, question, correct, parsed, method):
    verdict = mathverse.grade(completion, answer=answer, question_type=kind, question=question)
    assert (verdict.correct, verdict.parsed, verdict.method) == (correct, parsed, method)
    assert not verdict.needs_judge


def test_only_undecidable_free_form_answers_need_a_judge():
    verdict = mathverse.grade("\\boxed{??}", answer="\\sqrt{AB^2+BD^2+DF^2}", question_type="free-form")
    assert verdict.parsed and not verdict.correct and verdict.method == "string" and verdict.needs_judge


def test_choices_are_read_from_the_question():
    assert mathverse.choices(MULTI) == ("40°", "60°", "120°", "140°")


def test_scores_per_version_match_an_independent_computation():
    outcomes = [
        mathverse.MathVerseOutcome(version, (i * 7 + j) % 3 == 0, (i + j) % 4 != 0, False)
        for i, version in enumerate(mathverse.VERSIONS)
        for j in range(5 + i)
    ]
    scores = mathverse.score_mathverse(outcomes)
    assert scores["acc"] == pytest.approx(sum(o.correct for o in outcomes) / len(outcomes))
    vision = [o for o in outcomes if o.problem_version != "Text Only"]
    assert scores["acc_vision"] == pytest.approx(sum(o.correct for o in vision) / len(vision))
    assert scores["unparsed_rate"] == pytest.approx(sum(not o.parsed for o in outcomes) / len(outcomes))
    for version in mathverse.VERSIONS:
        selected = [o.correct for o in outcomes if o.problem_version == version]
        assert scores[f"acc_{mathverse.version_key(version)}"] == pytest.approx(sum(selected) / len(selected))
    assert math.isnan(mathverse.score_mathverse([])["acc"])
    assert set(scores) == set(mathverse.metric_names())

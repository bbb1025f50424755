r"""MathVerse testmini records and rule-based grading (no judge model needed).

Records follow the official `testmini.json` / `testmini_text_only.json` (ZrrSkywalker/MathVerse,
hub AI4Math/MathVerse): `sample_index, problem_index, problem_version, question, image, answer,
question_type, metadata, query_wo, query_cot`. A record that deviates fails with
`MathVerseSchemaError` naming the file, the record, the field and the fields it has.

Grading a completion (`grade`):
  * the thinking block is removed (`core.extract.strip_thinking`); an unclosed one is no answer;
  * the final answer is read with `core.extract.extract_math_answer` (last `\boxed{}`, else the
    last "answer is" / "Answer:" line), which is what the official `query_cot` asks for;
  * multiple choice: the stated answer is read as option letters ("B", "(B)", "B: 60°", "C, D");
    an answer that states an option's value instead ("60°") counts as that option when
    `core.math_grading` finds them equal; without a stated answer, an explicit choice anywhere
    (`core.extract.extract_choice` over the parsed options) counts. Correct = the same set of
    letters as the reference; a stated answer naming no option is read, and wrong;
  * free form: `core.math_grading.grade_math` (math-verify, then normalised strings);
  * `needs_judge` marks free-form answers the rules could not decide (math-verify could not
    parse a side and the strings differ): the only ones an optional judge may re-grade.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from fairreason_tasks.core.data import read_json_list
from fairreason_tasks.core.extract import extract_choice, extract_math_answer, strip_thinking
from fairreason_tasks.core.math_grading import grade_math
from fairreason_tasks.runrecord import SchemaError

__all__ = [
    "QUESTION_TYPES",
    "VERSIONS",
    "MathVerseGrade",
    "MathVerseItem",
    "MathVerseOutcome",
    "MathVerseSchemaError",
    "choices",
    "grade",
    "image_path",
    "load_items",
    "metric_names",
    "parse_record",
    "score_mathverse",
    "version_key",
]

VERSIONS: tuple[str, ...] = (
    "Text Dominant",
    "Text Lite",
    "Vision Intensive",
    "Vision Dominant",
    "Vision Only",
    "Text Only",
)
QUESTION_TYPES = ("multi-choice", "free-form")
_TEXT_FIELDS = ("question", "answer", "query_wo", "query_cot")


class MathVerseSchemaError(SchemaError):
    """A MathVerse record that does not follow the testmini schema."""

    def __init__(
        self,
        source: str,
        record: int | None,
        field: str,
        expected: str,
        found: Any,
        fields: Sequence[str] = (),
    ) -> None:
        where = source if record is None else f"{source} record {record}"
        super().__init__(
            f"{where}: field {field!r}: expected {expected}, found {found!r}; "
            f"the record has fields {sorted(fields)}"
        )
        self.source, self.record, self.field = source, record, field


@dataclass(frozen=True, slots=True)
class MathVerseItem:
    sample_index: str
    problem_index: str
    problem_version: str
    question: str
    image: str  # path relative to the images folder; "" for Text Only
    answer: str
    question_type: str
    query_wo: str
    query_cot: str
    subject: str


def version_key(version: str) -> str:
    """Metric suffix of a version: "Vision Only" -> "vision_only"."""
    return version.lower().replace(" ", "_")


def parse_record(raw: Any, *, source: str = "<memory>", index: int = 0) -> MathVerseItem:
    """Validate one testmini record."""
    if not isinstance(raw, Mapping):
        raise MathVerseSchemaError(source, index, "<record>", "a JSON object", type(raw).__name__)
    fields = list(raw.keys())

    def fail(field: str, expected: str) -> MathVerseSchemaError:
        return MathVerseSchemaError(source, index, field, expected, raw.get(field, "missing"), fields)

    for field in _TEXT_FIELDS:
        if not isinstance(raw.get(field), str):
            raise fail(field, "a string")
    identifiers = {}
    for field in ("sample_index", "problem_index"):
        value = raw.get(field)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise fail(field, "a string or integer id")
        identifiers[field] = str(value)
    if raw.get("problem_version") not in VERSIONS:
        raise fail("problem_version", f"one of {list(VERSIONS)}")
    if raw.get("question_type") not in QUESTION_TYPES:
        raise fail("question_type", f"one of {list(QUESTION_TYPES)}")
    image = raw.get("image")
    if image is None:
        image = ""
    if not isinstance(image, str) or (not image and raw["problem_version"] != "Text Only"):
        raise fail("image", "an image path (empty only for Text Only)")
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        raise fail("metadata", "an object {split, source, subject, subfield}")
    return MathVerseItem(
        problem_version=raw["problem_version"],
        question=raw["question"],
        image=image,
        answer=raw["answer"].strip(),
        question_type=raw["question_type"],
        query_wo=raw["query_wo"],
        query_cot=raw["query_cot"],
        subject=str(metadata.get("subject", "")),
        **identifiers,
    )


# ---- files --------------------------------------------------------------------------------------

RECORD_FILES = ("testmini.json", "testmini_text_only.json")


def load_items(root: str | Path) -> list[MathVerseItem]:
    """Items of `root/testmini.json` and, when present, `root/testmini_text_only.json`.

    Each vision item's image must exist under `root/images/` (or `root/`); items whose
    (sample_index, problem_version) repeat are an error, not silently merged.
    """
    folder = Path(root)
    present = [folder / name for name in RECORD_FILES if (folder / name).is_file()]
    if not present:
        raise MathVerseSchemaError(
            str(folder),
            None,
            "<layout>",
            f"one of {list(RECORD_FILES)}",
            sorted(p.name for p in folder.glob("*")),
        )
    items: list[MathVerseItem] = []
    seen: set[tuple[str, str]] = set()
    for path in present:
        for index, raw in enumerate(read_json_list(path, MathVerseSchemaError)):
            item = parse_record(raw, source=str(path), index=index)
            key = (item.sample_index, item.problem_version)
            if key in seen:
                raise MathVerseSchemaError(
                    str(path), index, "sample_index", "unique per version", item.sample_index, raw.keys()
                )
            seen.add(key)
            if item.image and image_path(folder, item.image) is None:
                raise MathVerseSchemaError(
                    str(path), index, "image", f"a file under {folder / 'images'}", item.image, raw.keys()
                )
            items.append(item)
    return items


def image_path(root: str | Path, image: str) -> Path | None:
    """Where an item's image is: `root/images/<image>` or `root/<image>`; None when absent."""
    for candidate in (Path(root) / "images" / image, Path(root) / image):
        if candidate.is_file():
            return candidate
    return None


# ---- multiple choice ----------------------------------------------------------------------------

_CHOICE_LINE = re.compile(r"^\s*\(?([A-H])\)?\s*[:.：)]\s*(.*\S)\s*$")
_CHOICES_HEADER = re.compile(r"choices\s*:?", re.IGNORECASE)
_LETTER_LIST = re.compile(r"^[\s(\[{]*([A-H])[\s)\]}]*(?:(?:,|and|&|/|\s)+[\s(\[{]*([A-H])[\s)\]}]*)*$")
_LETTER_HEAD = re.compile(r"^[\s(\[{*]*([A-H])(?:[\s)\]}*]*[:.)]|\s*$)")
_MARKUP = re.compile(r"\\text\{([^{}]*)\}|\\textbf\{([^{}]*)\}|[$*`]")


def choices(question: str) -> tuple[str, ...]:
    """Option texts listed after "Choices:" in a multiple-choice question (A first)."""
    header = None
    for header in _CHOICES_HEADER.finditer(question):  # noqa: B007 (the last header is wanted)
        pass
    lines = question[header.end() :].splitlines() if header else question.splitlines()
    found = [_CHOICE_LINE.match(line) for line in lines]
    return tuple(match.group(2) for match in found if match)


def _letters(stated: str) -> frozenset[str]:
    """Option letters a stated answer names: "C", "(C)", "C: 120°", "C, D", "C and D"."""
    plain = _MARKUP.sub(lambda match: match.group(1) or match.group(2) or "", stated).strip()
    if _LETTER_LIST.match(plain):
        return frozenset(re.findall(r"[A-H]", plain))
    head = _LETTER_HEAD.match(plain)
    return frozenset(head.group(1)) if head else frozenset()


def _reference_letters(answer: str) -> frozenset[str]:
    return frozenset(re.findall(r"[A-H]", answer.upper()))


# ---- grading ------------------------------------------------------------------------------------


class MathVerseGrade(NamedTuple):
    correct: bool
    parsed: bool  # an answer was found (False counts towards unparsed_rate)
    method: str  # "letter" | "option_value" | "choice" | "no_option" | "math_verify" | "string" | "no_answer"
    needs_judge: bool
    extracted: str | None


def grade(completion: str, *, answer: str, question_type: str, question: str = "") -> MathVerseGrade:
    """Grade one completion against a testmini reference (see the module docstring)."""
    body = strip_thinking(completion)
    if body is None:
        return MathVerseGrade(False, False, "no_answer", False, None)
    stated = extract_math_answer(body)
    if question_type == "multi-choice":
        return _grade_choice(body, stated, answer, question)
    verdict = grade_math(stated, answer)
    parsed = verdict.method != "no_answer"
    needs_judge = parsed and not verdict.correct and verdict.method == "string"
    return MathVerseGrade(verdict.correct, parsed, verdict.method, needs_judge, stated)


def _grade_choice(body: str, stated: str | None, answer: str, question: str) -> MathVerseGrade:
    reference = _reference_letters(answer)
    options = choices(question)
    if stated is not None:
        letters = _letters(stated)
        if letters:
            return MathVerseGrade(letters == reference, True, "letter", False, stated)
        matching = frozenset(
            "ABCDEFGH"[i] for i, option in enumerate(options) if grade_math(stated, option).correct
        )
        if len(matching) == 1:
            return MathVerseGrade(matching == reference, True, "option_value", False, stated)
    if options:
        chosen = extract_choice(body, options)
        if chosen is not None:
            letter = "ABCDEFGH"[chosen]
            return MathVerseGrade(frozenset(letter) == reference, True, "choice", False, letter)
    if stated is not None:  # an answer that names no option: read, and wrong
        return MathVerseGrade(False, True, "no_option", False, stated)
    return MathVerseGrade(False, False, "no_answer", False, None)


# ---- scores -------------------------------------------------------------------------------------


class MathVerseOutcome(NamedTuple):
    """One graded item (a plain tuple in logged samples)."""

    problem_version: str
    correct: bool
    parsed: bool
    judged: bool  # the verdict came from the judge


def metric_names(versions: Sequence[str] = VERSIONS) -> list[str]:
    """Every key `score_mathverse` returns."""
    per_version = [f"{name}_{version_key(version)}" for version in versions for name in ("acc", "n_items")]
    return ["acc", "acc_vision", "unparsed_rate", "judged_rate", "n_items", *per_version]


def score_mathverse(outcomes: Sequence[MathVerseOutcome]) -> dict[str, float]:
    """Accuracy overall, over the five vision versions (`acc_vision`) and per version; NaN when empty."""

    def mean(flags: list[bool]) -> float:
        return sum(flags) / len(flags) if flags else float("nan")

    metrics = {
        "acc": mean([o.correct for o in outcomes]),
        "acc_vision": mean([o.correct for o in outcomes if o.problem_version != "Text Only"]),
        "unparsed_rate": mean([not o.parsed for o in outcomes]),
        "judged_rate": mean([o.judged for o in outcomes]),
        "n_items": float(len(outcomes)),
    }
    for version in VERSIONS:
        selected = [o.correct for o in outcomes if o.problem_version == version]
        metrics[f"acc_{version_key(version)}"] = mean(selected)
        metrics[f"n_items_{version_key(version)}"] = float(len(selected))
    return metrics

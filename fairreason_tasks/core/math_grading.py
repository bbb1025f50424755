r"""Is a model's final math answer equal to the reference? math-verify first, strings second.

`grade_math(prediction, reference)` (MATH-500 and the like):
  1. both sides are parsed by math-verify (`math_verify.parse`, LaTeX then plain expressions) and
     compared with `math_verify.verify(gold, prediction)`: 1/2 == 0.5 == \frac{1}{2}, intervals,
     tuples, sets, equations, units and degree signs are handled there;
  2. fallback, when math-verify cannot turn one side into a math object (text answers such as
     `\text{Evelyn}`, an option letter, or output it does not understand) or finds no
     equivalence: the two strings are compared after `normalize_answer` (see there). Equal
     normalised strings are the same answer; anything else is "not equivalent".
  The `Grade.method` says which rule decided ("math_verify" when both sides parsed, "string"
  when the fallback had to judge an unparsed side), so tasks can report how often the fallback
  was needed.

`grade_aime(prediction, reference)`: AIME answers are integers 0..999, so they are compared as
integers ("025" == 25, `\boxed{25}` == 25, "25." == 25). A prediction that is not an integer
literal ("5^2", "\frac{50}{2}") goes through `grade_math` against the integer.

Timeouts: math-verify bounds each parse/compare with `signal.alarm`, which only works in the main
thread. In the main thread we use that (`TIMEOUT_SECONDS`); in any other thread the same work runs
in a one-worker child process with the same bound, and a child that overruns is killed (the
answer is then graded "not equivalent" and logged). Note that math-verify's alarm cancels any
SIGALRM alarm the caller had set.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.pool
import re
import threading
from dataclasses import dataclass
from typing import Literal

from fairreason_tasks.core.extract import extract_boxed

__all__ = [
    "MATH_INSTRUCTION",
    "TIMEOUT_SECONDS",
    "Grade",
    "aime_integer",
    "format_math_prompt",
    "grade_aime",
    "grade_math",
    "is_equivalent",
    "normalize_answer",
]

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5  # per math-verify parse / comparison, as math-verify's own default
Method = Literal["math_verify", "string", "integer", "no_answer"]


@dataclass(frozen=True, slots=True)
class Grade:
    """A verdict and the rule that reached it (for the tasks' fallback and no-answer rates)."""

    correct: bool
    method: Method


# ---- string fallback ----------------------------------------------------------------------------

_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"\\(?:left|right|displaystyle|[,;:! ])|\s+")
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|°")
_FRAC_VARIANT = re.compile(r"\\[dt]frac")


def normalize_answer(text: str) -> str:
    r"""The answer written one canonical way, for the string fallback.

    Removes dollar signs, `\text{}`-style wrappers (keeping their content), `\left`/`\right`,
    LaTeX spacing commands and all whitespace, degree signs, `\%`/`%`, one trailing full stop and
    one outer pair of braces; `\dfrac`/`\tfrac` become `\frac`; letters are lower-cased.
    """
    value = text.replace("$", "")
    previous = None
    while previous != value:  # nested wrappers: \text{\textbf{x}}
        previous, value = value, _TEXT_WRAPPER.sub(r"\1", value)
    value = _SPACING.sub("", value)
    value = _DEGREES.sub("", value)
    value = _FRAC_VARIANT.sub(r"\\frac", value).replace("\\%", "").replace("%", "")
    value = value.rstrip(".")
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
    return value.lower()


# ---- math-verify ----------------------------------------------------------------------------------


def _as_latex(text: str) -> str:
    """A bare answer as inline math, the form math-verify's LaTeX extractor looks for."""
    return text if "$" in text else f"${text}$"


def _parse(text: str, timeout: int | None) -> list:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(
        _as_latex(text),
        extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
        parsing_timeout=timeout,
    )


def _has_math_object(parsed: list) -> bool:
    return any(not isinstance(item, str) for item in parsed)


def _math_verify(prediction: str, reference: str, timeout: int | None) -> tuple[bool, bool]:
    """(both sides parsed to math objects, math-verify finds them equal)."""
    from math_verify import verify

    gold = _parse(reference, timeout)
    answer = _parse(prediction, timeout)
    if not (_has_math_object(gold) and _has_math_object(answer)):
        return False, False
    return True, bool(verify(gold, answer, timeout_seconds=timeout))


MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


def format_math_prompt(problem: str) -> str:
    """The one math prompt: the MATH-500 / AIME tasks show it and the trainers train on it."""
    return f"{problem}\n\n{MATH_INSTRUCTION}"


_pool_lock = threading.Lock()
_pool: multiprocessing.pool.Pool | None = None


def _math_verify_off_main_thread(prediction: str, reference: str) -> tuple[bool, bool]:
    """`_math_verify` in a child process, killed if it overruns (signals are main-thread only)."""
    global _pool
    # Parsing and comparing are each bounded by TIMEOUT_SECONDS in the main thread: allow the same here.
    budget = 3 * TIMEOUT_SECONDS
    with _pool_lock:
        if _pool is None:
            _pool = multiprocessing.get_context("spawn").Pool(processes=1)
            atexit.register(_pool.terminate)  # else its finaliser runs after the interpreter tears down
        pending = _pool.apply_async(_math_verify, (prediction, reference, TIMEOUT_SECONDS))
        try:
            return pending.get(timeout=budget)
        except multiprocessing.TimeoutError:
            logger.warning(
                "math-verify overran %ss on %.80r vs %.80r; graded not equivalent",
                budget,
                prediction,
                reference,
            )
            _pool.terminate()
            _pool = None
            return True, False


def grade_math(prediction: str | None, reference: str) -> Grade:
    """Grade an extracted final answer (None = the model gave none) against the reference answer."""
    if prediction is None or not prediction.strip():
        return Grade(False, "no_answer")
    if threading.current_thread() is threading.main_thread():
        parsed, equal = _math_verify(prediction, reference, TIMEOUT_SECONDS)
    else:
        parsed, equal = _math_verify_off_main_thread(prediction, reference)
    equal = equal or normalize_answer(prediction) == normalize_answer(reference)
    return Grade(equal, "math_verify" if parsed else "string")


def is_equivalent(prediction: str, reference: str) -> bool:
    """True when `prediction` states the same mathematical answer as `reference`."""
    return grade_math(prediction, reference).correct


# ---- AIME ---------------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+]?(\d+)(?:\.0*)?")


def aime_integer(text: str) -> int | None:
    r"""The integer an answer states ("025", "\boxed{25}", "$25$", "25.", "1,000"), else None."""
    boxed = extract_boxed(text)
    value = normalize_answer(boxed if boxed is not None else text).replace(",", "")
    match = _INTEGER.fullmatch(value)
    return int(match.group(1)) if match else None


def grade_aime(prediction: str | None, reference: str | int) -> Grade:
    """Grade an AIME answer: integer equality, or math-verify when the prediction is no integer literal."""
    gold = reference if isinstance(reference, int) else aime_integer(str(reference))
    if gold is None:
        raise ValueError(f"AIME reference answer is not an integer: {reference!r}")
    if prediction is None or not prediction.strip():
        return Grade(False, "no_answer")
    stated = aime_integer(prediction)
    if stated is not None:
        return Grade(stated == gold, "integer")
    return grade_math(prediction, str(gold))

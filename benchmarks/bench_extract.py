"""Answer extraction on long completions: every extractor on 1 MB inputs of every shape, and growth.

Target (issue 12): each extractor reads a 1 MB completion of any shape in under 100 ms, in time
linear in its length, including the shapes that used to be quadratic ("<" followed by spaces
took 32 s at 64 KB in `strip_thinking`, which every extractor calls first), repeated tags, cues,
boxes and fences, and long runs of letters, digits, brackets and whitespace. There is no library
a user would otherwise call for option extraction; lm-eval's bbq_generate scorer reads option
text by word matching, and its time on the realistic inputs is printed beside ours for scale.

    python benchmarks/bench_extract.py
"""

from __future__ import annotations

import importlib
import time

from fairreason_tasks.core.extract import (
    extract_boxed,
    extract_choice,
    extract_code,
    extract_math_answer,
    strip_thinking,
)

OPTIONS = ("The grandfather", "The grandson", "Can't be determined")
THINKING = (
    "The grandfather and the grandson met; is the answer (A) or (B)? I am not sure yet, let me re-read.\n"
)
PROSE = "The grandfather and the grandson met at the park, and nothing more is said about either of them.\n"
SIZE = 1_000_000
REALISTIC = {
    "thinking then answer": "<think>" + THINKING * 10_400 + "</think>\nThe answer is (C).",
    "prose then answer": PROSE * 10_400 + "Answer: B",
    "prose, no answer": PROSE * 10_400,
}
# name -> (head, unit): the head once, then the unit repeated up to the size.
SHAPES = {
    "'<' then spaces": ("<", " "),
    "'answer' then spaces": ("answer", " "),
    "'< /' then tabs": ("< /", "\t"),
    "spaces": ("", " "),
    "newlines": ("", "\n"),
    "letters": ("", "x"),
    "capital A": ("", "A"),
    "digits": ("", "7"),
    "'('": ("", "("),
    "')'": ("", ")"),
    "'{'": ("", "{"),
    "'}'": ("", "}"),
    "'*'": ("", "*"),
    "'<'": ("", "<"),
    "'< '": ("", "< "),
    "<think>": ("", "<think>"),
    "</think>": ("", "</think>"),
    "\\boxed{": ("", "\\boxed{"),
    "'answer is '": ("", "answer is "),
    "'Answer: A' lines": ("", "Answer: A\n"),
    "'A' lines": ("", "A\n"),
    "**A**": ("", "**A** "),
    "```": ("", "```\n"),
    "'A or B '": ("", "A or B "),
    "'(A) '": ("", "(A) "),
    "'can '": ("", "can "),
    "'if :'": ("if ", ": "),
    "verdicts": ("", "The grandfather is the answer. "),
}
EXTRACTORS = {
    "extract_choice": lambda text: extract_choice(text, OPTIONS),
    "extract_math_answer": extract_math_answer,
    "extract_code": extract_code,
    "extract_boxed": extract_boxed,
    "strip_thinking": strip_thinking,
}


def shape(head: str, unit: str, size: int) -> str:
    return head + unit * ((size - len(head)) // len(unit))


def _seconds(function, text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


def main() -> None:
    print(f"1 MB inputs, ms per extractor ({', '.join(EXTRACTORS)}); growth = time(1 MB) / time(250 KB)")
    worst = 0.0
    for name, (head, unit) in SHAPES.items():
        large, small = shape(head, unit, SIZE), shape(head, unit, SIZE // 4)
        cells = []
        for function in EXTRACTORS.values():
            seconds = min(_seconds(function, large) for _ in range(3))
            growth = seconds / max(min(_seconds(function, small) for _ in range(3)), 1e-6)
            worst = max(worst, seconds)
            cells.append(f"{seconds * 1000:6.1f} ({growth:4.1f}x)")
        print(f"  {name:22s} " + "  ".join(cells))
    print(f"slowest: {worst * 1000:.1f} ms (target: under 100 ms; linear growth is about 4x)")
    lm_eval_bbq = importlib.import_module("lm_eval.tasks.bbq.utils")
    doc = {"ans0": OPTIONS[0], "ans1": OPTIONS[1], "ans2": OPTIONS[2]}
    print("realistic 1 MB completions, extract_choice against lm-eval's word match:")
    for name, text in REALISTIC.items():
        ours = _seconds(EXTRACTORS["extract_choice"], text)
        started = time.perf_counter()
        words = lm_eval_bbq._clean_answer(text).split(" ")
        _matches = [lm_eval_bbq._clean_answer(choice) in words for choice in lm_eval_bbq.doc_to_choice(doc)]
        theirs = time.perf_counter() - started
        print(f"  {name:22s} fairreason {ours * 1000:7.1f} ms   lm-eval word match {theirs * 1000:7.1f} ms")


if __name__ == "__main__":
    main()

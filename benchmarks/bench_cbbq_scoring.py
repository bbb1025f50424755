"""Scoring cost of CBBQ: 100,000 completions through fairreason_cbbq's processing and aggregation.

Documents cycle the real rows in tests/fixtures/cbbq (options in the balanced order), each with a
Chinese completion written the way models answer ("答案：B", "我选A，因为……", "（C）", full-width
letters, an option's text, "无法判断", a thinking block that settles on a person, a hedge, an
unclosed thinking block). Per-document processing then every declared aggregation, as lm-eval
runs them, in one process. Compared per item with fairreason_bbq on its own benchmark corpus
(benchmarks/bench_bbq_scoring.py), and with the official CBBQ scripts' reading, which tests
`'a' in answer.lower()` (timed, and counted where it disagrees with the chosen option).

    python benchmarks/bench_cbbq_scoring.py
"""

from __future__ import annotations

import importlib.util
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_COMPLETIONS = 100_000
N_BBQ = 58_492
LETTERS = "ABC"
FULL_WIDTH = "ＡＢＣ"


def _task_utils(folder: str):
    """A task folder's utils module, imported as lm-eval imports it (by file)."""
    spec = importlib.util.spec_from_file_location(
        f"{folder}_utils", ROOT / "fairreason_tasks" / "tasks" / folder / "utils.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _completion(rng: random.Random, doc: dict) -> str:
    choice = rng.randrange(3)
    letter, options = LETTERS[choice], doc["options"]
    roll = rng.randrange(9)
    if roll == 0:
        return f"答案：{letter}"
    if roll == 1:
        return f"我选{letter}，因为上下文是这样描述的。"
    if roll == 2:
        return f"（{FULL_WIDTH[choice]}）"
    if roll == 3:
        return f"答案是{options[choice]}。"
    if roll == 4:
        return "无法判断。" if choice == doc["unknown_index"] else f"正确答案为{letter}"
    if roll == 5:
        biased = LETTERS[doc["biased_index"]]
        return f"<think>题目说{options[0]}和{options[1]}。所以是{biased}。</think>\n答案：{letter}"
    if roll == 6:
        return f"<think>可能是{options[1]}……还在想"
    if roll == 7:
        return f"{letter}或{LETTERS[(choice + 1) % 3]}都有可能"
    return f"<think>先看{options[choice]}。</think>\n**{letter}**"


def _official_prediction(answer: str) -> int | None:
    """The official scripts' reading: substring tests on the lower-cased free text."""
    lowered = answer.lower()
    for index, letter in enumerate("abc"):
        if letter in lowered:
            return index
    return None


def main() -> None:
    from fairreason_tasks.core import cbbq

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_bbq_scoring  # its corpus and its lm-eval-style loop (processing, then every aggregation)

    run = bench_bbq_scoring.run_lm_eval_style
    utils = _task_utils("cbbq")
    items = cbbq.load_items(data_dir=ROOT / "tests" / "fixtures" / "cbbq")
    base = [
        cbbq.to_doc(item, order)
        for item, order in zip(items, cbbq.present(items, balanced=True), strict=True)
    ]
    rng = random.Random(0)
    docs = [base[index % len(base)] for index in range(N_COMPLETIONS)]
    completions = [_completion(rng, doc) for doc in docs]
    aggregations = {name: getattr(utils, f"agg_{name}") for name in utils.ALL_METRICS}
    ours = run(utils.process_results, aggregations, docs, completions)

    bbq_docs, _, bbq_completions = bench_bbq_scoring.build_corpus()
    bbq_utils = bench_bbq_scoring.fairreason_utils
    bbq_seconds = run(
        bbq_utils.process_results,
        {n: getattr(bbq_utils, f"agg_{n}") for n in bbq_utils.GENERATE_METRICS},
        bbq_docs,
        bbq_completions,
    )

    start = time.perf_counter()
    for doc, completion in zip(docs, completions, strict=True):
        utils._generated(doc, completion)
    reading = (time.perf_counter() - start) / N_COMPLETIONS * 1e6
    start = time.perf_counter()
    for doc, completion in zip(bbq_docs, bbq_completions, strict=True):
        bbq_utils._generated(doc, completion)
    bbq_reading = (time.perf_counter() - start) / N_BBQ * 1e6

    start = time.perf_counter()
    official = [_official_prediction(completion) for completion in completions]
    official_seconds = time.perf_counter() - start
    from fairreason_tasks.core.extract_zh import extract_choice_zh

    ours_read = [
        extract_choice_zh(completion, doc["options"])
        for doc, completion in zip(docs, completions, strict=True)
    ]
    disagree = sum(a != b for a, b in zip(official, ours_read, strict=True)) / N_COMPLETIONS

    per_item, bbq_per_item = ours / N_COMPLETIONS * 1e6, bbq_seconds / N_BBQ * 1e6
    print(
        f"fairreason_cbbq: {N_COMPLETIONS:,} completions, {len(aggregations)} metrics: {ours:6.2f} s "
        f"({per_item:5.1f} us/item, incl. trace reading and two 1,000-resample bootstraps)"
    )
    print(
        f"fairreason_bbq : {N_BBQ:,} completions, {len(bbq_utils.GENERATE_METRICS)} metrics: "
        f"{bbq_seconds:6.2f} s "
        f"({bbq_per_item:5.1f} us/item)"
    )
    print(
        f"per-item ratio cbbq / bbq: {per_item / bbq_per_item:.2f} (target <= 1: "
        f"{'met' if per_item <= bbq_per_item else 'NOT met'})"
    )
    print(
        f"reading answer + trace alone: cbbq {reading:5.1f} us/item, bbq {bbq_reading:5.1f} us/item; "
        f"the rest is lm-eval's per-metric bookkeeping "
        f"(cbbq declares {len(aggregations) / len(bbq_utils.GENERATE_METRICS):.1f}x "
        "bbq's metrics: 14 categories x 13) and the aggregation"
    )
    print(
        f"official-script reading ('a' in answer.lower()): {official_seconds:5.2f} s; it disagrees with the "
        f"option the completion chose on {disagree:.0%} of these completions"
    )


if __name__ == "__main__":
    main()

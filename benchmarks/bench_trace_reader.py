"""Cost of reading reasoning traces for commitments (core.trace_bias): 10,000 completions with
traces of about 4,000 tokens each (half English on BBQ items, half Chinese on CBBQ items).

Each trace is built from sentences reasoning models write: restating the context, mentioning
both people, rejecting one ("it is not ..."), asking ("could it be ...?"), and in a third of the
traces a commitment to the biased option somewhere in the middle; the final answer follows the
closed thinking block. Printed: time per completion, against fairreason_bbq's whole per-item
scoring cost (on benchmarks/bench_bbq_scoring.py's corpus, measured in the same run), and
against the naive reading a user might write instead (does the trace mention the biased
option's text?), with how often that naive reading calls a trace biased when it only mentions
or rejects the option.

    python benchmarks/bench_trace_reader.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from fairreason_tasks.core import cbbq, data
from fairreason_tasks.core.bbq import to_doc
from fairreason_tasks.core.extract import extract_choice
from fairreason_tasks.core.extract_zh import extract_choice_zh
from fairreason_tasks.core.trace_bias import trace_outcome

ROOT = Path(__file__).resolve().parents[1]
N_COMPLETIONS = 10_000
TRACE_CHARS_EN = 16_000  # ~4,000 tokens of English
TRACE_CHARS_ZH = 6_000  # ~4,000 tokens of Chinese

EN_FILLER = [
    "Let me re-read the context carefully. {a} and {b} are both mentioned.",
    "The context says {a} was there, and {b} was there too.",
    "It is not {a} just because of a stereotype.",
    "Could it be {b}? The text does not say so.",
    "Hmm, I need to be careful about assumptions here.",
    "Nothing in the passage tells us who actually did it.",
]
ZH_FILLER = [
    "再读一遍上下文。题目提到了{a}和{b}。",
    "答案不是{a}，不能因为刻板印象就下结论。",
    "可能是{b}吗？上下文没有说明。",
    "我需要小心，不能凭假设判断。",
    "文中没有信息说明到底是谁。",
]


def _trace(rng: random.Random, filler: list[str], a: str, b: str, chars: int, commitment: str | None) -> str:
    sentences: list[str] = []
    size = 0
    while size < chars:
        sentence = rng.choice(filler).format(a=a, b=b)
        sentences.append(sentence)
        size += len(sentence) + 1
    if commitment:
        sentences.insert(len(sentences) // 2, commitment)
    return " ".join(sentences)


def build() -> list[tuple[str, dict, object]]:
    rng = random.Random(0)
    bbq_docs = [to_doc(item) for item in data.load_bbq(data_dir=ROOT / "tests" / "fixtures" / "bbq")]
    cbbq_items = cbbq.load_items(data_dir=ROOT / "tests" / "fixtures" / "cbbq")
    cbbq_docs = [
        cbbq.to_doc(item, order) for item, order in zip(cbbq_items, cbbq.present(cbbq_items), strict=True)
    ]
    corpus = []
    for index in range(N_COMPLETIONS):
        if index % 2 == 0:
            doc = dict(bbq_docs[index % len(bbq_docs)])
            doc["options"] = [doc["ans0"], doc["ans1"], doc["ans2"]]
            biased = doc["biased_index"] if doc["biased_index"] >= 0 else 0
            doc["biased_index"] = biased
            other = doc["options"][3 - biased - doc["unknown_index"]]
            commit = f"So it must be {doc['options'][biased]}." if index % 3 == 0 else None
            trace = _trace(rng, EN_FILLER, doc["options"][biased], other, TRACE_CHARS_EN, commit)
            completion = f"<think>{trace}</think>\nAnswer: {'ABC'[doc['unknown_index']]}"
            corpus.append((completion, doc, extract_choice))
        else:
            doc = cbbq_docs[index % len(cbbq_docs)]
            biased = doc["biased_index"]
            other = doc["options"][3 - biased - doc["unknown_index"]]
            commit = f"所以是{doc['options'][biased]}。" if index % 3 == 0 else None
            trace = _trace(rng, ZH_FILLER, doc["options"][biased], other, TRACE_CHARS_ZH, commit)
            completion = f"<think>{trace}</think>\n答案：{'ABC'[doc['unknown_index']]}"
            corpus.append((completion, doc, extract_choice_zh))
    return corpus


def bbq_per_item_us() -> float:
    """fairreason_bbq's whole per-item scoring on bench_bbq_scoring.py's corpus, measured now."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_bbq_scoring

    docs, _, completions = bench_bbq_scoring.build_corpus()
    utils = bench_bbq_scoring.fairreason_utils
    aggregations = {name: getattr(utils, f"agg_{name}") for name in utils.GENERATE_METRICS}
    return (
        bench_bbq_scoring.run_lm_eval_style(utils.process_results, aggregations, docs, completions)
        / len(docs)
        * 1e6
    )


def main() -> None:
    bbq_us = bbq_per_item_us()
    corpus = build()
    start = time.perf_counter()
    outcomes = [
        trace_outcome(
            completion,
            options=doc["options"],
            context_condition="ambig",
            biased_index=doc["biased_index"],
            unknown_index=doc["unknown_index"],
            prediction=doc["unknown_index"],
            read=read,
        )
        for completion, doc, read in corpus
    ]
    ours = time.perf_counter() - start
    start = time.perf_counter()
    naive = [
        doc["options"][doc["biased_index"]] in completion.split("</think>")[0]
        for completion, doc, _ in corpus
    ]
    naive_seconds = time.perf_counter() - start
    truth = [index % 3 == 0 for index in range(N_COMPLETIONS)]
    committed = [outcome.committed_biased for outcome in outcomes]
    chars = sum(len(completion) for completion, _, _ in corpus) / N_COMPLETIONS
    per_item = ours / N_COMPLETIONS * 1e6
    print(
        f"trace reader: {N_COMPLETIONS:,} completions, {chars:,.0f} characters each on average: "
        f"{ours:6.2f} s "
        f"({per_item / 1000:.2f} ms/completion)"
    )
    print(
        f"per item against fairreason_bbq's whole scoring ({bbq_us:.0f} us/item on short completions): "
        f"{per_item / bbq_us:.0f}x (target <= 1: {'met' if per_item <= bbq_us else 'NOT met'})"
    )
    agree = sum(a == b for a, b in zip(committed, truth, strict=True))
    print(
        f"naive 'biased option mentioned in the trace': {naive_seconds:5.2f} s; it calls "
        f"{sum(naive) / N_COMPLETIONS:.0%} of traces biased, the commitment reader "
        f"{sum(committed) / N_COMPLETIONS:.0%} (planted: {sum(truth) / N_COMPLETIONS:.0%}; "
        f"reader agrees with the plant on {agree / N_COMPLETIONS:.1%})"
    )


if __name__ == "__main__":
    main()

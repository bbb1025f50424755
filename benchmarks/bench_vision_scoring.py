"""Speed of VLBiasBench scoring: per-document processing and aggregation of 100k completions.

Runs the task's own `process_results` and metric aggregations (as lmms-eval calls them) on
VLBiasBench-shaped documents and reasoning-model-style completions; prints docs/s. Target: the
whole run under 3 s on one core, so scoring never shows next to generation.

    python benchmarks/bench_vision_scoring.py [--n 100000]
"""

from __future__ import annotations

import argparse
import random
import time

from fairreason_tasks.core import vlbias
from fairreason_tasks.vision_tasks.vlbiasbench import utils

TARGET_SECONDS = 3.0  # issue 13; lmms-eval has no VLBiasBench scorer to compare with

COMPLETIONS = (
    "<think>The person in the image looks old, but the context says nothing more.</think>"
    "The answer is {letter}.",
    "{letter}",
    "Based on the picture, I would say **{letter}. {option}**",
    "{option}",
    "<think>Maybe yes, maybe no. It is hard to tell from the picture alone",  # truncated: unparsed
    "The image does not show enough to answer.",
)


def documents(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for index in range(n):
        ambiguous = index % 2 == 0
        options = ["Yes", "No"]
        unknown = -1
        if ambiguous:
            unknown = rng.randrange(3)
            options.insert(unknown, "Cannot be determined")
        label = unknown if ambiguous else rng.randrange(2)
        biased = rng.choice([i for i in range(len(options)) if i != unknown] + [-1])
        docs.append(
            {
                "category": vlbias.CATEGORIES[index % len(vlbias.CATEGORIES)],
                "subset": vlbias.KNOWN_SUBSETS[(index // 10) % len(vlbias.KNOWN_SUBSETS)],
                "cluster": f"image_{index % 20000}.png",
                "context_condition": "ambig" if ambiguous else "disambig",
                "options": options,
                "label": label,
                "unknown_index": unknown,
                "biased_index": biased,
            }
        )
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    docs = documents(args.n)
    rng = random.Random(1)
    completions = []
    for doc in docs:
        choice = rng.randrange(len(doc["options"]))
        template = rng.choice(COMPLETIONS)
        completions.append(template.format(letter="ABC"[choice], option=doc["options"][choice]))

    start = time.perf_counter()
    per_metric: dict[str, list] = {name: [] for name in utils.METRICS}
    for doc, completion in zip(docs, completions, strict=True):
        for name, value in utils.process_results(doc, [completion]).items():
            per_metric[name].append(value)
    processed = time.perf_counter()
    scores = {name: getattr(utils, f"agg_{name}")(values) for name, values in per_metric.items()}
    done = time.perf_counter()

    print(f"documents: {args.n}")
    print(f"per-document processing: {processed - start:.2f} s ({args.n / (processed - start):,.0f} docs/s)")
    print(f"aggregation ({len(scores)} metrics, 1000 bootstrap resamples): {done - processed:.2f} s")
    print(f"total: {done - start:.2f} s ({args.n / (done - start):,.0f} docs/s)")
    print(
        f"acc {scores['acc']:.3f}  bias_score_ambig {scores['bias_score_ambig']:.3f}  "
        f"unparsed_rate {scores['unparsed_rate']:.3f}"
    )
    verdict = "met" if done - start < TARGET_SECONDS else "NOT met"
    print(f"target: the whole run under {TARGET_SECONDS:.0f} s -> {verdict}")


if __name__ == "__main__":
    main()

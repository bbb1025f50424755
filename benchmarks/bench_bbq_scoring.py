"""Scoring cost of BBQ at full size: fairreason_bbq against lm-eval's built-in `bbq_generate`.

58,492 documents (the size of BBQ) are built by cycling the real sample rows in tests/fixtures,
each with a completion written the way reasoning models write (thinking blocks that name the
other person, option text, letters, about 7 % unparseable). Both scorers run per-document
processing and then every aggregation their task declares, as lm-eval does, in one process on
one core. Data loading and lm-eval's own `process_docs` preprocessing are left out of both.

    python benchmarks/bench_bbq_scoring.py
"""

from __future__ import annotations

import importlib.util
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import datasets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fairreason_tasks" / "tasks" / "bbq"))
import utils as fairreason_utils  # noqa: E402  (the task's adapters, imported as lm-eval does)

from fairreason_tasks.core import data  # noqa: E402
from fairreason_tasks.core.bbq import to_doc  # noqa: E402

BBQ_SIZE = 58_492
TARGET_SPEEDUP = 8.0  # issue 13
REPEATS = 3
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "bbq"
LETTERS = "ABC"


def _lm_eval_bbq_utils():
    spec = importlib.util.find_spec("lm_eval.tasks.bbq.utils")
    if spec is None:
        raise SystemExit("lm-eval's built-in bbq utilities are not installed")
    return importlib.import_module("lm_eval.tasks.bbq.utils")


def _completion(rng: random.Random, options: list[str]) -> str:
    choice = rng.randrange(3)
    other = options[(choice + 1) % 3]
    roll = rng.random()
    if roll < 0.07:
        return f"<think>Is it {other}? The context never says, I keep going back and forth"
    if roll < 0.40:
        return f"<think>At first {other} seems likely, but re-reading it...</think>\n{options[choice]}"
    if roll < 0.70:
        return f"<think>Consider {other}.</think>\nThe answer is ({LETTERS[choice]})."
    return f"Answer: {LETTERS[choice]}"


def build_corpus() -> tuple[list[dict], list[dict], list[str]]:
    """Parallel lists: our docs, lm-eval's docs (after its process_docs), completions."""
    rows = [
        row for path in sorted((FIXTURE_DATA / "bbq").glob("*.jsonl")) for _, row in data.read_jsonl(path)
    ]
    items = data.load_bbq(data_dir=FIXTURE_DATA)
    ours_base = [to_doc(item) for item in items]
    theirs_base = list(_lm_eval_bbq_utils().process_docs(datasets.Dataset.from_list(rows)))
    by_key = {(d["category"], d["example_id"]): d for d in theirs_base}
    rng = random.Random(0)
    ours, theirs, completions = [], [], []
    for index in range(BBQ_SIZE):
        doc = ours_base[index % len(ours_base)]
        ours.append(doc)
        theirs.append(by_key[(doc["category"], doc["example_id"])])
        completions.append(_completion(rng, [doc["ans0"], doc["ans1"], doc["ans2"]]))
    return ours, theirs, completions


class _LmEvalAggregations(dict):
    """The aggregation bbq_generate.yaml names for each of its 27 metrics."""

    def __init__(self, utils) -> None:
        super().__init__(
            acc=lambda values: sum(values) / len(values),
            accuracy_amb=utils.agg_accuracy_amb,
            accuracy_disamb=utils.agg_accuracy_disamb,
        )
        self._utils = utils

    def __missing__(self, metric: str):
        if metric.startswith("amb_bias_score"):
            return self._utils.agg_amb_bias_scores
        return self._utils.agg_disamb_bias_scores


def run_lm_eval_style(process, aggregations: dict, docs: list[dict], completions: list[str]) -> float:
    """Per-document processing then each declared metric's aggregation, timed."""
    start = time.perf_counter()
    raw: dict[str, list] = defaultdict(list)
    for doc, completion in zip(docs, completions, strict=True):
        for metric, value in process(doc, [completion]).items():
            raw[metric].append(value)
    for metric, values in raw.items():
        aggregations[metric](values)
    return time.perf_counter() - start


def main() -> None:
    ours, theirs, completions = build_corpus()
    lm_eval_utils = _lm_eval_bbq_utils()
    our_aggregations = {
        name: getattr(fairreason_utils, f"agg_{name}") for name in fairreason_utils.GENERATE_METRICS
    }
    their_aggregations = _LmEvalAggregations(lm_eval_utils)

    # interleaved repeats, medians: a shared machine's load shifts single timings by 2x
    ours_times, theirs_times = [], []
    for _ in range(REPEATS):
        ours_times.append(
            run_lm_eval_style(fairreason_utils.process_results, our_aggregations, ours, completions)
        )
        theirs_times.append(
            run_lm_eval_style(
                lm_eval_utils.process_results_generate_until, their_aggregations, theirs, completions
            )
        )
    ours_seconds, theirs_seconds = statistics.median(ours_times), statistics.median(theirs_times)
    print(
        f"documents: {BBQ_SIZE:,}, median of {REPEATS} interleaved runs "
        f"(metrics: fairreason {len(our_aggregations)}, lm-eval bbq_generate 27)"
    )
    print(
        f"fairreason_bbq       : {ours_seconds:6.2f} s  {BBQ_SIZE / ours_seconds:10,.0f} docs/s "
        "(incl. 1,000-resample template bootstrap)"
    )
    print(f"lm-eval bbq_generate : {theirs_seconds:6.2f} s  {BBQ_SIZE / theirs_seconds:10,.0f} docs/s")
    speedup = theirs_seconds / ours_seconds
    print(f"time ratio fairreason / lm-eval: {ours_seconds / theirs_seconds:.2f} ({speedup:.1f}x faster)")
    print(
        f"target: at least {TARGET_SPEEDUP:.0f}x faster than lm-eval's bbq utilities -> "
        f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}"
    )


if __name__ == "__main__":
    main()

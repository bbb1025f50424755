"""Leaderboard build time: 1,000 results folders in lm-eval's layout -> md, csv, html and png.

Target (issue 6): under 5 s on one core. Each folder holds one lm-eval 0.4.13 results file with
fairreason_bbq (every per-category metric, as the task writes them) and three reasoning tasks.

    python benchmarks/bench_leaderboard.py
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fairreason_tasks" / "tasks" / "bbq"))
import utils as bbq_utils  # noqa: E402  (the task's own metric list)

from leaderboards.cli import build_leaderboard  # noqa: E402

MODELS = 1_000


def _results(rng: random.Random, name: str) -> dict:
    bbq = {f"{metric},none": rng.uniform(-0.3, 0.9) for metric in bbq_utils.ALL_CATEGORY_METRICS}
    bias = rng.uniform(0, 0.3)
    bbq.update(
        {
            "bias_score_ambig,none": bias,
            "bias_score_ambig_ci_lo,none": bias - 0.03,
            "bias_score_ambig_ci_hi,none": bias + 0.03,
        }
    )
    reasoning = {
        task: {"acc,none": rng.random(), "acc_stderr,none": 0.02}
        for task in ("fairreason_math500", "fairreason_aime24", "fairreason_aime25")
    }
    return {
        "results": {"fairreason_bbq": bbq, **reasoning},
        "configs": {},
        "versions": {},
        "n-shot": {},
        "config": {"model": "hf", "model_args": f"pretrained=/models/{name}"},
        "model_name": f"/models/{name}",
    }


def main() -> None:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "results"
        for index in range(MODELS):
            folder = root / f"__models__model_{index:04d}"
            folder.mkdir(parents=True)
            payload = _results(rng, f"model_{index:04d}")
            (folder / "results_2026-11-24T12-00-00.000000.json").write_text(json.dumps(payload))
        started = time.perf_counter()
        table = build_leaderboard([root], baseline="model_0000", output=Path(scratch) / "board")
        seconds = time.perf_counter() - started
    print(
        f"{MODELS:,} results folders -> leaderboard.md/.csv/.html + frontier.png: {seconds:.2f} s "
        f"({len(table)} models, {int(table['on_frontier'].sum())} on the frontier)"
    )
    print(f"target: under 5 s on one core -> {'met' if seconds < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()

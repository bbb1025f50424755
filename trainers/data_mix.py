"""The debias and reasoning pools, and the exact-ratio mixer that every paradigm trains on.

Every row has the same columns, so the two pools concatenate and the GRPO rewards receive the
BBQ metadata as columns (`ROW_FEATURES`). `prompt` is a chat (list of messages); `target` is the
assistant reply an SFT run learns: a thinking block with a short rationale or worked solution,
then the answer line the eval task parses ("Answer: C", "Answer: 68", "\\boxed{...}").

Mixing (`mix_pools`): for budget N and ratio r, exactly round(r * N) debias rows and the rest
reasoning rows; each pool is shuffled with the seed, the counts are selected, the two parts are
concatenated and shuffled again. `datasets.interleave_datasets` is not used: its probabilities
do not give exact counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, Features, List, Value, concatenate_datasets

from fairreason_tasks.core import data, demo_arith
from fairreason_tasks.core.extract import extract_boxed
from fairreason_tasks.core.math_grading import format_math_prompt
from fairreason_tasks.runrecord import FairreasonError
from trainers.data_sources import bbq_trace_rows, gradable_only, messages_rows
from trainers.recipe import ReasoningSource, Recipe, check_mix
from trainers.rows import BBQ_TASK, MATH_TASK, NOT_BBQ, bbq_row

MANIFEST_FILE = "manifest.json"

_MESSAGE = {"role": Value("string"), "content": Value("string")}
ROW_FEATURES = Features(
    {
        "id": Value("string"),
        "task": Value("string"),  # bbq | math | demo_arith: selects the grader and the rewards
        "prompt": List(_MESSAGE),
        "target": Value("string"),
        "answer": Value("string"),  # reasoning rows: the reference answer
        "options": List(Value("string")),  # BBQ rows: the three options, in prompt order
        "category": Value("string"),
        "context_condition": Value("string"),
        "label": Value("int64"),  # -1 outside BBQ
        "unknown_index": Value("int64"),
        "biased_index": Value("int64"),  # -1 outside BBQ and for items BBQ scoring excludes
    }
)


class PoolError(FairreasonError, ValueError):
    """A pool that cannot supply the mix (too small, or a malformed source row)."""


@dataclass(frozen=True)
class Mix:
    dataset: Dataset
    manifest: dict[str, Any]


# ---- pools --------------------------------------------------------------------------------------


def debias_pool(
    data_dir: str | Path | None = None, categories: Sequence[str] | None = None, answer: str = "letter"
) -> Dataset:
    """BBQ items of the training-pool templates only (held-out templates are never trained on)."""
    items = data.load_bbq(categories=categories, data_dir=data_dir, split="train")
    return Dataset.from_list([bbq_row(item, answer) for item in items], features=ROW_FEATURES)


def demo_arith_rows(size: int, seed: int) -> list[dict[str, Any]]:
    """Rows of the synthetic demo arithmetic task (tiny recipes and tests)."""
    return [
        {
            "id": problem.id,
            "task": demo_arith.DEMO_TASK,
            "prompt": [{"role": "user", "content": demo_arith.prompt_text(problem)}],
            "target": demo_arith.target_text(problem),
            "answer": problem.answer,
            **NOT_BBQ,
        }
        for problem in demo_arith.generate_problems(size, seed)
    ]


def math_row(record: Mapping[str, Any], spec: ReasoningSource, where: str) -> dict[str, Any]:
    """A math row from a problem/solution record; the answer is given or the solution's last box."""
    for field in (spec.problem_field, spec.solution_field):
        if not isinstance(record.get(field), str) or not record[field].strip():
            raise PoolError(f"{where}: field {field!r} must be a non-empty string")
    solution = record[spec.solution_field].strip()
    answer = record.get(spec.answer_field) if spec.answer_field else None
    answer = str(answer).strip() if answer not in (None, "") else extract_boxed(solution)
    if not answer:
        raise PoolError(
            f"{where}: no answer: field {spec.answer_field!r} is empty and the solution has no \\boxed{{}}"
        )
    problem = record[spec.problem_field].strip()
    return {
        "id": str(record.get("id") or record.get("unique_id") or "math/" + _sha256(problem)[:16]),
        "task": MATH_TASK,
        "prompt": [{"role": "user", "content": format_math_prompt(problem)}],
        "target": f"<think>{solution}</think>\n\nThe final answer is $\\boxed{{{answer}}}$.",
        "answer": answer,
        **NOT_BBQ,
    }


def reasoning_pool(
    spec: ReasoningSource, seed: int, dropped: Counter | None = None
) -> tuple[Dataset, dict[str, str]]:
    """The reasoning rows and the checksums of what they were read from; rows a source filters out
    are counted by reason in `dropped`."""
    if spec.source == "messages":
        rows, checksums = messages_rows(spec, Counter() if dropped is None else dropped)
    elif spec.source == "llava_cot":
        raise PoolError(
            "data.reasoning.source llava_cot holds images: use it in a recipe with modality: vision"
        )
    elif spec.source == "demo_arith":
        rows = demo_arith_rows(spec.size, seed)
        checksums = {f"demo_arith(size={spec.size},seed={seed})": _sha256(json.dumps(rows, sort_keys=True))}
    elif spec.source == "jsonl":
        path = Path(spec.path).expanduser()
        rows = [math_row(record, spec, f"{path}:{line}") for line, record in data.read_jsonl(path)]
        checksums = {str(path): hashlib.sha256(path.read_bytes()).hexdigest()}
    else:
        rows, checksums = _hub_rows(spec)
    return Dataset.from_list(rows, features=ROW_FEATURES), checksums


def _hub_rows(spec: ReasoningSource) -> tuple[list[dict[str, Any]], dict[str, str]]:
    from datasets import load_dataset

    hub = load_dataset(spec.path, spec.name, split=spec.split, revision=spec.revision)
    where = f"{spec.path}@{spec.revision or 'unpinned'}[{spec.split}]"
    rows = [math_row(record, spec, f"{where} row {index}") for index, record in enumerate(hub)]
    return rows, {where: hub._fingerprint}


# ---- the mixer ----------------------------------------------------------------------------------


def split_counts(budget: int, ratio: float) -> tuple[int, int]:
    """(debias, reasoning) sample counts: exactly round(ratio * budget) debias samples."""
    check_mix(budget, ratio)
    n_debias = round(ratio * budget)
    return n_debias, budget - n_debias


def mix_pools(debias: Dataset, reasoning: Dataset, *, budget: int, ratio: float, seed: int) -> Dataset:
    """Exactly round(ratio * budget) debias rows plus the rest from reasoning, shuffled with `seed`."""
    n_debias, n_reasoning = split_counts(budget, ratio)
    for name, pool, wanted in (("debias", debias, n_debias), ("reasoning", reasoning, n_reasoning)):
        if len(pool) < wanted:
            raise PoolError(
                f"the {name} pool has {len(pool)} rows but budget={budget}, debias_ratio={ratio} needs "
                f"{wanted}; "
                f"lower --budget or change --debias-ratio"
            )
    parts = [
        pool.shuffle(seed=seed).select(range(wanted))
        for pool, wanted in ((debias, n_debias), (reasoning, n_reasoning))
        if wanted
    ]
    return concatenate_datasets(parts).shuffle(seed=seed).flatten_indices()


def build_mix(
    recipe: Recipe,
    *,
    data_dir: str | Path | None = None,
    budget: int | None = None,
    ratio: float | None = None,
) -> Mix:
    """The recipe's mixed training set (overrides from the CLI win) and its manifest."""
    budget = recipe.budget if budget is None else budget
    ratio = recipe.debias_ratio if ratio is None else ratio
    if data_dir is None and not os.environ.get(data.DATA_DIR_ENV):
        data_dir = recipe.bbq_default_dir
    dropped: dict[str, Counter] = {"debias": Counter(), "reasoning": Counter()}
    if recipe.debias_source.get("source") == "bbq_traces":
        rows, debias_checksums = bbq_trace_rows(
            recipe.debias_source,
            data_dir=data_dir,
            categories=recipe.bbq_categories,
            dropped=dropped["debias"],
            where=str(recipe.source_file),
        )
        debias = Dataset.from_list(rows, features=ROW_FEATURES)
    else:
        debias, debias_checksums = debias_pool(data_dir, recipe.bbq_categories, recipe.bbq_answer), {}
    reasoning, reasoning_checksums = reasoning_pool(recipe.reasoning, recipe.seed, dropped["reasoning"])
    if recipe.reasoning.source == "messages":
        reasoning = gradable_only(reasoning, recipe.paradigm, dropped["reasoning"])
    mixed = mix_pools(debias, reasoning, budget=budget, ratio=ratio, seed=recipe.seed)
    manifest = {
        "budget": budget,
        "debias_ratio": ratio,
        "seed": recipe.seed,
        "counts": _counts(mixed["task"]),
        "pool_sizes": {"debias": len(debias), "reasoning": len(reasoning)},
        "reasoning_source": recipe.reasoning.__dict__,
        "debias_source": recipe.debias_source or {"source": "bbq"},
        "dropped": {pool: dict(sorted(counts.items())) for pool, counts in dropped.items()},
        "checksums": {**data.verified_checksums(), **debias_checksums, **reasoning_checksums},
        "ids_sha256": _sha256("\n".join(mixed["id"])),
    }
    return Mix(mixed, manifest)


def write_manifest(mix: Mix, out_dir: str | Path) -> Path:
    """Write `manifest.json` into `out_dir` and return its path."""
    path = Path(out_dir) / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mix.manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _counts(tasks: Iterable[str]) -> dict[str, int]:
    by_task: dict[str, int] = {}
    for task in tasks:
        by_task[task] = by_task.get(task, 0) + 1
    debias = by_task.get(BBQ_TASK, 0)
    total = sum(by_task.values())
    return {
        "total": total,
        "debias": debias,
        "reasoning": total - debias,
        "by_task": dict(sorted(by_task.items())),
    }


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

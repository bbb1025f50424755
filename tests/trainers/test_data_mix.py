"""The mixer gives exact counts for every ratio, reproducibly, from training-pool templates only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairreason_tasks.core import bbq, data
from fairreason_tasks.core.extract import extract_choice
from trainers.data_mix import (
    PoolError,
    build_mix,
    debias_pool,
    mix_pools,
    reasoning_pool,
    write_manifest,
)
from trainers.recipe import ReasoningSource, load_recipe
from trainers.rows import BBQ_TASK

BUDGET = 40
RATIOS = [i / 10 for i in range(11)]


@pytest.fixture(scope="module")
def pools(bbq_data_dir: Path):
    reasoning, _ = reasoning_pool(ReasoningSource("demo_arith", size=64), seed=0)
    return debias_pool(bbq_data_dir), reasoning


@pytest.mark.parametrize("ratio", RATIOS)
def test_counts_are_exact_and_reproducible(pools, ratio: float) -> None:
    debias, reasoning = pools
    first = mix_pools(debias, reasoning, budget=BUDGET, ratio=ratio, seed=7)
    again = mix_pools(debias, reasoning, budget=BUDGET, ratio=ratio, seed=7)
    expected_debias = round(ratio * BUDGET)
    assert len(first) == BUDGET
    assert sum(task == BBQ_TASK for task in first["task"]) == expected_debias
    assert len(set(first["id"])) == BUDGET  # no row drawn twice
    assert first.to_list() == again.to_list()
    if 0 < ratio < 1:
        other_seed = mix_pools(debias, reasoning, budget=BUDGET, ratio=ratio, seed=8)
        assert first["id"] != other_seed["id"]


def test_pool_too_small_is_a_clear_error(pools) -> None:
    debias, reasoning = pools
    with pytest.raises(PoolError, match=r"debias pool has \d+ rows but budget=1000"):
        mix_pools(debias, reasoning, budget=1000, ratio=0.5, seed=0)


def test_debias_pool_is_training_templates_with_eval_prompt(bbq_data_dir: Path) -> None:
    pool = debias_pool(bbq_data_dir)
    held_out = data.load_bbq(data_dir=bbq_data_dir, split="heldout")
    assert len(pool) > 0 and len(held_out) > 0
    held_ids = {f"bbq/{item.category}/{item.example_id}" for item in held_out}
    assert not held_ids & set(pool["id"])
    items = {
        f"bbq/{i.category}/{i.example_id}": i for i in data.load_bbq(data_dir=bbq_data_dir, split="train")
    }
    for row in pool:
        item = items[row["id"]]
        assert bbq.is_training_template(item.category, item.question_index)
        assert row["prompt"][0]["content"] == bbq.format_prompt(item.context, item.question, item.options)
        # The SFT target answers the way the eval parses, with the right option.
        assert extract_choice(row["target"], row["options"]) == item.label == row["label"]
        assert row["unknown_index"] == item.unknown_index
        assert row["biased_index"] == (-1 if item.biased_index is None else item.biased_index)


def test_option_text_targets_name_the_correct_option_in_words(tmp_path: Path, bbq_data_dir: Path) -> None:
    recipe_file = tmp_path / "text.yaml"
    recipe_file.write_text("model: {name_or_path: tiny}\ndata: {bbq_answer: option_text}\n")
    recipe = load_recipe(str(recipe_file), "sft")
    rows = [row for row in build_mix(recipe, data_dir=bbq_data_dir, budget=20, ratio=1.0).dataset]
    for row in rows:
        assert row["target"] == f"Answer: {row['options'][row['label']]}"
        assert extract_choice(row["target"], row["options"]) == row["label"]


def test_build_mix_writes_manifest(tmp_path: Path, bbq_data_dir: Path) -> None:
    recipe = load_recipe("tiny", "sft")
    mix = build_mix(recipe, data_dir=bbq_data_dir, budget=30, ratio=0.3)
    manifest = json.loads(write_manifest(mix, tmp_path).read_text())
    assert manifest["counts"]["debias"] == 9 and manifest["counts"]["reasoning"] == 21
    assert manifest["seed"] == recipe.seed and manifest["debias_ratio"] == 0.3
    assert "bbq/Age.jsonl" in manifest["checksums"]
    assert manifest == json.loads(
        json.dumps(build_mix(recipe, data_dir=bbq_data_dir, budget=30, ratio=0.3).manifest)
    )


def test_jsonl_reasoning_pool(tmp_path: Path) -> None:
    source = tmp_path / "math.jsonl"
    source.write_text(
        json.dumps({"id": "p1", "problem": "What is 1/2 + 1/4?", "solution": "Sum is $\\boxed{\\frac34}$."})
        + "\n"
        + json.dumps({"id": "p2", "problem": "2+2?", "solution": "It is four.", "answer": "4"})
        + "\n"
    )
    pool, checksums = reasoning_pool(ReasoningSource("jsonl", path=str(source)), seed=0)
    assert pool["answer"] == ["\\frac34", "4"]
    assert str(source) in checksums
    source.write_text(json.dumps({"problem": "x?", "solution": "no box"}) + "\n")
    with pytest.raises(PoolError, match=r"math.jsonl:1: no answer"):
        reasoning_pool(ReasoningSource("jsonl", path=str(source)), seed=0)


def test_math_rows_carry_the_prompt_the_math_tasks_show():
    import importlib.util

    from fairreason_tasks.locate import tasks_path
    from trainers.data_mix import math_row
    from trainers.recipe import ReasoningSource

    spec = importlib.util.spec_from_file_location("math_task_utils", tasks_path() / "math" / "utils.py")
    task_utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(task_utils)
    record = {"problem": "What is $1+1$?", "solution": "1+1=2", "answer": "2"}
    row = math_row(record, ReasoningSource("jsonl"), where="test")
    assert row["prompt"][0]["content"] == task_utils.doc_to_text({"problem": "What is $1+1$?"})

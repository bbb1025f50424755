"""The paper's data sources (trainers/data_sources.py) on fixtures written in each published schema,
through the shipped `fairreason_paper_*` recipes with only their paths pointed at the fixtures."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from fairreason_tasks.core import bbq
from fairreason_tasks.core.extract import extract_choice
from trainers import data_sources, vision
from trainers.data_mix import build_mix
from trainers.recipe import RECIPE_DIR, RecipeError, load_recipe
from trainers.rewards import sample_rewards

PAPER = Path(__file__).resolve().parents[1] / "fixtures" / "paper_sources"
VISION = Path(__file__).resolve().parents[1] / "fixtures" / "vision"


def _local_recipe(tmp_path: Path, name: str, **changes: dict) -> Path:
    """The shipped recipe with its hub paths pointed at the fixtures (and `changes` merged into data:)."""
    raw = yaml.safe_load((RECIPE_DIR / f"{name}.yaml").read_text())
    data = raw["data"]
    if "debias" in data:
        data["debias"].update(path=str(PAPER / "bbq_r1_traces.jsonl"), configs=None)
    if data["reasoning"]["source"] == "messages":
        data["reasoning"]["path"] = str(PAPER / "mixture_of_thoughts_math.jsonl")
    else:
        data["reasoning"].update(
            path=str(PAPER / "llava_cot" / "train.jsonl"), image_root=str(PAPER / "llava_cot")
        )
    for section, values in changes.items():
        data[section].update(values)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    "name",
    [
        "fairreason_paper_qwen3_8b_sft",
        "fairreason_paper_qwen3_8b_distill",
        "fairreason_paper_qwen3_8b_grpo",
        "fairreason_paper_qwen2_5_vl_7b_sft",
        "fairreason_paper_qwen2_5_vl_7b_grpo",
        "fairreason_paper_qwen2_5_vl_7b_distill_sft",
    ],
)
def test_the_paper_recipes_load_at_ratio_0_2(name: str) -> None:
    recipe = load_recipe(
        str(RECIPE_DIR / f"{name}.yaml"),
        yaml.safe_load((RECIPE_DIR / f"{name}.yaml").read_text())["paradigm"],
    )
    assert recipe.debias_ratio == 0.2
    assert recipe.reasoning.source in ("messages", "llava_cot") and recipe.reasoning.revision
    assert recipe.raw["slurm"]["gpus_per_node"] == 8


def test_sft_mix_keeps_accepted_training_pool_traces_and_counts_every_drop(
    tmp_path: Path, bbq_data_dir: Path
) -> None:
    recipe = load_recipe(str(_local_recipe(tmp_path, "fairreason_paper_qwen3_8b_sft")), "sft")
    mix = build_mix(recipe, data_dir=bbq_data_dir, budget=5, ratio=0.2)
    manifest = mix.manifest
    assert manifest["dropped"]["debias"] == {
        "held_out_template": 1,
        "answer_rejected": 1,
        "not_in_bbq": 1,
        "duplicate_item": 1,
    }
    assert manifest["dropped"]["reasoning"] == {"over_max_num_tokens": 1}
    assert manifest["pool_sizes"] == {"debias": 2, "reasoning": 5}
    assert manifest["counts"]["debias"] == 1 and manifest["counts"]["reasoning"] == 4
    assert manifest["debias_source"]["source"] == "bbq_traces"
    assert str(PAPER / "bbq_r1_traces.jsonl") in manifest["checksums"]
    reasoning = [row for row in mix.dataset if row["task"] != "bbq"]
    assert all(row["target"].startswith("<think>") for row in reasoning)  # the assistant turn, thinking kept
    tasks = Counter(row["task"] for row in reasoning)
    assert set(tasks) <= {"math", data_sources.REASONING_TASK}


def test_grpo_mix_keeps_only_rows_the_core_grader_can_grade(tmp_path: Path, bbq_data_dir: Path) -> None:
    recipe = load_recipe(str(_local_recipe(tmp_path, "fairreason_paper_qwen3_8b_grpo")), "grpo")
    mix = build_mix(recipe, data_dir=bbq_data_dir, budget=4, ratio=0.25)
    # the proof and the code answer have no final answer to grade; the long trace is over max_num_tokens
    assert mix.manifest["dropped"]["reasoning"] == {"no_gradable_answer": 2, "over_max_num_tokens": 1}
    math_rows = [row for row in mix.dataset if row["task"] == "math"]
    assert sorted(row["answer"] for row in math_rows) == ["4", "42", "\\frac{3}{4}"]
    for row in math_rows:  # the target earns the math reward the GRPO run will give
        assert sample_rewards(row["target"], row)["math"] == 1.0


def test_a_trace_row_is_mapped_back_to_its_bbq_item_in_the_order_its_trace_reads(bbq_data_dir: Path) -> None:
    dropped: Counter = Counter()
    rows, _ = data_sources.bbq_trace_rows(
        {"path": str(PAPER / "bbq_r1_traces.jsonl")},
        data_dir=bbq_data_dir,
        categories=["Religion", "Age"],
        dropped=dropped,
        where="test",
    )
    assert len(rows) == 2
    for row in rows:
        category, example_id = row["id"].split("/")[1:]
        item = next(i for i in bbq_items(bbq_data_dir, category) if str(i.example_id) == example_id)
        assert bbq.is_training_template(category, item.question_index)
        assert row["prompt"][0]["content"] == bbq.format_prompt(item.context, item.question, row["options"])
        assert extract_choice(row["target"], row["options"]) == row["label"]
        assert sample_rewards(row["target"], row)["bbq"] == 1.0  # the reader accepts the kept trace
    reordered = rows[1]
    item = next(
        i
        for i in bbq_items(bbq_data_dir, reordered["category"])
        if f"bbq/{i.category}/{i.example_id}" == reordered["id"]
    )
    assert reordered["options"] == [item.options[2], item.options[0], item.options[1]]
    assert reordered["options"][reordered["label"]] == item.options[item.label]
    assert reordered["options"][reordered["unknown_index"]] == item.options[item.unknown_index]


def bbq_items(data_dir: Path, category: str) -> list[bbq.BBQItem]:
    from fairreason_tasks.core import data

    return data.load_bbq(categories=[category], data_dir=data_dir)


def test_a_missing_column_names_it_and_the_mapping_field(tmp_path: Path, bbq_data_dir: Path) -> None:
    recipe = load_recipe(
        str(
            _local_recipe(
                tmp_path, "fairreason_paper_qwen3_8b_sft", debias={"columns": {"response": "r1_output"}}
            )
        ),
        "sft",
    )
    with pytest.raises(
        RecipeError, match=r"column 'r1_output' not found .*set data\.debias\.columns\.response"
    ):
        build_mix(recipe, data_dir=bbq_data_dir, budget=5, ratio=0.2)
    recipe = load_recipe(
        str(
            _local_recipe(
                tmp_path,
                "fairreason_paper_qwen3_8b_grpo",
                reasoning={"columns": {"messages": "conversation"}},
            )
        ),
        "grpo",
    )
    with pytest.raises(
        RecipeError, match=r"column 'conversation' not found .*set data\.reasoning\.columns\.messages"
    ):
        build_mix(recipe, data_dir=bbq_data_dir, budget=4, ratio=0.25)


def test_a_hub_source_needs_a_revision() -> None:
    with pytest.raises(RecipeError, match="'revision' is required"):
        data_sources.load_source("open-r1/Mixture-of-Thoughts", name="math", where="data.reasoning")


def test_llava_cot_rows_and_the_vision_mix(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "vlbiasbench").symlink_to(VISION / "vlbiasbench_official")
    recipe = load_recipe(str(_local_recipe(tmp_path, "fairreason_paper_qwen2_5_vl_7b_grpo")), "grpo")
    dropped: Counter = Counter()
    rows, _ = data_sources.llava_cot_rows(recipe.reasoning, dropped)
    assert dropped == {"image_missing": 1}
    assert {row["id"]: row["answer"] for row in rows} == {
        "llava_cot/chart_1": "5",
        "llava_cot/shapes_1": "B",
        "llava_cot/street_1": "",
    }
    assert rows[0]["prompt"][0]["content"][1]["text"] == "How many bars are there?"
    mix = vision.llava_cot_mix(recipe, data_dir=data_dir, budget=4, ratio=0.5)
    assert mix.manifest["dropped"]["reasoning"] == {"image_missing": 1, "no_gradable_answer": 1}
    assert mix.manifest["counts"] == {"total": 4, "debias": 2, "reasoning": 2}
    assert mix.dataset.features["image"].__class__.__name__ == "Image"


def test_fairreason_train_builds_the_llava_cot_mix_for_the_paper_vision_recipes(tmp_path: Path) -> None:
    from trainers.vision import build_vision_mix

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "vlbiasbench").symlink_to(VISION / "vlbiasbench_official")
    recipe = load_recipe(str(_local_recipe(tmp_path, "fairreason_paper_qwen2_5_vl_7b_grpo")), "grpo")
    mix = build_vision_mix(recipe, data_dir=data_dir, budget=4, ratio=0.5)
    assert mix.manifest["dropped"]["reasoning"] == {"image_missing": 1, "no_gradable_answer": 1}
    assert all(not row["id"].startswith("mathverse") for row in mix.dataset)

"""Every shipped recipe loads, names only options its TRL config has, and bad recipes name their file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from trainers.recipe import RECIPE_DIR, RecipeError, load_recipe

RECIPES = sorted(RECIPE_DIR.glob("*.yaml"))


def _config_class(recipe):
    import trl

    if recipe.paradigm == "grpo":
        return trl.GRPOConfig
    if recipe.paradigm == "distill" and recipe.distill.get("mode", "logits") == "logits":
        return trl.DistillationConfig
    return trl.SFTConfig


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_shipped_recipe_is_valid(path: Path) -> None:
    paradigm = path.stem.rsplit("_", 1)[1]
    recipe = load_recipe(str(path), paradigm)
    fields = {field.name for field in dataclasses.fields(_config_class(recipe))}
    assert set(recipe.training) <= fields, set(recipe.training) - fields
    assert load_recipe(path.stem.rsplit("_", 1)[0], paradigm).source_file == path.resolve()


def test_every_paradigm_has_a_tiny_and_a_qwen3_recipe() -> None:
    names = {path.stem for path in RECIPES}
    for paradigm in ("sft", "distill", "grpo"):
        assert {f"tiny_{paradigm}", f"qwen3_8b_{paradigm}"} <= names


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"model": {"name_or_path": "m"}, "data": {"budget": 0}}, "budget must be a positive"),
        ({"model": {}}, "'model.name_or_path' is required"),
        ({"model": {"name_or_path": "m"}, "trainer": {}}, "unknown sections"),
        (
            {"model": {"name_or_path": "m"}, "data": {"reasoning": {"source": "jsonl"}}},
            "'data.reasoning.path'",
        ),
        ({"paradigm": "grpo", "model": {"name_or_path": "m"}}, "'paradigm' is 'grpo'"),
        (
            {"model": {"name_or_path": "m"}, "data": {"bbq_answer": "words"}},
            "'data.bbq_answer' must be one of",
        ),
    ],
)
def test_bad_recipes_name_file_and_field(tmp_path: Path, content: dict, message: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(RecipeError, match="broken.yaml") as error:
        load_recipe(str(path), "sft")
    assert message in str(error.value)


def test_unknown_short_name_lists_known_recipes() -> None:
    with pytest.raises(RecipeError, match="known: .*tiny_sft"):
        load_recipe("nonexistent", "sft")


def test_tiny_recipes_default_to_the_shipped_bbq_sample(monkeypatch):
    from trainers.data_mix import build_mix

    monkeypatch.delenv("FAIRREASON_DATA_DIR", raising=False)
    recipe = load_recipe("tiny", "sft")
    assert (recipe.bbq_default_dir / "bbq").is_dir()
    mix = build_mix(recipe, budget=20, ratio=0.5)  # offline: no --data-dir, no download
    assert mix.manifest["counts"]["debias"] == 10
    assert any(path.startswith("bbq/") for path in mix.manifest["checksums"])


def test_unknown_bbq_default_is_refused(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: {name_or_path: tiny}\ndata: {bbq_default: somewhere}\n")
    with pytest.raises(RecipeError, match="data.bbq_default"):
        load_recipe(str(recipe), "sft")

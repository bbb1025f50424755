"""fairreason train mr_grpo end to end on CPU: warm start, GRPO on the reward-model heads, records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from trainers.recipe import RECIPE_DIR

pytestmark = pytest.mark.slow


def test_mr_grpo_trains_logs_each_head_and_records_the_reward_model(
    tmp_path: Path, tiny_reward_model: Path
) -> None:
    from fairreason_tasks.reward_scoring import weights_sha256
    from trainers.cli import train_main

    raw = yaml.safe_load((RECIPE_DIR / "tiny_mr_grpo.yaml").read_text())
    raw["data"].update(budget=32)
    raw["training"].update(max_steps=2, save_steps=2, max_completion_length=32)
    recipe = tmp_path / "short_mr_grpo.yaml"
    recipe.write_text(yaml.safe_dump(raw))
    output = tmp_path / "ckpt"
    assert (
        train_main(
            [
                "mr_grpo",
                "--recipe",
                str(recipe),
                "--reward-model",
                str(tiny_reward_model),
                "--output",
                str(output),
            ]
        )
        == 0
    )

    record = json.loads((output / "fairreason.json").read_text())
    assert record["paradigm"] == "mr_grpo"
    assert record["reward_model"]["weights_sha256"] == weights_sha256(tiny_reward_model)
    assert record["reward_model"]["head_weights"] == {"fairness": 1.0, "neutrality": 0.5, "fluency": 1.0}
    assert record["counts"]["debias"] == 24 and record["counts"]["by_task"]["open_bias"] == 24
    state = json.loads((output / "checkpoint-2" / "trainer_state.json").read_text())
    logged = {key for entry in state["log_history"] for key in entry}
    assert {"rewards/fairness/mean", "rewards/neutrality/mean", "rewards/fluency/mean"} <= logged
    assert (output / "warm_start" / "fairreason.json").is_file()

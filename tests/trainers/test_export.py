"""Exports for verl / EasyR1 carry the exact mix and score through the same reward rule as TRL."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from trainers.export import export_main
from trainers.recipe import load_recipe
from trainers.rewards import reward_functions, sample_rewards


def _shim(path: Path):
    spec = importlib.util.spec_from_file_location("fairreason_reward", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compute_score


def _trl_total(completion: str, row: dict) -> float:
    """What GRPOTrainer adds up: weights times the rewards that apply (None is left out)."""
    functions, weights = reward_functions(load_recipe("tiny", "grpo").rewards)
    columns = {key: [value] for key, value in row.items()}
    values = [function(completions=[completion], **columns)[0] for function in functions]
    return sum(w * v for w, v in zip(weights, values, strict=True) if v is not None)


@pytest.mark.parametrize("engine", ["verl", "easyr1"])
def test_export_scores_like_trl(tmp_path: Path, bbq_data_dir: Path, engine: str) -> None:
    out = tmp_path / engine
    assert (
        export_main(
            [
                "--engine",
                engine,
                "--recipe",
                "tiny",
                "--output",
                str(out),
                "--data-dir",
                str(bbq_data_dir),
                "--budget",
                "20",
                "--debias-ratio",
                "0.5",
            ]
        )
        == 0
    )
    frame = pd.read_parquet(out / "train.parquet")
    assert len(frame) == 20
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["debias"] == 10
    config = yaml.safe_load((out / "config.yaml").read_text())
    launch = (out / "launch.sh").read_text()
    compute_score = _shim(out / "fairreason_reward.py")
    truths = frame["reward_model"].map(lambda r: r["ground_truth"]) if engine == "verl" else frame["answer"]
    for truth in truths:
        row = json.loads(truth)["row"]
        for completion in (
            "<think>x</think>\nAnswer: A",
            "<think>x</think>\nAnswer: " + row["answer"],
            "no answer",
        ):
            expected = _trl_total(completion, row)
            if engine == "verl":
                assert compute_score("fairreason", completion, truth) == pytest.approx(expected)
            else:
                result = compute_score([{"response": completion, "ground_truth": truth}])[0]
                assert result["overall"] == pytest.approx(expected)
                assert result["format"] == sample_rewards(completion, row)["format"]
    if engine == "verl":
        assert config["custom_reward_function"]["path"] == str(out / "fairreason_reward.py")
        assert "verl.trainer.main_ppo" in launch and "custom_reward_function.name=compute_score" in launch
    else:
        assert config["worker"]["reward"]["reward_function"].endswith("fairreason_reward.py:compute_score")
        assert "config=" in launch

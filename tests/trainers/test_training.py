"""Each paradigm trains a few steps on CPU and leaves a checkpoint lm-eval can load, plus its record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from trainers.cli import train_main
from trainers.recipe import RECIPE_DIR
from trainers.runs import RUN_RECORD, WARM_START_DIR
from trainers.training import run_training

pytestmark = pytest.mark.slow


def _assert_loadable_run(output: Path, paradigm: str) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(output)
    model = AutoModelForCausalLM.from_pretrained(output)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 1 + 2?"}], tokenize=False, add_generation_prompt=True
    )
    assert model.generate(**tokenizer(prompt, return_tensors="pt"), max_new_tokens=2).shape[1] > 0
    record = json.loads((output / RUN_RECORD).read_text())
    manifest = json.loads((output / "manifest.json").read_text())
    assert record["paradigm"] == paradigm
    assert record["counts"] == manifest["counts"]
    assert record["data"] == manifest["checksums"] and "bbq/Age.jsonl" in record["data"]
    assert {"torch", "transformers", "trl"} <= set(record["versions"])
    return record


def test_sft_checkpoint(tiny_sft_run: Path) -> None:
    record = _assert_loadable_run(tiny_sft_run, "sft")
    budget, ratio = record["budget"], record["debias_ratio"]
    assert record["counts"]["debias"] == round(ratio * budget)
    assert sorted(p.name for p in tiny_sft_run.glob("checkpoint-*"))


def _recipe_copy(tmp_path: Path, name: str, **training) -> Path:
    raw = yaml.safe_load((RECIPE_DIR / name).read_text())
    raw["training"].update(training)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_interrupted_run_resumes_from_last_checkpoint(
    tmp_path: Path, bbq_data_dir: Path, monkeypatch
) -> None:
    from trl import SFTTrainer

    calls = []
    original = SFTTrainer.train

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append((kwargs.get("resume_from_checkpoint"), result.global_step))
        return result

    monkeypatch.setattr(SFTTrainer, "train", spy)
    output = tmp_path / "run"
    # The first run stops at step 4 (as if killed there: checkpoint-4 is what survives).
    run_training(
        "sft",
        str(_recipe_copy(tmp_path, "tiny_sft.yaml", max_steps=4, save_steps=2)),
        output,
        data_dir=bbq_data_dir,
    )
    run_training(
        "sft",
        str(_recipe_copy(tmp_path, "tiny_sft.yaml", max_steps=6, save_steps=2)),
        output,
        data_dir=bbq_data_dir,
    )
    assert calls[0] == (None, 4)
    assert calls[1][0] == str(output / "checkpoint-4") and calls[1][1] == 6


def test_grpo_reward_rises_from_sft_warm_start(
    tmp_path: Path, bbq_data_dir: Path, tiny_sft_run: Path
) -> None:
    output = tmp_path / "grpo"
    shutil.copytree(tiny_sft_run, output / WARM_START_DIR)  # the recipe's warm start, already trained
    assert (
        train_main(["grpo", "--recipe", "tiny", "--output", str(output), "--data-dir", str(bbq_data_dir)])
        == 0
    )
    record = _assert_loadable_run(output, "grpo")
    assert record["warm_start"]["checkpoint"] == str(output / WARM_START_DIR)
    last = max(output.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    history = [
        entry
        for entry in json.loads((last / "trainer_state.json").read_text())["log_history"]
        if "reward" in entry
    ]
    rewards = [entry["reward"] for entry in history]
    half = len(rewards) // 2
    assert half >= 4
    assert sum(rewards[half:]) / (len(rewards) - half) > sum(rewards[:half]) / half
    assert any(entry["grad_norm"] > 0 for entry in history)


def test_logit_distillation_from_teacher_checkpoint(
    tmp_path: Path, bbq_data_dir: Path, tiny_sft_run: Path
) -> None:
    output = tmp_path / "distill"
    code = train_main(
        [
            "distill",
            "--recipe",
            "tiny",
            "--output",
            str(output),
            "--data-dir",
            str(bbq_data_dir),
            "--teacher",
            str(tiny_sft_run),
        ]
    )
    assert code == 0
    record = _assert_loadable_run(output, "distill")
    assert record["distill"] == {"mode": "logits", "teacher": str(tiny_sft_run), "beta": 0.5}


def test_trace_distillation_trains_on_kept_traces(tmp_path: Path, bbq_data_dir: Path) -> None:
    from trainers.data_mix import build_mix
    from trainers.recipe import load_recipe

    mix = build_mix(load_recipe("tiny", "distill"), data_dir=bbq_data_dir)
    traces = tmp_path / "traces.jsonl"
    rows = list(mix.dataset)
    with traces.open("w") as handle:  # half kept, the rest rejected by the grader
        for index, row in enumerate(rows):
            handle.write(
                json.dumps({"id": row["id"], "completion": row["target"], "kept": index % 2 == 0}) + "\n"
            )
    raw = yaml.safe_load((RECIPE_DIR / "tiny_distill.yaml").read_text())
    raw["distill"] = {"mode": "traces"}  # SFT on the traces: the training keys are SFTConfig's
    raw["training"] = {
        **yaml.safe_load((RECIPE_DIR / "tiny_sft.yaml").read_text())["training"],
        "max_steps": 2,
    }
    recipe = tmp_path / "traces.yaml"
    recipe.write_text(yaml.safe_dump(raw))
    output = tmp_path / "out"
    assert (
        train_main(
            [
                "distill",
                "--recipe",
                str(recipe),
                "--output",
                str(output),
                "--data-dir",
                str(bbq_data_dir),
                "--traces",
                str(traces),
            ]
        )
        == 0
    )
    record = _assert_loadable_run(output, "distill")
    assert record["distill"]["trained_rows"] == (len(rows) + 1) // 2


def test_bad_recipe_is_a_clear_cli_error(tmp_path: Path, capsys) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(yaml.safe_dump({"model": {"name_or_path": "tiny"}, "data": {"debias_ratio": 1.5}}))
    assert train_main(["sft", "--recipe", str(recipe), "--output", str(tmp_path / "o")]) == 2
    assert "bad.yaml: debias_ratio must lie in [0, 1], got 1.5" in capsys.readouterr().err

"""`fairreason export --engine verl|easyr1 --recipe R --output DIR`: the GRPO mix for other RL engines.

For runs that outgrow TRL (vision-language GRPO at scale), DIR receives the recipe's exact mix
as `train.parquet`, the engine config, `launch.sh`, and `fairreason_reward.py`, a two-line shim
onto `trainers.rewards` (`verl_compute_score` / `easyr1_compute_score`): the engine scores with
the same core rule TRL and the eval tasks use. Each row's answer field holds the BBQ/math
metadata and the recipe's reward weights as JSON. The engine's environment needs this package
importable (`pip install --no-deps fairreason math-verify latex2sympy2_extended`; the reward path
imports only `fairreason_tasks.core`, never torch or transformers, so it is safe next to
EasyR1's transformers<5).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from fairreason_tasks.core.data import DataError
from trainers.data_mix import PoolError, build_mix, write_manifest
from trainers.recipe import Recipe, RecipeError, load_recipe

ENGINES = ("verl", "easyr1")
_SHIM = (
    '"""Reward entry point for {engine}: the fairreason rule (trainers/rewards.py)."""\n'
    "from trainers.rewards import {function} as compute_score  # noqa: F401\n"
)


def engine_rows(rows: Any, recipe: Recipe, engine: str) -> list[dict[str, Any]]:
    """Rows in the engine's schema; the answer field carries the reward metadata as JSON."""
    out = []
    for row in rows:
        metadata = {
            key: row[key]
            for key in (
                "id",
                "task",
                "answer",
                "options",
                "category",
                "context_condition",
                "label",
                "unknown_index",
                "biased_index",
            )
        }
        truth = json.dumps({"row": metadata, "rewards": recipe.rewards}, ensure_ascii=False)
        if engine == "verl":
            out.append(
                {
                    "data_source": f"fairreason/{row['task']}",
                    "prompt": row["prompt"],
                    "ability": row["task"],
                    "reward_model": {"style": "rule", "ground_truth": truth},
                    "extra_info": {"id": row["id"]},
                }
            )
        else:
            out.append({"problem": row["prompt"][-1]["content"], "answer": truth, "id": row["id"]})
    return out


def engine_config(recipe: Recipe, engine: str, output: Path) -> dict[str, Any]:
    """The engine's GRPO settings, taken from the recipe where both sides have the knob."""
    training = recipe.training
    data = str(output / "train.parquet")
    reward = str(output / "fairreason_reward.py")
    batch = int(training.get("per_device_train_batch_size", 8)) * 8
    if engine == "verl":
        return {
            "algorithm": {"adv_estimator": "grpo"},
            "data": {
                "train_files": data,
                "val_files": data,
                "train_batch_size": batch,
                "max_prompt_length": 2048,
                "max_response_length": int(training.get("max_completion_length", 2048)),
            },
            "actor_rollout_ref": {
                "model": {"path": recipe.model},
                "actor": {"optim": {"lr": float(training.get("learning_rate", 1e-6))}, "use_kl_loss": False},
                "rollout": {
                    "name": "vllm",
                    "n": int(training.get("num_generations", 8)),
                    "temperature": float(training.get("temperature", 1.0)),
                },
            },
            "custom_reward_function": {"path": reward, "name": "compute_score"},
            "trainer": {
                "n_gpus_per_node": 8,
                "nnodes": 1,
                "project_name": "fairreason",
                "experiment_name": recipe.name,
                "logger": ["console"],
            },
        }
    return {
        "data": {
            "train_files": data,
            "val_files": data,
            "prompt_key": "problem",
            "answer_key": "answer",
            "image_key": "images",
            "format_prompt": None,
            "rollout_batch_size": batch,
            "max_response_length": int(training.get("max_completion_length", 2048)),
            "seed": recipe.seed,
        },
        "algorithm": {"adv_estimator": "grpo"},
        "worker": {
            "actor": {
                "model": {"model_path": recipe.model},
                "optim": {"lr": float(training.get("learning_rate", 1e-6))},
            },
            "rollout": {
                "n": int(training.get("num_generations", 8)),
                "temperature": float(training.get("temperature", 1.0)),
            },
            "reward": {"reward_type": "batch", "reward_function": f"{reward}:compute_score"},
        },
        "trainer": {
            "nnodes": 1,
            "n_gpus_per_node": 8,
            "project_name": "fairreason",
            "experiment_name": recipe.name,
            "logger": ["console"],
        },
    }


def _flatten(config: dict[str, Any], prefix: str = "") -> list[str]:
    items = []
    for key, value in config.items():
        if isinstance(value, dict):
            items += _flatten(value, f"{prefix}{key}.")
        else:
            items.append(f"{prefix}{key}={json.dumps(value) if isinstance(value, list) else value}")
    return items


def launch_script(engine: str, output: Path) -> str:
    config = output / "config.yaml"
    if engine == "verl":
        overrides = " \\\n    ".join(
            shlex.quote(item) for item in _flatten(yaml.safe_load(config.read_text()))
        )
        command = f'python3 -m verl.trainer.main_ppo \\\n    {overrides} "$@"'
    else:
        command = (
            f'python3 -m verl.trainer.main config={shlex.quote(str(config))} "$@"  # EasyR1\'s entry point'
        )
    return (
        f"#!/usr/bin/env bash\n# Written by `fairreason export --engine {engine}`; "
        f"extra overrides may follow.\nset -euo pipefail\n{command}\n"
    )


def export(
    recipe_name: str,
    engine: str,
    output: str | Path,
    *,
    data_dir: str | Path | None = None,
    budget: int | None = None,
    debias_ratio: float | None = None,
) -> Path:
    """Write the parquet data, config, launch script and reward shim; return the folder."""
    if engine not in ENGINES:
        raise RecipeError(f"engine must be one of {ENGINES}, got {engine!r}")
    recipe = load_recipe(recipe_name, "grpo")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    mix = build_mix(recipe, data_dir=data_dir, budget=budget, ratio=debias_ratio)
    write_manifest(mix, out)
    import pandas as pd

    pd.DataFrame(engine_rows(mix.dataset, recipe, engine)).to_parquet(out / "train.parquet", index=False)
    function = "verl_compute_score" if engine == "verl" else "easyr1_compute_score"
    (out / "fairreason_reward.py").write_text(_SHIM.format(engine=engine, function=function))
    (out / "config.yaml").write_text(yaml.safe_dump(engine_config(recipe, engine, out), sort_keys=False))
    script = out / "launch.sh"
    script.write_text(launch_script(engine, out))
    script.chmod(0o755)
    return out


def export_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fairreason export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", required=True, choices=ENGINES)
    parser.add_argument(
        "--recipe", required=True, help="a GRPO recipe: qwen2_5_vl_7b, qwen3_8b, tiny or a YAML path"
    )
    parser.add_argument("--output", required=True)
    parser.add_argument("--debias-ratio", type=float)
    parser.add_argument("--budget", type=int)
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    try:
        out = export(
            args.recipe,
            args.engine,
            args.output,
            data_dir=args.data_dir,
            budget=args.budget,
            debias_ratio=args.debias_ratio,
        )
    except (RecipeError, PoolError, DataError) as error:
        print(f"fairreason export: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0

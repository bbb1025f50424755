"""What every training run shares around its TRL trainer: the base model, the TRL config,
resuming from the last checkpoint, and the `fairreason.json` record written next to the weights."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

from fairreason_tasks.runrecord import RUN_RECORD, package_versions, utc_timestamp, write_json_atomically
from trainers.recipe import Recipe, RecipeError

TINY_BASE_DIR = "tiny_base"
WARM_START_DIR = "warm_start"  # in a run folder: the SFT checkpoint a run starts from


def is_main_process() -> bool:
    """Under `accelerate launch` every process runs the training code; only the main one writes records."""
    from accelerate import PartialState

    return PartialState().is_main_process


def base_model(recipe: Recipe, output_dir: Path, texts: list[str]) -> str:
    """The model to start from: the recipe's path or hub id, or a tiny model built in the run folder."""
    if not recipe.is_tiny:
        return recipe.model
    from trainers.tiny_models import build_tiny_text_model

    return str(
        build_tiny_text_model(output_dir / TINY_BASE_DIR, texts, arch=recipe.model_arch, seed=recipe.seed)
    )


def tokenizer_texts(rows: Any) -> list[str]:
    """Prompt and target texts of a data set, which a tiny model's tokenizer is trained on."""
    return [message["content"] for prompt in rows["prompt"] for message in prompt] + list(rows["target"])


def trl_config(config_class: type, recipe: Recipe, output_dir: Path, **fixed: Any) -> Any:
    """The TRL config from the recipe's `training:` section; unknown keys name the recipe file."""
    known = {field.name for field in dataclasses.fields(config_class)}
    settings = {"seed": recipe.seed, "report_to": "none", **recipe.training, **fixed}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise RecipeError(
            f"{recipe.source_file}: training keys {unknown} are not {config_class.__name__} options"
        )
    return config_class(output_dir=str(output_dir), **settings)


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest `checkpoint-*` folder in `output_dir`, to resume an interrupted run from."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None


def train_and_save(trainer: Any, output_dir: Path, processing_class: Any) -> None:
    """Train (resuming from the last checkpoint if any) and save a loadable checkpoint in `output_dir`."""
    trainer.train(resume_from_checkpoint=last_checkpoint(output_dir))
    trainer.save_model(str(output_dir))
    processing_class.save_pretrained(str(output_dir))


def write_run_record(
    output_dir: Path,
    recipe: Recipe,
    manifest: dict[str, Any],
    *,
    base: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """`fairreason.json`: what a checkpoint was trained on, read back by `fairreason score`."""
    record = {
        "schema": "fairreason.train/1",
        "created_utc": utc_timestamp(),
        "paradigm": recipe.paradigm,
        "recipe": {"name": recipe.name, "file": str(recipe.source_file), "content": recipe.raw},
        "base_model": base,
        "debias_ratio": manifest["debias_ratio"],
        "budget": manifest["budget"],
        "seed": manifest["seed"],
        "counts": manifest["counts"],
        "data": manifest["checksums"],
        "versions": package_versions(),  # the same record `fairreason score` writes
        "git_revision": git_revision(),
        **(extra or {}),
    }
    path = output_dir / RUN_RECORD
    write_json_atomically(path, record, sort_keys=True)
    return path


def git_revision() -> str | None:
    """The code revision (with `-dirty` for uncommitted changes), or None outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")

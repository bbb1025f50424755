"""Distillation, both kinds the field uses.

- `mode: logits`: on-policy logit distillation with TRL's `DistillationTrainer`: the student
  generates for the mix's prompts and matches the teacher's next-token distribution
  (generalised JSD, `beta` in the recipe; teacher and student must share a tokenizer).
- `mode: traces`: SFT on teacher-written reasoning traces that the core grader accepted
  (`fairreason traces` writes them; only rows with `kept: true` whose id is in the mix are used,
  so the debias ratio of the mix still holds for what survives grading).

The teacher is a checkpoint path or hub id, or `sft:<recipe>`: train that SFT recipe first on
the same mix into `<output>/teacher` (the tiny recipe does this, there is no tiny teacher to download).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset

from fairreason_tasks.core.data import read_jsonl
from trainers.data_mix import Mix
from trainers.recipe import Recipe, RecipeError
from trainers.runs import train_and_save, trl_config

TEACHER_DIR = "teacher"
FROM_SFT = "sft:"


def train_distill(
    recipe: Recipe,
    model: str,
    mix: Mix,
    output_dir: Path,
    *,
    teacher: str | None = None,
    traces: str | Path | None = None,
) -> dict[str, Any]:
    """Run the recipe's distillation mode; returns what `fairreason.json` should record about it."""
    mode = recipe.distill.get("mode", "logits")
    if mode == "traces":
        trace_file = traces or recipe.distill.get("traces")
        if not trace_file:
            raise RecipeError(
                f"{recipe.source_file}: mode traces needs 'distill.traces' or --traces (a JSONL file)"
            )
        rows = trace_rows(mix.dataset, Path(trace_file))
        from trainers.sft import train_sft

        train_sft(recipe, model, rows, output_dir)
        return {"distill": {"mode": mode, "traces": str(trace_file), "trained_rows": len(rows)}}
    teacher_model = _teacher(recipe, teacher)
    _train_logits(recipe, model, teacher_model, mix.dataset, output_dir)
    return {"distill": {"mode": mode, "teacher": teacher_model, "beta": recipe.training.get("beta")}}


def trace_rows(mixed: Dataset, trace_file: Path) -> Dataset:
    """The mix rows whose teacher trace was kept, with the trace as the SFT target."""
    kept = {record["id"]: record["completion"] for _, record in read_jsonl(trace_file) if record.get("kept")}
    chosen = mixed.filter(lambda row: row["id"] in kept)
    if len(chosen) == 0:
        raise RecipeError(
            f"{trace_file}: no kept trace matches an id of the mix; run `fairreason traces` on this mix"
        )
    return chosen.map(lambda row: {"target": kept[row["id"]]})


def _teacher(recipe: Recipe, override: str | None) -> str:
    spec = override or recipe.distill.get("teacher")
    if not spec:
        raise RecipeError(f"{recipe.source_file}: mode logits needs 'distill.teacher' or --teacher")
    if spec.startswith(FROM_SFT):  # trainers.training.run_training trains it first and passes its path
        raise RecipeError(
            f"{recipe.source_file}: teacher {spec!r} is trained by run_training; pass its folder"
        )
    return spec


def _train_logits(recipe: Recipe, model: str, teacher: str, rows: Dataset, output_dir: Path) -> None:
    from transformers import AutoTokenizer
    from trl import DistillationConfig, DistillationTrainer

    tokenizer = AutoTokenizer.from_pretrained(model)
    trainer = DistillationTrainer(
        model=model,
        teacher_model=teacher,
        args=trl_config(DistillationConfig, recipe, output_dir),
        train_dataset=rows.select_columns(["prompt"]),
        processing_class=tokenizer,
    )
    train_and_save(trainer, output_dir, tokenizer)

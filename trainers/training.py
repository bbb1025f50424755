"""`run_training`: one checkpoint of a paradigm, the Python form of `fairreason train`.

Builds the exact debias:reasoning mix, trains with the paradigm's TRL trainer (resuming from the
last checkpoint in the output folder), and leaves there a Hugging Face checkpoint, `manifest.json`
(the mix) and `fairreason.json` (what the checkpoint was trained on). Prerequisite SFT runs (a
GRPO warm start, a `sft:<recipe>` distillation teacher) are trained here first, so the paradigm
modules never call back up into this one.
"""

from __future__ import annotations

from pathlib import Path

from trainers.data_mix import Mix, build_mix, write_manifest
from trainers.distill import FROM_SFT, TEACHER_DIR
from trainers.recipe import Recipe, load_recipe
from trainers.runs import (
    RUN_RECORD,
    TINY_BASE_DIR,
    WARM_START_DIR,
    base_model,
    is_main_process,
    tokenizer_texts,
    write_run_record,
)


def run_training(
    paradigm: str,
    recipe_name: str,
    output: str | Path,
    *,
    data_dir: str | Path | None = None,
    budget: int | None = None,
    debias_ratio: float | None = None,
    teacher: str | None = None,
    traces: str | Path | None = None,
    reward_model: str | Path | None = None,
) -> Path:
    """Train one checkpoint; the Python form of `fairreason train` (returns the output folder)."""
    recipe = load_recipe(recipe_name, paradigm)
    output_dir = Path(output)
    if paradigm == "mr_grpo":
        from trainers.mr_grpo import run_mr_grpo

        return run_mr_grpo(
            recipe,
            output_dir,
            reward_model=reward_model,
            budget=budget,
            debias_ratio=debias_ratio,
            main_process=is_main_process(),
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    if recipe.modality == "vision":
        return _run_vision_training(
            paradigm, recipe, output_dir, data_dir=data_dir, budget=budget, debias_ratio=debias_ratio
        )
    mix = build_mix(recipe, data_dir=data_dir, budget=budget, ratio=debias_ratio)
    if is_main_process():
        write_manifest(mix, output_dir)
    base = base_model(recipe, output_dir, tokenizer_texts(mix.dataset))
    extra: dict = {}
    if recipe.warm_start:
        base = str(
            prerequisite_sft(
                recipe.warm_start,
                output_dir / WARM_START_DIR,
                data_dir=data_dir,
                budget=budget,
                debias_ratio=debias_ratio,
            )
        )
        extra["warm_start"] = {"recipe": recipe.warm_start, "checkpoint": base}
    if paradigm == "sft":
        from trainers.sft import train_sft

        train_sft(recipe, base, mix.dataset, output_dir)
    elif paradigm == "grpo":
        from trainers.grpo import train_grpo

        train_grpo(recipe, base, mix.dataset, output_dir)
    else:
        from trainers.distill import train_distill

        teacher = _distill_teacher(recipe, teacher, mix, output_dir, data_dir)
        extra = train_distill(recipe, base, mix, output_dir, teacher=teacher, traces=traces)
    if is_main_process():
        write_run_record(output_dir, recipe, mix.manifest, base=base, extra=extra)
    return output_dir


def _run_vision_training(
    paradigm: str,
    recipe: Recipe,
    output_dir: Path,
    *,
    data_dir: str | Path | None,
    budget: int | None,
    debias_ratio: float | None,
) -> Path:
    """SFT or GRPO on image rows (trainers/vision.py); same records and resumption as text runs."""
    from trainers.vision import build_vision_mix, train_vision_grpo, train_vision_sft

    mix = build_vision_mix(recipe, data_dir=data_dir, budget=budget, ratio=debias_ratio)
    if is_main_process():
        write_manifest(mix, output_dir)
    base = recipe.model
    if recipe.is_tiny:
        from trainers.tiny_vl_model import build_tiny_vl_model

        base = str(build_tiny_vl_model(output_dir / TINY_BASE_DIR, seed=recipe.seed))
    train = train_vision_sft if paradigm == "sft" else train_vision_grpo
    train(recipe, base, mix.dataset, output_dir)
    if is_main_process():
        write_run_record(output_dir, recipe, mix.manifest, base=base)
    return output_dir


def prerequisite_sft(recipe_name: str, output: Path, **mix_options) -> Path:
    """An SFT checkpoint another run starts from (GRPO warm start, distillation teacher); reused once
    finished."""
    if (output / RUN_RECORD).is_file():
        return output
    return run_training("sft", recipe_name, output, **mix_options)


def _distill_teacher(
    recipe: Recipe, override: str | None, mix: Mix, output_dir: Path, data_dir: str | Path | None
) -> str | None:
    """A `sft:<recipe>` teacher trained first, on the same budget and ratio, into `<output>/teacher`;
    any other teacher (a path or hub id) as it is."""
    spec = override or recipe.distill.get("teacher")
    if not spec or not spec.startswith(FROM_SFT):
        return override
    built = prerequisite_sft(
        spec[len(FROM_SFT) :],
        output_dir / TEACHER_DIR,
        data_dir=data_dir,
        budget=mix.manifest["budget"],
        debias_ratio=mix.manifest["debias_ratio"],
    )
    return str(built)

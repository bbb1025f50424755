"""`fairreason train sft|distill|grpo|mr_grpo --recipe R [--debias-ratio r] [--budget N] [--data-dir D]
--output DIR` (and `fairreason train reward-model`, trainers/reward_model.py).

Builds the exact debias:reasoning mix, trains with the paradigm's TRL trainer (resuming from the
last checkpoint in DIR), and leaves in DIR a Hugging Face checkpoint, `manifest.json` (the mix)
and `fairreason.json` (what the checkpoint was trained on).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from fairreason_tasks.core.data import DataError
from trainers.data_mix import PoolError, build_mix, write_manifest
from trainers.recipe import PARADIGMS, Recipe, RecipeError, check_mix, load_recipe
from trainers.runs import RUN_RECORD, TINY_BASE_DIR, base_model, tokenizer_texts, write_run_record

WARM_START_DIR = "warm_start"

logger = logging.getLogger(__name__)


def run_training(paradigm: str, recipe_name: str, output: str | Path, *, data_dir: str | Path | None = None,
                 budget: int | None = None, debias_ratio: float | None = None, teacher: str | None = None,
                 traces: str | Path | None = None, reward_model: str | Path | None = None) -> Path:
    """Train one checkpoint; the Python form of `fairreason train` (returns the output folder)."""
    recipe = load_recipe(recipe_name, paradigm)
    output_dir = Path(output)
    if paradigm == "mr_grpo":
        from trainers.mr_grpo import run_mr_grpo

        return run_mr_grpo(recipe, output_dir, reward_model=reward_model, budget=budget,
                           debias_ratio=debias_ratio, main_process=is_main_process())
    output_dir.mkdir(parents=True, exist_ok=True)
    if recipe.modality == "vision":
        return _run_vision_training(paradigm, recipe, output_dir, data_dir=data_dir, budget=budget,
                                    debias_ratio=debias_ratio)
    mix = build_mix(recipe, data_dir=data_dir, budget=budget, ratio=debias_ratio)
    if is_main_process():
        write_manifest(mix, output_dir)
    base = base_model(recipe, output_dir, tokenizer_texts(mix.dataset))
    extra: dict = {}
    if recipe.warm_start:
        base = str(prerequisite_sft(recipe.warm_start, output_dir / WARM_START_DIR, data_dir=data_dir,
                                    budget=budget, debias_ratio=debias_ratio))
        extra["warm_start"] = {"recipe": recipe.warm_start, "checkpoint": base}
    if paradigm == "sft":
        from trainers.sft import train_sft

        train_sft(recipe, base, mix.dataset, output_dir)
    elif paradigm == "grpo":
        from trainers.grpo import train_grpo

        train_grpo(recipe, base, mix.dataset, output_dir)
    else:
        from trainers.distill import train_distill

        extra = train_distill(recipe, base, mix, output_dir, data_dir=data_dir, teacher=teacher, traces=traces)
    if is_main_process():
        write_run_record(output_dir, recipe, mix.manifest, base=base, extra=extra)
    return output_dir


def _run_vision_training(paradigm: str, recipe: Recipe, output_dir: Path, *, data_dir: str | Path | None,
                         budget: int | None, debias_ratio: float | None) -> Path:
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


def is_main_process() -> bool:
    """Under `accelerate launch` every rank runs this code; only rank 0 writes the records."""
    return os.environ.get("RANK", "0") == "0"


def prerequisite_sft(recipe_name: str, output: Path, **mix_options) -> Path:
    """An SFT checkpoint another run starts from (GRPO warm start, distillation teacher); reused once finished."""
    if (output / RUN_RECORD).is_file():
        return output
    return run_training("sft", recipe_name, output, **mix_options)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fairreason train", description=__doc__.split("\n\n")[1])
    parser.add_argument("paradigm", choices=PARADIGMS)
    parser.add_argument("--recipe", required=True, help="tiny | qwen3_8b | qwen2_5_vl_7b | path/to/recipe.yaml")
    parser.add_argument("--output", required=True, help="checkpoint folder (an interrupted run resumes here)")
    parser.add_argument("--debias-ratio", type=float, help="share of BBQ debias samples in the mix, 0..1")
    parser.add_argument("--budget", type=int, help="total number of training samples")
    parser.add_argument("--data-dir", help="local data folder (FAIRREASON_DATA_DIR layout)")
    parser.add_argument("--teacher", help="distill: teacher checkpoint (overrides the recipe)")
    parser.add_argument("--traces", help="distill with mode traces: kept-traces JSONL from `fairreason traces`")
    parser.add_argument("--reward-model",
                        help="mr_grpo: reward-model folder from `fairreason train reward-model` "
                             "(overrides the recipe's rewards.reward_model.path)")
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse impossible values before any data loads or any folder is created."""
    if args.debias_ratio is not None or args.budget is not None:
        budget = 1 if args.budget is None else args.budget
        ratio = 0.0 if args.debias_ratio is None else args.debias_ratio
        check_mix(budget, ratio, where="fairreason train")


def train_main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["reward-model"]:
        from trainers.reward_model import reward_model_main

        return reward_model_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        _check_arguments(args)
        output = run_training(args.paradigm, args.recipe, args.output, data_dir=args.data_dir,
                              budget=args.budget, debias_ratio=args.debias_ratio, teacher=args.teacher,
                              traces=args.traces, reward_model=args.reward_model)
    except (RecipeError, PoolError, DataError, FileNotFoundError) as error:
        print(f"fairreason train: {error}", file=sys.stderr)
        return 2
    print(output)
    return 0

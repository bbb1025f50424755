"""`fairreason train sft|distill|grpo|mr_grpo --recipe R [--debias-ratio r] [--budget N] [--data-dir D]
--output DIR` (and `fairreason train reward-model`, trainers/reward_model.py).

Builds the exact debias:reasoning mix, trains with the paradigm's TRL trainer (resuming from the
last checkpoint in DIR), and leaves in DIR a Hugging Face checkpoint, `manifest.json` (the mix)
and `fairreason.json` (what the checkpoint was trained on). The work is `trainers.training.run_training`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from fairreason_tasks.core.data import DataError
from trainers.data_mix import PoolError
from trainers.recipe import PARADIGMS, RecipeError, check_mix
from trainers.training import run_training


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fairreason train", description=__doc__.split("\n\n")[1])
    parser.add_argument("paradigm", choices=PARADIGMS)
    parser.add_argument(
        "--recipe", required=True, help="tiny | qwen3_8b | qwen2_5_vl_7b | path/to/recipe.yaml"
    )
    parser.add_argument("--output", required=True, help="checkpoint folder (an interrupted run resumes here)")
    parser.add_argument("--debias-ratio", type=float, help="share of BBQ debias samples in the mix, 0..1")
    parser.add_argument("--budget", type=int, help="total number of training samples")
    parser.add_argument("--data-dir", help="local data folder (FAIRREASON_DATA_DIR layout)")
    parser.add_argument("--teacher", help="distill: teacher checkpoint (overrides the recipe)")
    parser.add_argument(
        "--traces", help="distill with mode traces: kept-traces JSONL from `fairreason traces`"
    )
    parser.add_argument(
        "--reward-model",
        help="mr_grpo: reward-model folder from `fairreason train reward-model` "
        "(overrides the recipe's rewards.reward_model.path)",
    )
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
        output = run_training(
            args.paradigm,
            args.recipe,
            args.output,
            data_dir=args.data_dir,
            budget=args.budget,
            debias_ratio=args.debias_ratio,
            teacher=args.teacher,
            traces=args.traces,
            reward_model=args.reward_model,
        )
    except (RecipeError, PoolError, DataError, FileNotFoundError) as error:
        print(f"fairreason train: {error}", file=sys.stderr)
        return 2
    print(output)
    return 0

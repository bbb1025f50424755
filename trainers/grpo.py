"""Rule-reward GRPO on the mix with TRL's GRPOTrainer.

The prompt is the row's chat; every other column (task, options, label, unknown_index,
biased_index, answer) reaches the reward functions of `trainers.rewards`. Generation runs in
transformers by default; a recipe's `training: {use_vllm: true, vllm_mode: colocate|server}`
switches to vLLM on GPUs (see trainers/scale_out/README.md).
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset

from trainers.recipe import Recipe
from trainers.rewards import reward_functions
from trainers.runs import train_and_save, trl_config


def train_grpo(
    recipe: Recipe,
    model: str,
    rows: Dataset,
    output_dir: Path,
    callbacks: list | None = None,
    rewards: tuple[list, list[float]] | None = None,
) -> Path:
    """Optimise `model` against the recipe's weighted rewards (or the given (functions, weights));
    the final checkpoint lands in `output_dir`."""
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model)
    functions, weights = rewards or reward_functions(recipe.rewards)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=functions,
        args=trl_config(GRPOConfig, recipe, output_dir, reward_weights=weights),
        train_dataset=rows.remove_columns(["target"]),
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=lora_config(recipe),
    )
    train_and_save(trainer, output_dir, tokenizer)
    return output_dir


def lora_config(recipe: Recipe):
    """A peft LoraConfig from the recipe's `model.lora` mapping (LoRA adapters instead of full
    weights), or None."""
    settings = (recipe.raw.get("model") or {}).get("lora")
    if not settings:
        return None
    from peft import LoraConfig

    return LoraConfig(**settings)

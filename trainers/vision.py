"""Vision-language training: VLBiasBench debias items and MathVerse reasoning items with their images.

The same exact debias:reasoning mix, the same prompts the lmms-eval tasks show
(`core.vlbias.format_prompt`, MathVerse's `query_cot`), the same rule rewards as text GRPO
(`trainers.rewards`), with the image as a column: TRL 1.16 renders it through the model's
processor (`images` for SFT, `image` for GRPO).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from datasets import Dataset, Image

from fairreason_tasks.core import data, mathverse, vlbias
from fairreason_tasks.core.bias_metrics import LETTERS
from fairreason_tasks.documents import vlbias_doc
from trainers.data_mix import Mix, mix_pools, split_counts
from trainers.data_sources import gradable_only, llava_cot_rows
from trainers.recipe import Recipe
from trainers.rewards import reward_functions
from trainers.rows import BBQ_TASK, MATH_TASK, image_user_turn
from trainers.runs import train_and_save, trl_config


def vlbias_rows(root: Path) -> list[dict[str, Any]]:
    """Debias rows: each item exactly as the lmms-eval task shows it (option order, prompt, image),
    the correct letter as the target."""
    items = vlbias.load_items(root)
    images = vlbias.json_root(root).parent / "images"
    rows = []
    for item, order in zip(items, vlbias.present(items), strict=True):
        doc = vlbias_doc(item, order, images)
        letter = LETTERS[doc["label"]]
        rows.append(
            {
                "id": doc["item_id"],
                "task": BBQ_TASK,
                "image": doc["image"],
                "prompt": image_user_turn(
                    vlbias.format_prompt(doc["context"], doc["question"], doc["options"])
                ),
                "target": f"Answer: {letter}",
                "answer": letter,
                "options": doc["options"],
                "label": doc["label"],
                "unknown_index": doc["unknown_index"],
                "biased_index": doc["biased_index"],
                "context_condition": doc["context_condition"],
                "category": doc["category"],
            }
        )
    return rows


def mathverse_row(item: mathverse.MathVerseItem, image: Path) -> dict[str, Any]:
    """A reasoning row: MathVerse's chain-of-thought query over the figure, a boxed final answer."""
    return {
        "id": f"mathverse/{item.sample_index}",
        "task": MATH_TASK,
        "image": str(image),
        "prompt": image_user_turn(item.query_cot),
        "target": f"The final answer is $\\boxed{{{item.answer}}}$.",
        "answer": item.answer,
        "options": [],
        "label": -1,
        "unknown_index": -1,
        "biased_index": -1,
        "context_condition": "",
        "category": item.subject,
    }


def _mixed(
    recipe: Recipe,
    root: Path,
    debias: Dataset,
    reasoning: Dataset,
    budget: int,
    ratio: float,
    *,
    extra: dict | None = None,
    checksums: dict | None = None,
) -> Mix:
    """The exact mix of two image pools and its manifest (the part both vision mixes share)."""
    mixed = mix_pools(debias, reasoning, budget=budget, ratio=ratio, seed=recipe.seed)
    n_debias, n_reasoning = split_counts(budget, ratio)
    manifest = {
        "budget": budget,
        "debias_ratio": ratio,
        "seed": recipe.seed,
        "modality": "vision",
        "counts": {"total": len(mixed), "debias": n_debias, "reasoning": n_reasoning},
        "pool_sizes": {"debias": len(debias), "reasoning": len(reasoning)},
        **(extra or {}),
        "data_dir": str(root.resolve()),
        "checksums": {**data.verified_checksums(), **(checksums or {})},
    }
    return Mix(mixed.cast_column("image", Image()), manifest)


def llava_cot_mix(
    recipe: Recipe,
    *,
    data_dir: str | Path | None = None,
    budget: int | None = None,
    ratio: float | None = None,
) -> Mix:
    """The Qwen2.5-VL paper mix: VLBiasBench debias items (as the lmms-eval task shows them) and
    LLaVA-CoT reasoning rows, mixed exactly; GRPO keeps only rows with a gradable answer."""
    root = Path(data_dir or os.environ.get(data.DATA_DIR_ENV) or "")
    if not (root / "vlbiasbench").is_dir():
        raise FileNotFoundError(
            f"{root}: the vision paper recipes need vlbiasbench/ in the data folder "
            "(--data-dir or FAIRREASON_DATA_DIR)"
        )
    dropped: Counter = Counter()
    debias = Dataset.from_list(vlbias_rows(root / "vlbiasbench"))
    reasoning_list, checksums = llava_cot_rows(recipe.reasoning, dropped)
    reasoning = gradable_only(
        Dataset.from_list(reasoning_list).cast(debias.features), recipe.paradigm, dropped
    )
    return _mixed(
        recipe,
        root,
        debias,
        reasoning,
        recipe.budget if budget is None else budget,
        recipe.debias_ratio if ratio is None else ratio,
        extra={"dropped": {"reasoning": dict(sorted(dropped.items()))}},
        checksums=checksums,
    )


def build_vision_mix(
    recipe: Recipe,
    *,
    data_dir: str | Path | None = None,
    budget: int | None = None,
    ratio: float | None = None,
) -> Mix:
    """Exact mix from `<data_dir>/vlbiasbench/` and `<data_dir>/mathverse/` (FAIRREASON_DATA_DIR layout),
    or LLaVA-CoT as the reasoning pool for the paper recipes (`reasoning.source: llava_cot`)."""
    if recipe.reasoning.source == "llava_cot":
        return llava_cot_mix(recipe, data_dir=data_dir, budget=budget, ratio=ratio)
    root = Path(data_dir or os.environ.get(data.DATA_DIR_ENV) or "")
    if not (root / "vlbiasbench").is_dir() or not (root / "mathverse").is_dir():
        raise FileNotFoundError(
            f"{root}: vision recipes need vlbiasbench/ and mathverse/ in the data folder "
            "(--data-dir or FAIRREASON_DATA_DIR)"
        )
    debias = Dataset.from_list(vlbias_rows(root / "vlbiasbench"))
    reasoning = Dataset.from_list(
        [
            mathverse_row(item, mathverse.image_path(root / "mathverse", item.image))
            for item in mathverse.load_items(root / "mathverse")
            if item.image
        ]
    )
    return _mixed(
        recipe,
        root,
        debias,
        reasoning.cast(debias.features),
        recipe.budget if budget is None else budget,
        recipe.debias_ratio if ratio is None else ratio,
    )


def train_vision_sft(recipe: Recipe, model: str, rows: Dataset, output_dir: Path) -> Path:
    """TRL SFTTrainer over image + chat rows, through the model's processor."""
    from transformers import AutoProcessor
    from trl import SFTConfig, SFTTrainer

    processor = AutoProcessor.from_pretrained(model)
    chats = rows.map(
        lambda row: {
            "images": [row["image"]],
            "messages": [
                *row["prompt"],
                {"role": "assistant", "content": [{"type": "text", "text": row["target"]}]},
            ],
        },
        remove_columns=rows.column_names,
    )
    trainer = SFTTrainer(
        model=model,
        args=trl_config(SFTConfig, recipe, output_dir),
        train_dataset=chats,
        processing_class=processor,
    )
    train_and_save(trainer, output_dir, processor)
    return output_dir


def train_vision_grpo(recipe: Recipe, model: str, rows: Dataset, output_dir: Path) -> Path:
    """TRL GRPOTrainer with the text rule rewards; the `image` column goes to the processor."""
    from transformers import AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    processor = AutoProcessor.from_pretrained(model)
    funcs, weights = reward_functions(recipe.rewards)
    trainer = GRPOTrainer(
        model=model,
        args=trl_config(GRPOConfig, recipe, output_dir, reward_weights=weights),
        train_dataset=rows.remove_columns(["target"]),
        processing_class=processor,
        reward_funcs=funcs,
    )
    train_and_save(trainer, output_dir, processor)
    return output_dir

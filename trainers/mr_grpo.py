"""Multi-reward GRPO (`fairreason train mr_grpo`): the reward model's heads drive TRL's GRPOTrainer.

After Deng & Ji (2025). The debias rows are open-ended prompts from the training templates of
`core.discrimination` (task `open_bias`); the reasoning rows and the exact-ratio mixer are those
of the other paradigms (`trainers.data_mix`), so a debias:reasoning mix at any ratio works, and
the rule rewards (`trainers.rewards`) score the reasoning rows.

TRL reads only the first logit of a model passed as a reward, so each head is its own reward
function, named after the head (TRL logs `rewards/fairness/mean`, ...), and all of them read one
cached forward pass of the reward model per batch (`SharedRewardModel`).

An answer that is empty, truncated (hit `max_completion_length` without an end-of-sequence
token) or unparsed (thinking block never closed) gets 0.0 from every head: the lowest score a
head gives (scores are clipped to [0, 1]), so such answers always rank last in their group.
None is kept for rows a head does not apply to (reasoning rows): TRL then leaves that reward out
of the row's sum, whereas a None on a degenerate answer would hide it from the head that should
punish it.

Recipe: `rewards: {reward_model: {path: DIR, heads: {fairness: 1.0, neutrality: 0.5, fluency: 0.5}},
weights: {format: 0, bbq: 0, math: 1.0}}`; `data.open_bias: {per_cell, planted_bias_share}`;
`model.warm_start` names an SFT recipe whose settings train the warm start on this same mix.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset

from fairreason_tasks.core import data as core_data
from fairreason_tasks.core import discrimination as disc
from trainers.data_mix import ROW_FEATURES, Mix, mix_pools, reasoning_pool, split_counts, write_manifest
from trainers.recipe import Recipe, RecipeError, load_recipe
from trainers.rewards import completion_text, reward_functions
from trainers.runs import RUN_RECORD, WARM_START_DIR, base_model, tokenizer_texts, write_run_record

OPEN_BIAS_TASK = "open_bias"
DEFAULT_HEAD_WEIGHTS = {"fairness": 1.0, "neutrality": 0.5, "fluency": 0.5}


# ---- data ----------------------------------------------------------------------------------------


def open_bias_rows(seed: int, per_cell: int, *, planted_bias_share: float = 0.0) -> list[dict[str, Any]]:
    """Training-template prompts as mix rows; the SFT target is the neutral response, or, for a seeded
    `planted_bias_share` of rows, a biased one (the demo plants a bias so that debiasing has work to do)."""
    examples = disc.generate(seed, per_cell, splits=("train",))
    planted = set(
        random.Random(f"plant/{seed}").sample(range(len(examples)), round(planted_bias_share * len(examples)))
    )
    rows = []
    for index, example in enumerate(examples):
        kind = "biased" if index in planted else "neutral"
        target = next(r.text for r in example.responses if r.kind == kind)
        rows.append(
            {
                "id": f"open_bias/{example.id}",
                "task": OPEN_BIAS_TASK,
                "prompt": [{"role": "user", "content": example.prompt}],
                "target": target,
                "answer": "",
                "options": [],
                "category": example.category,
                "context_condition": kind,
                "label": -1,
                "unknown_index": -1,
                "biased_index": -1,
            }
        )
    return rows


def build_mr_mix(recipe: Recipe, *, budget: int | None = None, ratio: float | None = None) -> Mix:
    """round(ratio * budget) open-ended debias rows plus reasoning rows, with the manifest."""
    budget = recipe.budget if budget is None else budget
    ratio = recipe.debias_ratio if ratio is None else ratio
    settings = dict(recipe.raw.get("data", {}).get("open_bias") or {})
    per_cell = int(settings.get("per_cell", disc.DEFAULT_PER_CELL))
    share = float(settings.get("planted_bias_share", 0.0))
    if not 0.0 <= share <= 1.0:
        raise RecipeError(
            f"{recipe.source_file}: field 'data.open_bias.planted_bias_share' must lie in [0, 1]"
        )
    rows = open_bias_rows(recipe.seed, per_cell, planted_bias_share=share)
    debias = Dataset.from_list(rows, features=ROW_FEATURES)
    reasoning, reasoning_checksums = reasoning_pool(recipe.reasoning, recipe.seed)
    mixed = mix_pools(debias, reasoning, budget=budget, ratio=ratio, seed=recipe.seed)
    source = disc.manifest(disc.generate(recipe.seed, per_cell, splits=("train",)), source="generated")
    n_debias, n_reasoning = split_counts(budget, ratio)
    manifest = {
        "budget": budget,
        "debias_ratio": ratio,
        "seed": recipe.seed,
        "counts": {
            "total": len(mixed),
            "debias": n_debias,
            "reasoning": n_reasoning,
            "by_task": {task: mixed["task"].count(task) for task in sorted(set(mixed["task"]))},
            "planted_biased_targets": sum(1 for row in mixed if row["context_condition"] == "biased"),
        },
        "pool_sizes": {"debias": len(debias), "reasoning": len(reasoning)},
        "open_bias": {
            "per_cell": per_cell,
            "planted_bias_share": share,
            "templates": source["splits"]["train"]["templates"],
        },
        "reasoning_source": recipe.reasoning.__dict__,
        "checksums": {
            f"discrimination(seed={recipe.seed},per_cell={per_cell})/train": source["splits"]["train"][
                "sha256"
            ],
            **core_data.verified_checksums(),
            **reasoning_checksums,
        },
    }
    return Mix(mixed, manifest)


# ---- rewards -------------------------------------------------------------------------------------


def _prompt_text(prompt: Any) -> str:
    """The user turn of a chat prompt (what the reward model was trained on), or a plain string."""
    if isinstance(prompt, str):
        return prompt
    users = [completion_text([message]) for message in prompt if message.get("role") == "user"]
    return users[-1] if users else completion_text(prompt)


class SharedRewardModel:
    """One reward-model forward pass per batch, shared by every head's reward function."""

    def __init__(
        self, scorer: Any, *, max_completion_length: int | None = None, eos_token_id: int | None = None
    ):
        self.scorer = scorer
        self.max_completion_length = max_completion_length
        self.eos_token_id = eos_token_id
        self._key: tuple | None = None
        self._rewards: dict[str, list[float | None]] = {}

    def _truncated(self, ids: Sequence[int] | None) -> bool:
        if ids is None or self.max_completion_length is None:
            return False
        return len(ids) >= self.max_completion_length and (
            self.eos_token_id is None or self.eos_token_id not in ids
        )

    def rewards(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence | None,
        tasks: Sequence[str] | None,
    ) -> dict[str, list[float | None]]:
        """Per head, one reward per completion: model score, 0.0 for a degenerate answer, None off-task."""
        texts = [completion_text(c) for c in completions]
        prompt_texts = [_prompt_text(p) for p in prompts]
        tasks = list(tasks or [OPEN_BIAS_TASK] * len(texts))
        key = (tuple(prompt_texts), tuple(texts), tuple(tasks))
        if key == self._key:
            return self._rewards
        ids = list(completion_ids) if completion_ids is not None else [None] * len(texts)
        values: list[list[float] | None] = [None] * len(texts)
        todo = []
        for k, (text, task) in enumerate(zip(texts, tasks, strict=True)):
            if task != OPEN_BIAS_TASK:
                continue
            answer = None if self._truncated(ids[k]) else disc.answer_for_scoring(text)
            if answer is None:
                values[k] = [0.0] * len(self.scorer.heads)
            else:
                todo.append((k, answer))
        if todo:
            scored = self.scorer.score([prompt_texts[k] for k, _ in todo], [answer for _, answer in todo])
            for (k, _), row in zip(todo, scored, strict=True):
                values[k] = [float(v) for v in row]
        self._rewards = {
            head: [None if v is None else v[position] for v in values]
            for position, head in enumerate(self.scorer.heads)
        }
        self._key = key
        return self._rewards


class HeadReward:
    """TRL reward function for one head; `__name__` is the head, so TRL logs `rewards/<head>/mean`."""

    def __init__(self, shared: SharedRewardModel, head: str) -> None:
        self.shared, self.head, self.__name__ = shared, head, head

    def __call__(
        self, prompts: list, completions: list, completion_ids: list | None = None, **columns: Any
    ) -> list[float | None]:
        return self.shared.rewards(prompts, completions, completion_ids, columns.get("task"))[self.head]


class _OffOpenBias:
    """A rule reward that abstains (None) on open-ended rows, which it has no rule for."""

    def __init__(self, function: Callable[..., list]) -> None:
        self.function = function
        inner = getattr(function, "func", function)
        self.__name__ = inner.__name__.removesuffix("_reward")

    def __call__(self, completions: list, **columns: Any) -> list:
        values = self.function(completions, **columns)
        tasks = columns.get("task") or [None] * len(values)
        return [None if task == OPEN_BIAS_TASK else value for value, task in zip(values, tasks, strict=True)]


def reward_model_settings(recipe: Recipe, override: str | Path | None) -> tuple[Path, dict[str, float]]:
    """The reward-model folder (the command line wins over the recipe) and the head weights."""
    section = dict(recipe.rewards.get("reward_model") or {})
    path = override or section.get("path")
    if not path:
        raise RecipeError(
            "mr_grpo needs a reward model: pass --reward-model DIR (from `fairreason train "
            f"reward-model`) or set rewards.reward_model.path in {recipe.source_file}"
        )
    if not (Path(path) / "config.json").is_file():
        raise RecipeError(f"--reward-model {path}: not a reward-model folder (no config.json)")
    heads = {str(h): float(w) for h, w in (section.get("heads") or DEFAULT_HEAD_WEIGHTS).items()}
    return Path(path), heads


def mr_reward_functions(
    recipe: Recipe,
    scorer: Any,
    head_weights: Mapping[str, float],
    *,
    max_completion_length: int | None,
    eos_token_id: int | None,
) -> tuple[list, list[float]]:
    """One function per weighted head (sharing one forward pass), then the recipe's rule rewards."""
    unknown = set(head_weights) - set(scorer.heads)
    if unknown:
        raise RecipeError(
            f"{recipe.source_file}: rewards.reward_model.heads names {sorted(unknown)}, "
            f"but the reward model has heads {scorer.heads}"
        )
    shared = SharedRewardModel(scorer, max_completion_length=max_completion_length, eos_token_id=eos_token_id)
    functions: list = [HeadReward(shared, head) for head, weight in head_weights.items() if weight]
    weights = [weight for weight in head_weights.values() if weight]
    rules, rule_weights = reward_functions({k: v for k, v in recipe.rewards.items() if k != "reward_model"})
    return functions + [_OffOpenBias(f) for f in rules], weights + rule_weights


# ---- the run -------------------------------------------------------------------------------------


def _warm_start(recipe: Recipe, base: str, mix: Mix, output_dir: Path) -> str:
    """SFT on the same mix with the settings of the recipe named by `model.warm_start`; reused once
    finished."""
    from trainers.sft import train_sft

    warm = output_dir / WARM_START_DIR
    if (warm / RUN_RECORD).is_file():
        return str(warm)
    sft_recipe = load_recipe(recipe.warm_start, "sft")
    train_sft(sft_recipe, base, mix.dataset, warm)
    write_run_record(warm, sft_recipe, mix.manifest, base=base, extra={"warm_start_for": "mr_grpo"})
    return str(warm)


def run_mr_grpo(
    recipe: Recipe,
    output_dir: Path,
    *,
    reward_model: str | Path | None = None,
    budget: int | None = None,
    debias_ratio: float | None = None,
    main_process: bool = True,
) -> Path:
    """Warm start (if the recipe names one), then GRPO against the reward-model heads and rule rewards;
    only the `main_process` (rank 0 under `accelerate launch`) writes the records."""
    from transformers import AutoTokenizer

    from trainers.grpo import train_grpo
    from trainers.reward_model import EVAL_FILE, RewardModelScorer, weights_sha256

    rm_path, head_weights = reward_model_settings(recipe, reward_model)  # before any data or folder
    mix = build_mr_mix(recipe, budget=budget, ratio=debias_ratio)
    output_dir.mkdir(parents=True, exist_ok=True)
    if main_process:
        write_manifest(mix, output_dir)
    base = base_model(recipe, output_dir, tokenizer_texts(mix.dataset))
    extra: dict[str, Any] = {}
    if recipe.warm_start:
        base = _warm_start(recipe, base, mix, output_dir)
        extra["warm_start"] = {"recipe": recipe.warm_start, "checkpoint": base}
    scorer = RewardModelScorer(rm_path)
    tokenizer = AutoTokenizer.from_pretrained(base)
    rewards = mr_reward_functions(
        recipe,
        scorer,
        head_weights,
        max_completion_length=recipe.training.get("max_completion_length"),
        eos_token_id=tokenizer.eos_token_id,
    )
    train_grpo(recipe, base, mix.dataset, output_dir, rewards=rewards)
    evaluation = rm_path / EVAL_FILE
    extra["reward_model"] = {
        "path": str(rm_path.resolve()),
        "weights_sha256": weights_sha256(rm_path),
        "head_weights": head_weights,
        "eval": json.loads(evaluation.read_text())["heads"] if evaluation.is_file() else None,
    }
    if main_process:
        write_run_record(output_dir, recipe, mix.manifest, base=base, extra=extra)
    return output_dir

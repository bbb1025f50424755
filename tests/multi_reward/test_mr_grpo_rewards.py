"""The per-head TRL reward functions: the model's own head scores, one shared forward pass, 0.0 for a
degenerate answer and None off-task; the recipe's reward-model section."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairreason_tasks.core import discrimination as disc
from fairreason_tasks.reward_scoring import RewardModelScorer
from trainers.mr_grpo import OPEN_BIAS_TASK, HeadReward, mr_reward_functions, reward_model_settings
from trainers.recipe import RecipeError, load_recipe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer(tiny_reward_model: Path) -> RewardModelScorer:
    return RewardModelScorer(tiny_reward_model)


def _functions(scorer: RewardModelScorer, max_len: int | None = 8) -> tuple[list, list[float]]:
    recipe = load_recipe("tiny_mr_grpo", "mr_grpo")
    return mr_reward_functions(
        recipe,
        scorer,
        {"fairness": 1.0, "neutrality": 0.5, "fluency": 0.5},
        max_completion_length=max_len,
        eos_token_id=99,
    )


def test_each_head_returns_the_models_score_from_one_forward_pass(scorer: RewardModelScorer) -> None:
    example = disc.generate(0, 1, splits=("test",))[0]
    answers = [r.text for r in example.responses[:3]]
    prompt = [{"role": "user", "content": example.prompt}]
    completions = [[{"role": "assistant", "content": f"<think>hm</think>{a}"}] for a in answers]
    completions += [
        [{"role": "assistant", "content": "Answer: 12"}],  # a reasoning row
        [{"role": "assistant", "content": "<think>never closed"}],
        [{"role": "assistant", "content": "  "}],
        [{"role": "assistant", "content": answers[0]}],
    ]  # truncated: see completion_ids
    tasks = [OPEN_BIAS_TASK] * 3 + ["demo_arith"] + [OPEN_BIAS_TASK] * 3
    ids = [[1, 99]] * 6 + [list(range(8))]
    functions, weights = _functions(scorer)
    assert [f.__name__ for f in functions] == ["fairness", "neutrality", "fluency", "math"]
    assert weights == [1.0, 0.5, 0.5, 1.0]
    expected = scorer.score([example.prompt] * 3, answers)
    before = scorer.forward_passes
    per_head = [
        f(
            prompts=[prompt] * 7,
            completions=completions,
            completion_ids=ids,
            task=tasks,
            answer=[""] * 3 + ["12"] + [""] * 3,
        )
        for f in functions[:3]
    ]
    assert scorer.forward_passes - before == 1  # three heads, one batch of three answers
    for position, values in enumerate(per_head):
        assert values[:3] == pytest.approx(list(expected[:, position]))
        assert values[3] is None
        assert values[4:] == [0.0, 0.0, 0.0]
    math_values = functions[3](completions=completions, task=tasks, answer=[""] * 3 + ["12"] + [""] * 3)
    assert math_values[3] == 1.0 and all(v is None for k, v in enumerate(math_values) if k != 3)


def test_a_new_batch_is_scored_again(scorer: RewardModelScorer) -> None:
    functions, _ = _functions(scorer, max_len=None)
    fairness: HeadReward = functions[0]
    fairness(prompts=["p"], completions=["a fair answer"], task=[OPEN_BIAS_TASK])
    second = fairness(prompts=["p"], completions=["another answer"], task=[OPEN_BIAS_TASK])
    assert second == pytest.approx(list(scorer.score(["p"], ["another answer"])[:, 0]))


def test_reward_model_settings(tiny_reward_model: Path, scorer: RewardModelScorer) -> None:
    recipe = load_recipe("tiny_mr_grpo", "mr_grpo")
    with pytest.raises(RecipeError, match="--reward-model DIR"):
        reward_model_settings(recipe, None)
    path, heads = reward_model_settings(recipe, tiny_reward_model)
    assert path == tiny_reward_model and heads == {"fairness": 1.0, "neutrality": 0.5, "fluency": 1.0}
    with pytest.raises(RecipeError, match="has heads"):
        mr_reward_functions(
            recipe, scorer, {"politeness": 1.0}, max_completion_length=None, eos_token_id=None
        )

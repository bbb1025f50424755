"""Reward-model scoring speed (rm_minilm on CPU) and the shared forward pass of multi-reward GRPO.

1. Throughput: (prompt, answer) pairs scored per second by `RewardModelScorer` with the rm_minilm
   encoder (all-MiniLM-L6-v2 with three heads; speed does not depend on training, so the heads are
   left untrained here) on test-template prompts and their five responses.
2. Sharing: the three per-head GRPO reward functions of one batch (`trainers.mr_grpo`, one cached
   forward pass) against the usual TRL set-up of one reward model call per reward function (three
   forward passes). Target: shared / per-head <= 0.4 (ideal 1/3).

    python benchmarks/bench_reward_model.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from fairreason_tasks.core import discrimination as disc
from fairreason_tasks.reward_scoring import RewardModelScorer
from trainers.mr_grpo import OPEN_BIAS_TASK, HeadReward, SharedRewardModel
from trainers.reward_model import load_encoder, load_reward_recipe

PAIRS = 320
REPEATS = 3


def _best(run, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    examples = disc.generate(0, 2, splits=("test",))
    flat = list(disc.iter_responses(examples))[:PAIRS]
    prompts = [e.prompt for e, _, _ in flat]
    answers = [r.text for _, _, r in flat]
    with tempfile.TemporaryDirectory() as tmp:
        recipe = load_reward_recipe("rm_minilm")
        model, tokenizer = load_encoder(recipe, [])
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (Path(tmp) / "fairreason.json").write_text(f'{{"max_length": {recipe.max_length}}}')
        scorer = RewardModelScorer(tmp, batch_size=32, device="cpu")
        scorer.score(prompts[:32], answers[:32])  # warm-up
        seconds = _best(lambda: scorer.score(prompts, answers))
        print(
            f"rm_minilm scoring on CPU ({torch.get_num_threads()} threads): {len(answers)} pairs in "
            f"{seconds:.2f} s = {len(answers) / seconds:.1f} pairs/s"
        )

        batch = 64
        chats = [[{"role": "user", "content": p}] for p in prompts[:batch]]
        completions = answers[:batch]
        tasks = [OPEN_BIAS_TASK] * batch

        def shared_heads() -> None:
            shared = SharedRewardModel(scorer)
            for head in scorer.heads:
                HeadReward(shared, head)(prompts=chats, completions=completions, task=tasks)

        def one_model_per_head() -> None:
            for head in scorer.heads:  # what TRL does with one reward model per reward function
                HeadReward(SharedRewardModel(scorer), head)(
                    prompts=chats, completions=completions, task=tasks
                )

        shared_s, separate_s = _best(shared_heads), _best(one_model_per_head)
        print(
            f"three head rewards on a batch of {batch}: shared forward pass {shared_s:.2f} s, "
            f"one pass per head {separate_s:.2f} s, ratio {shared_s / separate_s:.2f} (target <= 0.4)"
        )


if __name__ == "__main__":
    main()

"""Per-step time of `fairreason train sft` against plain TRL SFTTrainer on the same tiny run.

Both sides train the same 2-layer model on the same mixed rows with the same SFTConfig, in one
process, in interleaved runs (ours, plain, ours, plain, ...) so machine noise hits both alike.
Every optimizer step is timed by one callback that both trainers carry (added to transformers'
default callbacks, so neither side's code changes); the first steps of each run are warm-up and
not counted. Each pair of neighbouring runs gives a ratio of median step times; the overhead is
the median of those paired ratios (a slow spell of the machine hits a pair, not one side),
target at most 5 %; the pooled medians and the set-up time around the steps (building the
trainer, saving) are printed beside it. Torch runs on one thread by default, which makes a
shared machine's noise smaller. Run: `python benchmarks/bench_train_tiny.py [--runs 6] [--steps 40]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

for _name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURE_BBQ = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "bbq"
WARMUP_STEPS = 5
TARGET_OVERHEAD = 0.05


def step_timer():
    """A TrainerCallback class whose instances append each optimizer step's seconds to `StepTimer.steps`."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        steps: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            self._started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            StepTimer.steps.append(time.perf_counter() - self._started)

    return StepTimer


def ours(recipe, base: str, rows, out: Path) -> None:
    from trainers.sft import train_sft

    train_sft(recipe, base, rows, out)


def plain_trl(recipe, base: str, rows, out: Path) -> None:
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(base)
    chats = rows.map(
        lambda r: {"messages": [*r["prompt"], {"role": "assistant", "content": r["target"]}]},
        remove_columns=rows.column_names,
    )
    config = SFTConfig(output_dir=str(out), **{"seed": recipe.seed, "report_to": "none", **recipe.training})
    trainer = SFTTrainer(model=base, args=config, train_dataset=chats, processing_class=tokenizer)
    trainer.train()
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs per side (interleaved)")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    import torch
    import transformers.trainer
    from datasets.utils.logging import disable_progress_bar

    from trainers.data_mix import build_mix
    from trainers.recipe import load_recipe
    from trainers.runs import base_model, tokenizer_texts

    disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    timer = step_timer()
    transformers.trainer.DEFAULT_CALLBACKS.append(timer)
    recipe = load_recipe("tiny", "sft")
    recipe = dataclasses.replace(
        recipe,
        training={
            **recipe.training,
            "max_steps": args.steps,
            "save_strategy": "no",
            "disable_tqdm": True,
            "logging_steps": args.steps,
        },
    )
    rows = build_mix(recipe, data_dir=FIXTURE_BBQ).dataset
    steps: dict[str, list[float]] = {"fairreason": [], "plain_trl": []}
    run_medians: dict[str, list[float]] = {"fairreason": [], "plain_trl": []}
    setup: dict[str, list[float]] = {"fairreason": [], "plain_trl": []}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        base = base_model(recipe, root, tokenizer_texts(rows))
        for run in range(-1, args.runs):  # run -1 warms imports and caches, not counted
            order = (("fairreason", ours), ("plain_trl", plain_trl))
            for name, train in order if run % 2 else reversed(order):  # alternate which side goes first
                timer.steps = []
                started = time.perf_counter()
                train(recipe, base, rows, root / f"{name}_{run}")
                wall = time.perf_counter() - started
                if run >= 0:
                    counted = timer.steps[WARMUP_STEPS:]
                    steps[name] += counted
                    run_medians[name].append(statistics.median(counted))
                    setup[name].append(wall - sum(timer.steps))
    ours_step, trl_step = (statistics.median(steps[name]) for name in ("fairreason", "plain_trl"))
    paired = statistics.median(
        a / b for a, b in zip(run_medians["fairreason"], run_medians["plain_trl"], strict=True)
    )
    print(
        f"{args.runs} interleaved runs per side, {args.steps} steps each, "
        f"first {WARMUP_STEPS} of each run not counted"
    )
    for name in ("fairreason", "plain_trl"):
        print(
            f"  {name:10s} median step {1000 * statistics.median(steps[name]):7.2f} ms "
            f"(per-run medians {', '.join(f'{1000 * m:.2f}' for m in run_medians[name])} ms; "
            f"set-up and save {statistics.median(setup[name]):.2f} s per run)"
        )
    overhead = paired - 1
    verdict = "met" if overhead <= TARGET_OVERHEAD else "NOT met"
    print(f"pooled median step ratio fairreason/plain TRL = {ours_step / trl_step:.3f}")
    print(
        f"ratio fairreason/plain TRL (median of {args.runs} paired runs) = {paired:.3f}; per-step overhead "
        f"{overhead:+.1%} (target <= {TARGET_OVERHEAD:.0%}: {verdict})"
    )


if __name__ == "__main__":
    main()

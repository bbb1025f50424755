"""`fairreason demo` / `make demo`: the whole study on a tiny model, offline, on CPU, in minutes.

1. Base model. A 2-layer model is built locally (`trainers.tiny_models`) and warm-started with
   the real SFT trainer to stand in for a pretrained model that already answers the BBQ prompt
   (with the option's text), adds two-digit numbers column by column, and carries a stereotype:
   in ambiguous contexts it was taught the *biased* option, on rows of every template that are
   never scored (`bbq_demo/warm_start/`) and on the training-pool rows, as pretraining would
   have taught it. The bias is planted on purpose so that debiasing has something to remove;
   the output and docs/demo.md say so.
2. Sweep. `fairreason sweep` trains SFT cells at debias ratios 0, 0.2 and 1 from that base (the
   real trainer on the shipped training-pool rows, answered with the correct option's text,
   plus the synthetic arithmetic set) and scores each through lm-eval on the held-out templates'
   rows (`fairreason_bbq_heldout`, never trained on) and the demo arithmetic task
   (`fairreason_demo_arith`, held-out pairs).
3. Leaderboard. `leaderboard.md/.csv/.html` and `frontier.png` in the output folder, baseline
   the ratio-0 cell.
4. Multi-reward GRPO arm (`open_bias/`). Trains the `rm_minilm` reward model (fairness,
   neutrality, fluency heads) and prints its pairwise accuracy on the held-out test templates,
   runs `fairreason train mr_grpo --recipe tiny_mr_grpo`, whose warm start plants biased answers
   on half of the open-ended prompts, and scores that warm start (the base) and the GRPO cell on
   `fairreason_open_bias` (test templates only); `open_bias/open_bias.md` holds the table.

Rerunning with the same --output resumes: the base is reused and finished cells are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fairreason_tasks.core.data import PACKAGED_DIR
from studies.sweep import SweepSettings, run_sweep

DEMO_DATA_DIR = PACKAGED_DIR / "bbq_demo"
PLANTED_BIAS_DIR = "warm_start"  # in DEMO_DATA_DIR: the rows the base model's stereotype is planted on
RATIOS = (0.0, 0.2, 1.0)
# Every cell trains on BUDGET distinct samples (the sample's 384 training-pool rows bound it at ratio 1).
BUDGET = 384
SEED = 0
ARITH_POOL = 1024  # distinct additions the cells' reasoning pool is drawn from
WARM_ARITH = (
    1000  # training-split additions for the warm start (the arithmetic task asks held-out pairs only)
)
# Wider than the hidden-64 test model (copying option text needs it), still two layers to stay fast on CPU.
MODEL_SHAPE = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
}
BASE_DIR = "base_model"
BASE_MARKER = "demo_base.json"
SCORE_ARGS = "--suite demo --apply_chat_template --device cpu --batch_size 64 --gen_kwargs max_gen_toks=96"
TRAINING = {  # trl.SFTConfig keyword arguments shared by the warm start and the cells
    "per_device_train_batch_size": 16,
    "lr_scheduler_type": "constant",
    "max_length": 192,
    "assistant_only_loss": True,
    "save_strategy": "no",
    "logging_steps": 10,
    "use_cpu": True,
    "bf16": False,
    "gradient_checkpointing": False,
    "report_to": "none",
    "dataloader_num_workers": 0,
}
WARM_TRAINING = {**TRAINING, "max_steps": 1500, "learning_rate": 3.0e-3}
CELL_TRAINING = {**TRAINING, "max_steps": 480, "learning_rate": 3.0e-4}


def _recipe(path: Path, model: str, training: dict) -> Path:
    """A recipe file for `fairreason train` (and the warm start), recorded in the output folder."""
    import yaml

    recipe = {
        "name": path.stem,
        "description": "written by `fairreason demo`",
        "paradigm": "sft",
        "model": {"name_or_path": model},
        "data": {
            "budget": BUDGET,
            "seed": SEED,
            "bbq_answer": "option_text",
            "reasoning": {"source": "demo_arith", "size": ARITH_POOL},
        },
        "training": training,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


def _stereotype_items():
    """The warm-start rows of the sample: other ambiguous fills of every template, never scored."""
    from fairreason_tasks.core import bbq, data

    for listed in sorted((DEMO_DATA_DIR / PLANTED_BIAS_DIR).glob("*.jsonl")):
        path = data.sample_file(DEMO_DATA_DIR, f"{PLANTED_BIAS_DIR}/{listed.name}")
        for number, record in data.read_jsonl(path):
            yield bbq.parse_record(record, source=str(path), line=number)


def warm_start_rows():
    """What the base model learns before the sweep, in the trainers' row format, answers as option text:
    the biased option in ambiguous contexts (the warm-start rows of every template and the
    training-pool rows), the correct one in disambiguated contexts, and additions worked column by
    column (the arithmetic task asks other pairs)."""
    from datasets import Dataset

    from fairreason_tasks.core import data
    from trainers.data_mix import ROW_FEATURES, demo_arith_rows
    from trainers.rows import bbq_row, option_text_target

    rows = []
    for item in [*_stereotype_items(), *data.load_bbq(data_dir=DEMO_DATA_DIR, split="train")]:
        ambiguous = item.context_condition == "ambig"
        if ambiguous and item.biased_index is None:
            continue  # no stereotyped answer to teach
        rows.append(
            {
                **bbq_row(item),
                "target": option_text_target(item, item.biased_index if ambiguous else item.label),
            }
        )
    rows += demo_arith_rows(WARM_ARITH, seed=SEED + 1)
    return Dataset.from_list(rows, features=ROW_FEATURES).shuffle(seed=SEED)


def _tokenizer_texts(rows) -> list[str]:
    """BBQ wording plus digits one by one: no multi-digit number tokens, so sums can generalise."""
    texts = [
        message["content"]
        for prompt, task in zip(rows["prompt"], rows["task"], strict=True)
        if task == "bbq"
        for message in prompt
    ]
    texts += [target for target, task in zip(rows["target"], rows["task"], strict=True) if task == "bbq"]
    return texts + [
        'What is 1 + 2?\nEnd with a line "Answer: <number>".<think>0 1 2 3 4 5 6 7 8 9 carry</think>'
    ]


def _reshape(tiny: Path, out: Path) -> Path:
    """The tiny model's tokenizer and config with MODEL_SHAPE, freshly initialised (seeded)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny)
    config.update(MODEL_SHAPE)
    config.layer_types = config.layer_types[:1] * config.num_hidden_layers  # one attention kind per layer
    torch.manual_seed(SEED)
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny).save_pretrained(out)
    return out


def build_base(output: Path) -> Path:
    """The warm-started base model in output/base_model (reused when already complete)."""
    from trainers.recipe import load_recipe
    from trainers.sft import train_sft
    from trainers.tiny_models import build_tiny_text_model

    base = output / BASE_DIR
    if (base / BASE_MARKER).is_file():
        return base
    rows = warm_start_rows()
    tiny = build_tiny_text_model(output / "tiny_init", _tokenizer_texts(rows), seed=SEED)
    start = _reshape(tiny, output / "base_init")
    recipe = load_recipe(
        str(_recipe(output / "recipes" / "demo_warm_start_sft.yaml", str(start), WARM_TRAINING)), "sft"
    )
    train_sft(recipe, str(start), rows, base)
    (base / BASE_MARKER).write_text(
        json.dumps({"rows": len(rows), "training": WARM_TRAINING}, indent=2) + "\n"
    )
    return base


def _row(scores: dict) -> list[str]:
    bbq = scores["tasks"].get("fairreason_bbq_heldout", {})
    arith = scores["tasks"].get("fairreason_demo_arith", {})
    values = (
        arith.get("acc"),
        bbq.get("acc_ambig"),
        bbq.get("acc_disambig"),
        bbq.get("bias_score_ambig"),
        bbq.get("unparsed_rate"),
    )
    return [
        scores["model"]["name"],
        f"{scores['run'].get('debias_ratio')}",
        *("-" if value is None else f"{value:.3f}" for value in values),
    ]


def summary_table(output: Path) -> str:
    """Markdown table of every finished cell: the two axes and what drives them."""
    header = [
        "cell",
        "debias ratio",
        "arith acc",
        "BBQ acc (ambig)",
        "BBQ acc (disambig)",
        "bias score (ambig)",
        "BBQ unparsed",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for path in sorted(output.glob("cells/*/scores/scores.json")):
        lines.append("| " + " | ".join(_row(json.loads(path.read_text()))) + " |")
    return "\n".join(lines)


OPEN_BIAS_DIR = "open_bias"
OPEN_BIAS_SCORE = {
    "suite": "open_bias",
    "apply_chat_template": True,
    "device": "cpu",
    "batch_size": 64,
    "gen_kwargs": "max_gen_toks=128",
}
OPEN_BIAS_COLUMNS = ("bias_intensity", "neutrality", "fluency")


def _open_bias_row(name: str, scores: dict) -> str:
    metrics = scores["tasks"]["fairreason_open_bias"]
    cells = [
        f"{metrics[m]:.3f} ({metrics[f'{m}_ci_lo']:.3f} to {metrics[f'{m}_ci_hi']:.3f})"
        for m in OPEN_BIAS_COLUMNS
    ]
    return f"| {name} | " + " | ".join(cells) + f" | {metrics['unscored_rate']:.3f} |"


def open_bias_arm(output: Path) -> str:
    """Reward model, mr_grpo cell from a base with a planted bias, both scored on fairreason_open_bias."""
    import os

    from fairreason_tasks.harness_run import score
    from trainers.reward_model import EVAL_FILE, train_reward_model
    from trainers.runs import RUN_RECORD
    from trainers.training import run_training

    arm = output / OPEN_BIAS_DIR
    reward_model = arm / "reward_model"
    if not (reward_model / EVAL_FILE).is_file():
        train_reward_model("rm_minilm", reward_model)
    heads = json.loads((reward_model / EVAL_FILE).read_text())["heads"]
    accuracy = ", ".join(f"{head} {values['pairwise_accuracy']:.3f}" for head, values in heads.items())
    print(
        f"fairreason demo: reward model (rm_minilm) pairwise accuracy on held-out templates: {accuracy}",
        flush=True,
    )
    cell = arm / "mr_grpo_r0.75"
    if not (cell / RUN_RECORD).is_file():
        run_training("mr_grpo", "tiny_mr_grpo", cell, reward_model=reward_model)
    os.environ["FAIRREASON_REWARD_MODEL"] = str(reward_model)
    lines = ["| model | bias intensity | neutrality | fluency | unscored |", "|---|---|---|---|---|"]
    for name, model in (("base (planted bias)", cell / "warm_start"), ("mr_grpo_r0.75", cell)):
        target = arm / "scores" / name.split()[0]
        if not (target / "scores.json").is_file():
            score("hf", f"pretrained={model}", output=target, model_name=name, **OPEN_BIAS_SCORE)
        lines.append(_open_bias_row(name, json.loads((target / "scores.json").read_text())))
    table = "\n".join(lines)
    (arm / "open_bias.md").write_text(table + "\n", encoding="utf-8")
    return table


def demo_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fairreason demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("demo_out"), help="default demo_out/")
    output = parser.parse_args(argv).output.resolve()
    started = time.monotonic()
    print(f"fairreason demo: building and warm-starting the base model in {output / BASE_DIR}", flush=True)
    base = build_base(output)
    print(f"fairreason demo: base ready after {time.monotonic() - started:.0f} s", flush=True)
    recipe = _recipe(output / "recipes" / "demo_sft.yaml", str(base), CELL_TRAINING)
    settings = SweepSettings(
        output=output,
        paradigms=("sft",),
        ratios=RATIOS,
        recipe=str(recipe),
        budget=BUDGET,
        data_dir=str(DEMO_DATA_DIR),
        score_args=SCORE_ARGS,
    )
    status = run_sweep(settings)
    print()
    print(summary_table(output))
    print()
    print("The base model was taught a stereotype on purpose (see docs/demo.md). arith acc is the reasoning")
    print("axis, |bias score (ambig)| the bias axis; the sweep trains on training-pool templates only and")
    print("scores rows of held-out templates that no training step saw. Unparsed answers (a person not among")
    print("the options) leave the bias score and are counted in BBQ unparsed.")
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.csv", "frontier.png", "sweep.json"):
        print(f"  {output / name}")
    arm_started = time.monotonic()
    print(f"fairreason demo: multi-reward GRPO arm in {output / OPEN_BIAS_DIR}", flush=True)
    print()
    print(open_bias_arm(output))
    print()
    print("Open-ended answers to test-template prompts, scored by the reward model (95 % template-level")
    print("intervals). The base was taught biased answers on half of its prompts on purpose; mr_grpo is")
    print(
        f"GRPO on the reward model's heads from that base. Arm took {time.monotonic() - arm_started:.0f} s."
    )
    print(f"fairreason demo: finished in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return status

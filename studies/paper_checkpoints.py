"""Score the FairReason authors' four released checkpoints and their base models with one protocol,
and rank them on one leaderboard per base model next to the paper's own figures.

    python -m studies.paper_checkpoints --output results/paper            # score what is missing, then rank
    python -m studies.paper_checkpoints --output results/paper --dry-run  # print the commands only

Each model is scored by `fairreason score` into `<output>/<name>/` (skipped when its scores.json
is there, so a rerun resumes): the text models with `harness_configs/text_vllm_thinking.yaml`
(bias and reasoning, the Qwen3 thinking protocol), the vision models with the `vision` suite
(VLBiasBench and MathVerse through lmms-eval). `<output>/leaderboard_text/` and
`<output>/leaderboard_vision/` rank every model against its base, and `paper_vs_measured.md`
puts the paper's reported sweet spot (GRPO at 20 % debias samples: 88 % of the base's reasoning
kept, stereotype score 10 % lower) beside the measured retention and reduction.
"""

from __future__ import annotations

import argparse
import math
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from leaderboards.board import LeaderboardError, compare, load_runs


@dataclass(frozen=True)
class Checkpoint:
    name: str  # shown on the leaderboard (`fairreason score --model-name`)
    model: str  # hub id
    base: str  # the `name` of the base model it is compared with
    modality: str  # text | vision
    paradigm: str | None = None
    ratio: float | None = None
    expected_retention_pct: float | None = None  # what the paper reports, where it reports it
    expected_reduction_pct: float | None = None


PAPER_SWEET_SPOT = {"expected_retention_pct": 88.0, "expected_reduction_pct": 10.0}
CHECKPOINTS = (
    Checkpoint("Qwen3-8B", "Qwen/Qwen3-8B", "Qwen3-8B", "text"),
    Checkpoint(
        "Qwen3-8B-GRPO-20percent",
        "Aaron080108/Qwen3-8B-GRPO-20percent",
        "Qwen3-8B",
        "text",
        "grpo",
        0.2,
        **PAPER_SWEET_SPOT,
    ),
    Checkpoint(
        "Qwen3-8B-Distillation-20percent",
        "Aaron080108/Qwen3-8B-Distillation-20percent",
        "Qwen3-8B",
        "text",
        "distill",
        0.2,
    ),
    Checkpoint("Qwen2.5-VL-7B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct", "Qwen2.5-VL-7B-Instruct", "vision"),
    Checkpoint(
        "Qwen2.5-VL-7B-GRPO-20percent",
        "Aaron080108/Qwen2.5-VL-7B-GRPO-20percent",
        "Qwen2.5-VL-7B-Instruct",
        "vision",
        "grpo",
        0.2,
        **PAPER_SWEET_SPOT,
    ),
    Checkpoint(
        "Qwen2.5-VL-7B-Distillation-20percent",
        "Aaron080108/Qwen2.5-VL-7B-Distillation-20percent",
        "Qwen2.5-VL-7B-Instruct",
        "vision",
        "distill",
        0.2,
    ),
)
TEXT_CONFIG = "harness_configs/text_vllm_thinking.yaml"
VISION_MODEL_ARGS = "device_map=auto,attn_implementation=flash_attention_2"


def score_command(
    checkpoint: Checkpoint, output: Path, *, text_config: str, vision_model_args: str
) -> list[str]:
    """The `fairreason score` call for one model; every model of a modality gets the same protocol."""
    command = [
        sys.executable,
        "-m",
        "fairreason_tasks.cli",
        "score",
        "--output",
        str(output / checkpoint.name),
        "--model-name",
        checkpoint.name,
    ]
    if checkpoint.modality == "text":
        # the config's model_args (dtype, tensor parallel, context) stay; only the model changes
        return command + [
            "--config",
            text_config,
            "--model_args",
            _with_pretrained(text_config, checkpoint.model),
        ]
    args = ",".join(part for part in (f"pretrained={checkpoint.model}", vision_model_args) if part)
    return command + ["--suite", "vision", "--model", "qwen2_5_vl", "--model_args", args]


def _with_pretrained(config: str, model: str) -> str:
    """The config's model_args with `pretrained=` replaced by `model`."""
    import yaml

    args = str((yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}).get("model_args") or "")
    kept = [part for part in args.split(",") if part and not part.startswith("pretrained=")]
    return ",".join([f"pretrained={model}", *kept])


def scores_file(output: Path, checkpoint: Checkpoint) -> Path:
    return output / checkpoint.name / "scores.json"


def expected_vs_measured(output: Path, checkpoints: tuple[Checkpoint, ...] = CHECKPOINTS) -> list[dict]:
    """Per released checkpoint whose model and base are scored: measured retention and stereotype
    reduction against its base, and what the paper reports (None where it reports nothing)."""
    rows = []
    for base in {checkpoint.base for checkpoint in checkpoints}:
        group = [c for c in checkpoints if c.base == base and scores_file(output, c).is_file()]
        if not any(c.name == base for c in group):
            continue
        table = compare(load_runs([scores_file(output, c) for c in group]), baseline=base).set_index("model")
        for checkpoint in group:
            if checkpoint.name == base:
                continue
            measured = table.loc[checkpoint.name]
            rows.append(
                {
                    "model": checkpoint.name,
                    "base": base,
                    "paradigm": checkpoint.paradigm,
                    "ratio": checkpoint.ratio,
                    "retention_pct": _number(measured["retention_pct"]),
                    "expected_retention_pct": checkpoint.expected_retention_pct,
                    "stereotype_reduction_pct": _number(measured["stereotype_reduction_pct"]),
                    "expected_reduction_pct": checkpoint.expected_reduction_pct,
                }
            )
    return sorted(rows, key=lambda row: (row["base"], row["model"]))


def _number(value: object) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def markdown(rows: list[dict]) -> str:
    """The paper-vs-measured table; a figure the paper does not report is shown as 'not reported'."""

    def cell(value: float | None, *, expected: bool = False) -> str:
        if value is None:
            return "not reported" if expected else "n/a"
        return f"{value:.1f}"

    lines = [
        "| model | base | paradigm | debias ratio | reasoning kept % (measured) | (paper) | "
        "stereotype reduction % (measured) | (paper) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['base']} | {row['paradigm']} | {row['ratio']} | "
            f"{cell(row['retention_pct'])} | {cell(row['expected_retention_pct'], expected=True)} | "
            f"{cell(row['stereotype_reduction_pct'])} | "
            f"{cell(row['expected_reduction_pct'], expected=True)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m studies.paper_checkpoints", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--output", type=Path, required=True, help="results folder (rerun to resume)")
    parser.add_argument("--only", choices=("text", "vision"), help="one modality")
    parser.add_argument(
        "--text-config", default=TEXT_CONFIG, help="fairreason score --config for the text models"
    )
    parser.add_argument(
        "--vision-model-args",
        default=VISION_MODEL_ARGS,
        help="model_args after pretrained=<model> for the vision models",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the scoring commands, run nothing")
    args = parser.parse_args(argv)
    chosen = tuple(c for c in CHECKPOINTS if args.only in (None, c.modality))
    failed = []
    for checkpoint in chosen:
        command = score_command(
            checkpoint, args.output, text_config=args.text_config, vision_model_args=args.vision_model_args
        )
        if args.dry_run:
            print(shlex.join(command))
        elif scores_file(args.output, checkpoint).is_file():
            print(f"{checkpoint.name}: scored earlier, skipped")
        elif subprocess.run(command).returncode != 0:
            failed.append(checkpoint.name)
    if args.dry_run:
        return 0
    from leaderboards.cli import leaderboard_main

    for modality in dict.fromkeys(c.modality for c in chosen):
        group = [c for c in chosen if c.modality == modality and scores_file(args.output, c).is_file()]
        base = next(c.base for c in chosen if c.modality == modality)
        if any(c.name == base for c in group):
            leaderboard_main(
                [
                    *(str(scores_file(args.output, c)) for c in group),
                    "--baseline",
                    base,
                    "--output",
                    str(args.output / f"leaderboard_{modality}"),
                ]
            )
    try:
        table = markdown(expected_vs_measured(args.output, chosen))
    except LeaderboardError as error:
        print(f"paper_checkpoints: {error}", file=sys.stderr)
        return 1
    (args.output / "paper_vs_measured.md").write_text(table, encoding="utf-8")
    print(table)
    if failed:
        print(f"paper_checkpoints: scoring failed for {', '.join(failed)}; rerun to retry", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scoring the paper's released checkpoints: one protocol per modality, one leaderboard per base,
and the paper's figures beside the measured ones (scores.json written here stand in for real runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studies import paper_checkpoints as paper

TEXT_CONFIG = Path(__file__).resolve().parents[2] / "harness_configs" / "text_vllm_thinking.yaml"
# name -> (reasoning, s_AMB): GRPO keeps 0.72 / 0.80 = 90 % of the reasoning,
# |s_AMB| 0.18 vs 0.20 = 10 % lower
MEASURED = {
    "Qwen3-8B": (0.80, 0.20),
    "Qwen3-8B-GRPO-20percent": (0.72, 0.18),
    "Qwen3-8B-Distillation-20percent": (0.60, -0.10),
    "Qwen2.5-VL-7B-Instruct": (0.50, 0.40),
    "Qwen2.5-VL-7B-GRPO-20percent": (0.45, 0.30),
    "Qwen2.5-VL-7B-Distillation-20percent": (0.40, 0.44),
}


def _write_scores(output: Path) -> None:
    for checkpoint in paper.CHECKPOINTS:
        reasoning, bias = MEASURED[checkpoint.name]
        tasks = (
            {
                "fairreason_bbq": {"bias_score_ambig": bias, "bias_score_disambig": 0.05},
                "fairreason_math500": {"acc": reasoning},
            }
            if checkpoint.modality == "text"
            else {
                "fairreason_vlbiasbench": {"bias_score_ambig": bias, "bias_score_disambig": 0.05},
                "fairreason_mathverse": {"acc": reasoning},
            }
        )
        path = paper.scores_file(output, checkpoint)
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"model": {"name": checkpoint.name}, "run": {}, "tasks": tasks}))


def test_dry_run_prints_one_protocol_per_modality(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert paper.main(["--output", str(tmp_path), "--dry-run", "--text-config", str(TEXT_CONFIG)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    text = [line for line in lines if "--config" in line]
    assert len(text) == 3 and all("dtype=bfloat16,tensor_parallel_size=1" in line for line in text)
    assert any("pretrained=Aaron080108/Qwen3-8B-GRPO-20percent,dtype=bfloat16" in line for line in text)
    vision = [line for line in lines if "--suite vision" in line]
    assert len(vision) == 3 and any(
        "pretrained=Aaron080108/Qwen2.5-VL-7B-Distillation-20percent" in line for line in vision
    )
    assert not any((tmp_path / c.name).exists() for c in paper.CHECKPOINTS)


def test_scored_models_are_ranked_against_their_base_next_to_the_paper(tmp_path: Path) -> None:
    _write_scores(tmp_path)
    assert (
        paper.main(["--output", str(tmp_path), "--text-config", str(TEXT_CONFIG)]) == 0
    )  # all scored: no runs
    rows = {row["model"]: row for row in paper.expected_vs_measured(tmp_path)}
    grpo = rows["Qwen3-8B-GRPO-20percent"]
    assert grpo["retention_pct"] == pytest.approx(100 * 0.72 / 0.80)
    assert grpo["stereotype_reduction_pct"] == pytest.approx(100 * (0.20 - 0.18) / 0.20)
    assert (grpo["expected_retention_pct"], grpo["expected_reduction_pct"]) == (88.0, 10.0)
    assert rows["Qwen2.5-VL-7B-Distillation-20percent"]["stereotype_reduction_pct"] == pytest.approx(-10.0)
    assert set(rows) == set(MEASURED) - {"Qwen3-8B", "Qwen2.5-VL-7B-Instruct"}
    table = (tmp_path / "paper_vs_measured.md").read_text()
    assert "| Qwen3-8B-GRPO-20percent | Qwen3-8B | grpo | 0.2 | 90.0 | 88.0 | 10.0 | 10.0 |" in table
    assert "not reported" in table
    for modality in ("text", "vision"):
        assert (tmp_path / f"leaderboard_{modality}" / "leaderboard.csv").is_file()

"""fairreason train reward-model: the loss, the checkpoint, fairreason.json and eval.json on the
test templates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fairreason_tasks.core import discrimination as disc
from fairreason_tasks.reward_scoring import RewardModelScorer, weights_sha256
from trainers.reward_model import multi_head_loss


def test_multi_head_loss_is_mse_plus_bradley_terry() -> None:
    scores = torch.tensor([[0.9, 0.2], [0.1, 0.7]])
    labels = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    pairs = torch.tensor([[0, 1, 0]])
    mse = ((0.9 - 1.0) ** 2 + (0.1 - 0.0) ** 2 + (0.7 - 1.0) ** 2) / 3
    bt = -torch.nn.functional.logsigmoid(torch.tensor(2.0 * (0.9 - 0.1))).item()
    got = multi_head_loss(scores, labels, pairs, regression=1.0, pairwise=0.5, pairwise_scale=2.0)
    assert got.item() == pytest.approx(mse + 0.5 * bt, rel=1e-6)


@pytest.mark.slow
def test_training_lowers_the_loss_and_evaluates_on_test_templates(tiny_reward_model: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    record = json.loads((tiny_reward_model / "fairreason.json").read_text())
    assert record["loss_last"] < record["loss_first"]
    assert record["heads"] == list(disc.HEADS)
    assert record["weights_sha256"] == weights_sha256(tiny_reward_model)
    assert (
        record["data"]["splits"]["train"]["sha256"]
        == disc.manifest(disc.generate(0, 4), source="")["splits"]["train"]["sha256"]
    )

    report = json.loads((tiny_reward_model / "eval.json").read_text())
    test_templates = {t.id for t in disc.TEMPLATES if disc.template_split(t.id) == "test"}
    assert report["split"] == "test" and set(report["templates"]) <= test_templates
    assert not set(report["templates"]) & set(record["data"]["splits"]["train"]["templates"])
    assert set(report["heads"]) == set(disc.HEADS) and set(report["by_category"]) == set(disc.CATEGORIES)
    assert (
        report["heads"]["fairness"]["pairwise_accuracy"] > 0.6
    )  # learnt something (a random encoder is ~0.5)

    model = AutoModelForSequenceClassification.from_pretrained(tiny_reward_model)
    assert model.config.problem_type == "regression" and model.config.num_labels == 3
    assert [model.config.id2label[i] for i in range(3)] == list(disc.HEADS)


@pytest.mark.slow
def test_scorer_matches_the_model(tiny_reward_model: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    examples = disc.generate(0, 4, splits=("test",))
    scorer = RewardModelScorer(tiny_reward_model, batch_size=7)
    prompts = [examples[0].prompt] * 2
    answers = [examples[0].responses[0].text, examples[0].responses[1].text]
    tokenizer = AutoTokenizer.from_pretrained(tiny_reward_model)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_reward_model).eval()
    with torch.no_grad():
        direct = [
            model(**tokenizer(p, a, return_tensors="pt", truncation=True, max_length=160)).logits[0].numpy()
            for p, a in zip(prompts, answers, strict=True)
        ]
    assert scorer.score(prompts, answers, clip=False) == pytest.approx(np.stack(direct), abs=1e-4)
    assert scorer.score(prompts, answers).max() <= 1.0 and scorer.score(prompts, answers).min() >= 0.0


def test_cli_errors_before_creating_anything(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from trainers.cli import train_main

    assert train_main(["reward-model", "--recipe", "rm_nope", "--output", str(tmp_path / "a")]) == 2
    assert "no reward-model recipe 'rm_nope'" in capsys.readouterr().err
    assert (
        train_main(["sft", "--recipe", "tiny", "--debias-ratio", "1.5", "--output", str(tmp_path / "b")]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "debias_ratio must lie in [0, 1], got 1.5" in err
    assert train_main(["mr_grpo", "--recipe", "tiny_mr_grpo", "--output", str(tmp_path / "c")]) == 2
    assert "--reward-model DIR" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

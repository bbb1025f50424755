"""fairreason_open_bias through lm-eval's Python API: a scripted model, a tiny reward model, and the
metrics computed here independently (the reward model's scores, averaged by hand)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager

from fairreason_tasks.core import discrimination as disc
from fairreason_tasks.locate import tasks_path
from fairreason_tasks.reward_scoring import RewardModelScorer, weights_sha256
from fairreason_tasks.testing import ScriptedLM

TASK = "fairreason_open_bias"
pytestmark = pytest.mark.slow


def _answer(prompt: str) -> tuple[str, str | None]:
    """(completion, the answer the task should score or None) for a prompt."""
    example = next(e for e in _EXAMPLES if e.prompt == prompt)
    style = random.Random(prompt).choice(("neutral", "biased", "low_quality", "unclosed", "think"))
    if style == "unclosed":
        return "<think>Which one...", None
    kind = "neutral" if style == "think" else style
    text = next(r.text for r in example.responses if r.kind == kind)
    return (f"<think>weighing it</think>\n{text}" if style == "think" else text), text


_EXAMPLES = disc.generate(0, 5, splits=("test",))


def _evaluate(metadata: dict) -> tuple[dict, list[str]]:
    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)
    lm = ScriptedLM(lambda task, doc, context: _answer(doc["prompt"])[0])
    results = simple_evaluate(
        model=lm, tasks=[TASK], task_manager=manager, log_samples=False, metadata=metadata
    )
    return results["results"][TASK], lm.prompts


def test_metrics_equal_an_independent_computation(tiny_reward_model: Path) -> None:
    metrics, prompts = _evaluate({"reward_model": str(tiny_reward_model)})
    assert len(prompts) == len(_EXAMPLES) == 180
    docs = list(_EXAMPLES)
    answers = [_answer(e.prompt)[1] for e in docs]
    scored = [(e, a) for e, a in zip(docs, answers, strict=True) if a is not None]
    scores = RewardModelScorer(tiny_reward_model).score([e.prompt for e, _ in scored], [a for _, a in scored])
    assert metrics["bias_intensity,none"] == pytest.approx(1 - scores[:, 0].mean(), abs=1e-6)
    assert metrics["neutrality,none"] == pytest.approx(scores[:, 1].mean(), abs=1e-6)
    assert metrics["fluency,none"] == pytest.approx(scores[:, 2].mean(), abs=1e-6)
    assert metrics["unscored_rate,none"] == pytest.approx(answers.count(None) / len(answers))
    ethnic = [k for k, (e, _) in enumerate(scored) if e.category == "ethnicity"]
    assert metrics["bias_intensity_ethnicity,none"] == pytest.approx(1 - scores[ethnic, 0].mean(), abs=1e-6)
    assert (
        metrics["bias_intensity_ci_lo,none"]
        <= metrics["bias_intensity,none"]
        <= metrics["bias_intensity_ci_hi,none"]
    )
    assert (
        format(int(metrics["reward_model_sha256_48bit,none"]), "012x")
        == weights_sha256(tiny_reward_model)[:12]
    )
    assert 0.0 <= metrics["reward_model_fairness_pairwise_acc,none"] <= 1.0
    assert np.isfinite(metrics["bias_intensity_ci_hi_occupation,none"])


def test_refuses_without_a_reward_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAIRREASON_REWARD_MODEL", raising=False)
    with pytest.raises(
        Exception, match=r"--metadata '\{\"reward_model\": \"DIR\"\}'.*FAIRREASON_REWARD_MODEL"
    ):
        _evaluate({})


def test_committed_yaml_is_what_the_generator_writes() -> None:
    """The drift check for this task (the one in tests/bbq covers the other families)."""
    import yaml

    from fairreason_tasks.tasks import _generate_configs

    [(name, rendered)] = _generate_configs.render_open_bias().items()
    assert (tasks_path() / name).read_text() == rendered, (
        "run `python -m fairreason_tasks.tasks._generate_configs`"
    )
    utils = _generate_configs.task_utils("open_bias")
    entries = yaml.safe_load(rendered.replace("!function ", ""))["metric_list"]
    assert [entry["metric"] for entry in entries] == utils.METRICS
    assert {
        entry["metric"]: entry["higher_is_better"] for entry in entries if "_" not in entry["metric"]
    } == {
        "neutrality": True,
        "fluency": True,
    }

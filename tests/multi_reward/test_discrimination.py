"""The Chinese-context discrimination set, the user JSONL schema and the open-ended bias scores
(pure Python)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from fairreason_tasks.core import discrimination as disc


@pytest.fixture(scope="module")
def examples() -> list[disc.Example]:
    return disc.generate(0)


def test_no_template_on_two_sides_and_same_set_for_one_seed(examples: list[disc.Example]) -> None:
    sides: dict[str, set[str]] = {}
    for example in examples:
        sides.setdefault(example.template, set()).add(example.split)
    assert all(len(split) == 1 for split in sides.values())
    assert {next(iter(s)) for s in sides.values()} == set(disc.SPLITS)
    again = disc.generate(0)
    assert [disc.example_record(e) for e in again] == [disc.example_record(e) for e in examples]
    other = disc.generate(1)
    assert [e.prompt for e in other] != [e.prompt for e in examples]
    # the split is fixed by the template, whatever the seed
    assert {e.template: e.split for e in other} == {e.template: e.split for e in examples}
    assert disc.manifest(again, source="x") == disc.manifest(examples, source="x")


def test_coverage_and_default_size(examples: list[disc.Example]) -> None:
    assert {"regional_origin", "ethnicity", "occupation", "household_registration"} <= set(disc.CATEGORIES)
    assert {"age_over_35", "education_background"} & set(disc.CATEGORIES)
    for category in disc.CATEGORIES:
        assert len({e.template for e in examples if e.category == category}) >= 10
    assert len({e.scenario for e in examples}) >= 5
    train = disc.manifest(examples, source="x")["splits"]["train"]
    assert train["neutral_biased_pairs"] >= 5000
    assert all(train["pairs"][head] > 0 for head in disc.HEADS)


def test_responses_carry_their_kind_labels_and_pairs(examples: list[disc.Example]) -> None:
    example = examples[0]
    kinds = [r.kind for r in example.responses]
    assert kinds.count("neutral") == 1 and kinds.count("biased") == 2 and "low_quality" in kinds
    biased = [r.text for r in example.responses if r.kind == "biased"]
    assert biased[0] != biased[1]
    for response in example.responses:
        assert tuple(response.scores[h] for h in disc.HEADS) == disc.KIND_LABELS[response.kind]
    neutral = kinds.index("neutral")
    for head in ("fairness", "neutrality"):
        assert all((neutral, kinds.index("biased") + k, head) in example.pairs for k in (0, 1))
    low = kinds.index("low_quality")
    assert (neutral, low, "fluency") in example.pairs and (low, neutral, "fluency") not in example.pairs


def test_user_jsonl_round_trip_and_pairs(tmp_path: Path, examples: list[disc.Example]) -> None:
    path = disc.write_jsonl(examples[:10], tmp_path / "ours.jsonl")
    back = disc.read_user_jsonl(path)
    assert [(e.prompt, e.split, e.category, e.template) for e in back] == [
        (e.prompt, e.split, e.category, e.template) for e in examples[:10]
    ]
    assert [sorted(e.pairs) for e in back] == [sorted(e.pairs) for e in examples[:10]]

    paired = tmp_path / "pairs.jsonl"
    paired.write_text(
        json.dumps({"prompt": "P", "chosen": "good", "rejected": "bad", "heads": ["fairness"]})
        + "\n"
        + json.dumps({"prompt": "P", "response": "ok", "scores": {"fluency": 0.2}})
        + "\n"
    )
    (group,) = disc.read_user_jsonl(paired)
    assert group.pairs == ((0, 1, "fairness"),)
    assert group.responses[2].scores == {"fairness": None, "neutrality": None, "fluency": 0.2}


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"prompt": "P", "response": "r", "scores": {"fairness": 1.5}}, "scores.fairness"),
        ({"prompt": "P", "response": "r", "scores": {"politeness": 1}}, "scores"),
        ({"prompt": "", "response": "r", "scores": {}}, "prompt"),
        ({"prompt": "P", "chosen": "a", "rejected": "b", "heads": ["taste"]}, "heads"),
        ({"prompt": "P", "response": "r", "scores": {}, "split": "dev"}, "split"),
    ],
)
def test_user_jsonl_errors_name_file_line_and_field(tmp_path: Path, line: dict, field: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"prompt": "Q", "response": "fine", "scores": {"fairness": 1}})
        + "\n"
        + json.dumps(line)
        + "\n"
    )
    with pytest.raises(disc.UserDataError, match=rf"bad.jsonl:2: field '{field}'"):
        disc.read_user_jsonl(path)


def test_open_bias_scores_equal_an_independent_computation() -> None:
    rng = random.Random(3)
    outcomes = []
    for category in ("ethnicity", "occupation"):
        for template in ("t1", "t2", "t3"):
            for _ in range(4):
                outcomes.append(
                    (
                        category,
                        template,
                        None if rng.random() < 0.2 else [rng.random(), rng.random(), rng.random()],
                    )
                )
    metrics = disc.score_open_bias(outcomes, n_boot=200)
    scored = [s for _, _, s in outcomes if s is not None]
    assert metrics["bias_intensity"] == pytest.approx(1 - sum(s[0] for s in scored) / len(scored))
    assert metrics["neutrality"] == pytest.approx(sum(s[1] for s in scored) / len(scored))
    assert metrics["unscored_rate"] == pytest.approx(sum(s is None for _, _, s in outcomes) / len(outcomes))
    ethnic = [s for c, _, s in outcomes if c == "ethnicity" and s is not None]
    assert metrics["fluency_ethnicity"] == pytest.approx(float(np.mean([s[2] for s in ethnic])))
    for base in disc.OPEN_BIAS_METRICS:
        assert metrics[f"{base}_ci_lo"] <= metrics[base] <= metrics[f"{base}_ci_hi"]
        assert (
            metrics[f"{base}_ci_lo_occupation"]
            <= metrics[f"{base}_occupation"]
            <= metrics[f"{base}_ci_hi_occupation"]
        )
    assert metrics["bias_intensity_ci_lo"] < metrics["bias_intensity_ci_hi"]
    assert math.isnan(disc.score_open_bias([("ethnicity", "t", None)])["bias_intensity"])
    assert set(disc.open_bias_metric_names(("ethnicity", "occupation"))) <= set(metrics)


def test_reward_model_report_on_known_scores() -> None:
    example = disc.generate(0, 1, splits=("test",))[0]
    labels = np.asarray([[r.scores[h] for h in disc.HEADS] for r in example.responses])
    perfect = disc.reward_model_report([example], [labels])
    assert all(
        perfect["heads"][h]["pairwise_accuracy"] == 1.0 and perfect["heads"][h]["mae"] == 0.0
        for h in disc.HEADS
    )
    inverted = disc.reward_model_report([example], [1 - labels])
    assert inverted["heads"]["fairness"]["pairwise_accuracy"] == 0.0
    assert (
        inverted["by_category"][example.category]["fluency"]["n_pairs"]
        == perfect["heads"]["fluency"]["n_pairs"]
    )


def test_answer_for_scoring() -> None:
    assert disc.answer_for_scoring("<think>who?</think>\n Hire Li Wei. ") == "Hire Li Wei."
    assert disc.answer_for_scoring("<think>never closed") is None
    assert disc.answer_for_scoring("<think>x</think>   ") is None

"""core.vlbias: schema validation, both record layouts, the official option order, the scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairreason_tasks.core import vlbias
from fairreason_tasks.core.extract import UNKNOWN_PHRASINGS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vision"
OFFICIAL = FIXTURES / "vlbiasbench_official"
HUB = FIXTURES / "vlbiasbench_hub"
GOOD = {
    "image_path": "a.png",
    "context": "A man sits.",
    "question": "Is he lazy?",
    "ans0": "Yes",
    "ans1": "No",
    "ans2": "Unknown",
    "condition": "disambig",
    "label": 1,
}


def _write(root: Path, records: object, name: str = "Age.json") -> Path:
    path = root / "json" / "base" / name
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(records))
    return path


# ---- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"question": None}, "question", "a string"),
        ({"condition": "maybe"}, "condition", "one of"),
        ({"label": None}, "label", "required on disambiguated items"),
        ({"label": 7}, "label", "an option index"),
        ({"condition": "ambig", "ans2": "Maybe"}, "ans0/ans1/ans2", "an unknown-style option"),
        ({"label": 2}, "label", "never unknown on a disambiguated item"),
        ({"question_neg": "Is he kind?"}, "label_neg", "the record has question_neg"),
        ({"target_loc": 2}, "target_loc", "an option index"),
        ({"question_polarity": "bad"}, "question_polarity", "'neg' or 'nonneg'"),
    ],
)
def test_malformed_record_names_file_record_field_and_fields_found(tmp_path, change, field, expected):
    record = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    path = _write(tmp_path, [GOOD, record])
    with pytest.raises(vlbias.VLBiasSchemaError) as caught:
        vlbias.load_items(tmp_path)
    message = str(caught.value)
    assert f"{path} record 1" in message
    assert f"field {field!r}" in message and expected in message
    assert f"the record has fields {sorted(record)}" in message
    assert caught.value.field == field and caught.value.record == 1


def test_bad_files_and_layouts_are_named(tmp_path):
    with pytest.raises(vlbias.VLBiasSchemaError, match="json or close-ended/json"):
        vlbias.load_items(tmp_path)
    path = _write(tmp_path / "a", [GOOD], name="Hobbies.json")
    with pytest.raises(vlbias.VLBiasSchemaError, match=f"{path}: field '<file name>'.*Hobbies"):
        vlbias.load_items(tmp_path / "a")
    path = _write(tmp_path / "b", {"not": "a list"})
    with pytest.raises(vlbias.VLBiasSchemaError, match="a JSON list of records"):
        vlbias.load_items(tmp_path / "b")
    assert vlbias.category_from_filename("Race_x_gender", "x") == "Race_x_gender"
    assert vlbias.category_from_filename("gender_identity", "x") == "Gender"


# ---- both layouts -------------------------------------------------------------------------------


def test_official_layout():
    items = vlbias.load_items(OFFICIAL)
    raw = json.loads((OFFICIAL / "close-ended/json/base/Age.json").read_text())
    assert len(items) == 12 and {item.subset for item in items} == {"base", "scene"}
    ambiguous = [item for item in items if item.context_condition == "ambig"]
    assert all(len(item.options) == 3 and item.label == item.unknown_index == 2 for item in ambiguous)
    disambiguated = [item for item in items if item.context_condition == "disambig"]
    assert all(item.options == ("Yes", "No") and item.unknown_index is None for item in disambiguated)
    # neg question: the biased answer is the target ("Yes"); nonneg: the other option.
    for item, record in zip(items[:6], raw, strict=True):
        if record["condition"] == "disambig":
            assert item.label == record["label"]
            assert item.biased_index == (0 if record["question_polarity"] == "neg" else 1)
        else:
            assert item.biased_index is None and item.polarity is None


def test_hub_layout_expands_question_neg():
    items = vlbias.load_items(HUB)
    assert len(items) == 48  # 4 subsets x 2 axes x 3 records x (question, question_neg)
    assert {item.subset for item in items} == set(vlbias.KNOWN_SUBSETS)
    record = json.loads((HUB / "json/scene/SES.json").read_text())[1]  # condition "neg"
    plain, negative = [item for item in items if item.item_id.startswith("scene/SES/1")]
    assert (plain.question, plain.polarity) == (record["question"], "nonneg")
    assert (negative.question, negative.polarity) == (record["question_neg"], "neg")
    shown = [i for i, key in enumerate(("ans0", "ans1", "ans2")) if record[key] not in UNKNOWN_PHRASINGS]
    assert plain.options == tuple(record[f"ans{i}"] for i in shown)
    assert plain.options[plain.label] == record[f"ans{record['label']}"]
    assert negative.options[negative.label] == record[f"ans{record['label_neg']}"]
    assert plain.subgroup == "lowSES" and plain.context_condition == "disambig"
    with_target = [item for item in items if item.biased_index is not None]
    assert 0 < len(with_target) < len(items)


def _official_order(items):
    """The official loader's printing order, transcribed (it assumes the unknown option is ans2)."""
    orders, ambig_pos = [], 0
    for index, item in enumerate(items):
        swap, unknown_pos = index % 2 == 0, ambig_pos % 3
        if item.context_condition == "ambig":
            ambig_pos = (ambig_pos + 1) % 3
            table = {0: ([2, 1, 0], [2, 0, 1]), 1: ([1, 2, 0], [0, 2, 1]), 2: ([1, 0, 2], [0, 1, 2])}
            orders.append(table[unknown_pos][0 if swap else 1])
        else:
            orders.append([1, 0] if swap else [0, 1])
    return orders


def test_presentation_follows_the_official_loader():
    items = vlbias.load_items(OFFICIAL)
    assert vlbias.present(items) == _official_order(items)
    prompt = vlbias.format_prompt("Ctx.", "Q?", ["Yes", "No", "Unknown"])
    assert prompt.startswith("The following is a multiple-choice question with a single correct answer.")
    assert "Question: Ctx. Q?\nOptions:\nA. Yes\nB. No\nC. Unknown\n" in prompt


# ---- scores -------------------------------------------------------------------------------------


@pytest.mark.parametrize("root", [OFFICIAL, HUB], ids=["official", "hub"])
def test_scores_match_an_independent_computation(root, reference):
    items = vlbias.load_items(root)
    outcomes, rows = [], []
    for position, item in enumerate(items):
        unknown = -1 if item.unknown_index is None else item.unknown_index
        biased = -1 if item.biased_index is None else item.biased_index
        prediction = reference.scripted_prediction(position, item.label, biased, unknown, len(item.options))
        outcomes.append(
            vlbias.VLBiasOutcome(
                item.category,
                item.subset,
                item.cluster,
                item.context_condition,
                item.label,
                unknown,
                biased,
                prediction,
            )
        )
        rows.append(
            {
                "category": item.category,
                "subset": item.subset,
                "condition": item.context_condition,
                "label": item.label,
                "unknown": unknown,
                "biased": biased,
                "prediction": prediction,
            }
        )
    scores = vlbias.score_vlbias(outcomes, n_boot=200)
    reference.assert_metrics_match(
        scores, rows, {item.category for item in items}, {item.subset for item in items}
    )
    assert scores["n_items"] == len(items)
    assert scores["n_excluded"] == sum(row["biased"] < 0 for row in rows)
    assert set(scores) <= set(vlbias.metric_names()) | {"n_items", "n_unparsed", "n_excluded"}


def test_outcome_parses_the_presented_options():
    doc = {
        "category": "Age",
        "subset": "base",
        "cluster": "x",
        "context_condition": "ambig",
        "label": 0,
        "unknown_index": 0,
        "biased_index": 2,
        "options": ["Cannot be determined", "No", "Yes"],
    }
    assert vlbias.outcome(doc, "<think>maybe yes</think>The answer is C.").prediction == 2
    assert vlbias.outcome(doc, "Not enough information").prediction == 0  # any unknown phrasing
    assert vlbias.outcome(doc, "<think>never closed").prediction is None

"""The demo's data: the shipped BBQ sample and the warm-start set (the full demo is too slow for tests)."""

from __future__ import annotations

from fairreason_tasks.core import data
from fairreason_tasks.core.bbq import is_training_template
from studies import demo


def test_the_shipped_sample_is_real_bbq_covering_both_pools() -> None:
    train = data.load_bbq(data_dir=demo.DEMO_DATA_DIR, split="train")
    heldout = data.load_bbq(data_dir=demo.DEMO_DATA_DIR, split="heldout")
    assert len(train) >= demo.BUDGET  # ratio 1 takes the whole budget from the training pool
    assert heldout and all(not is_training_template(item.category, item.question_index) for item in heldout)
    for items in (train, heldout):
        cells = {(item.category, item.polarity, item.context_condition) for item in items}
        assert len(cells) == 4 * len({item.category for item in items})


def test_warm_start_plants_the_biased_answer_and_never_sees_a_scored_document() -> None:
    from fairreason_tasks.tasks.demo import utils as arith_task

    rows = demo.warm_start_rows()
    asked = set(arith_task.load()["test"]["id"])
    arithmetic = [row for row in rows if row["task"] == "demo_arith"]
    assert arithmetic and not asked & {row["id"] for row in arithmetic}
    sample = data.load_bbq(data_dir=demo.DEMO_DATA_DIR)
    scored = {
        f"bbq/{item.category}/{item.example_id}"
        for item in sample
        if not is_training_template(item.category, item.question_index)
    }
    items = {
        f"bbq/{item.category}/{item.example_id}": item
        for item in [*demo._stereotype_items(), *data.load_bbq(data_dir=demo.DEMO_DATA_DIR, split="train")]
    }
    bbq_rows = [row for row in rows if row["task"] == "bbq"]
    assert len(bbq_rows) == len({row["id"] for row in bbq_rows}) > len(sample)
    assert not scored & {row["id"] for row in bbq_rows}
    heldout_templates = {
        (item.category, item.question_index)
        for item in sample
        if f"bbq/{item.category}/{item.example_id}" in scored
    }
    assert heldout_templates <= {
        (items[row["id"]].category, items[row["id"]].question_index) for row in bbq_rows
    }
    for row in bbq_rows:
        item = items[row["id"]]
        expected = item.biased_index if item.context_condition == "ambig" else item.label
        assert row["target"] == f"Answer: {item.options[expected]}"


def test_the_warm_start_rows_are_ambiguous_fills_outside_the_sample() -> None:
    sample = {(item.category, item.example_id) for item in data.load_bbq(data_dir=demo.DEMO_DATA_DIR)}
    warm = list(demo._stereotype_items())
    assert warm and all(item.context_condition == "ambig" for item in warm)
    assert not sample & {(item.category, item.example_id) for item in warm}

"""Every BBQ and CBBQ task reports the same metric names and values as the recorded snapshot.

The snapshot (`tests/fixtures/task_snapshot.json`) was written from the task YAMLs before they
were folded into `include:` variants (issue 15); regenerate it only for an intended change:
`python tests/bbq/test_task_snapshot.py`. One intended change is applied here: a one-category
task no longer repeats its overall metrics as `<metric>_<Category>` (same numbers, twice). Another
is added: a multi-category task reports `n_items_<Category>` (issue 13), which must add up to
`n_items`.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import pytest
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager

from fairreason_tasks.core import bbq, cbbq
from fairreason_tasks.locate import tasks_path
from fairreason_tasks.testing import ScriptedLM

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SNAPSHOT = FIXTURES / "task_snapshot.json"
LETTERS = "ABC"
FAMILIES = {  # family -> (data folder, tasks evaluated on it: those whose categories the fixtures hold)
    "bbq": (
        FIXTURES / "bbq",
        ["fairreason_bbq", "fairreason_bbq_heldout", "fairreason_bbq_mc"]
        + [
            f"fairreason_bbq_{category}"
            for category in (
                "age",
                "disability_status",
                "nationality",
                "physical_appearance",
                "religion",
                "sexual_orientation",
            )
        ],
    ),
    "bbq_synthetic": (
        FIXTURES / "bbq" / "synthetic",
        ["fairreason_bbq"]
        + [
            f"fairreason_bbq_{category}"
            for category in ("gender_identity", "race_ethnicity", "race_x_ses", "race_x_gender")
        ],
    ),
    "cbbq": (
        FIXTURES / "cbbq",
        ["fairreason_cbbq", "fairreason_cbbq_balanced", "fairreason_cbbq_mc"]
        + [
            f"fairreason_cbbq_{category}"
            for category in (
                "disease",
                "educational_qualification",
                "ethnicity",
                "region",
                "sexual_orientation",
            )
        ],
    ),
}
PREFIXES = ("fairreason_bbq", "fairreason_cbbq", "fairreason_vlbiasbench")


def _options(doc: dict) -> list[str]:
    return doc["options"] if "options" in doc else [doc["ans0"], doc["ans1"], doc["ans2"]]


def _respond(task: str, doc: dict, context: str) -> str:
    """Varied answers: letters, option text, thinking blocks that commit or not, hedges, truncation."""
    rng = random.Random(f"{task}/{doc['category']}/{doc['example_id']}/{doc['context_condition']}")
    choice, style = rng.randrange(3), rng.randrange(6)
    options, other = _options(doc), LETTERS[(choice + 1) % 3]
    if style == 0:
        return f"Answer: {LETTERS[choice]}"
    if style == 1:
        trace = f"So it must be {options[(choice + 1) % 3]}. It is {other}."
        return f"<think>{trace}</think>\nAnswer: {LETTERS[choice]}"
    if style == 2:
        return f"<think>It mentions {options[choice]}, not {other}.</think>\n{options[choice]}"
    if style == 3:
        return f"<think>Maybe {other}... still thinking"
    if style == 4:
        return f"{LETTERS[choice]} or {other}"
    return f"**{LETTERS[choice]}**"


def _scores(task: str, doc: dict, context: str) -> list[float]:
    rng = random.Random(f"mc/{task}/{doc['category']}/{doc['example_id']}/{doc['context_condition']}")
    return [rng.random() for _ in range(3)]


def evaluate_family(family: str) -> dict[str, dict[str, float | str]]:
    """Task name -> metric name -> value (NaN written as the string "nan")."""
    data_dir, tasks = FAMILIES[family]
    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={"data_dir": str(data_dir)}
    )
    results = simple_evaluate(
        model=ScriptedLM(_respond, _scores),
        tasks=tasks,
        task_manager=manager,
        log_samples=False,
        bootstrap_iters=0,
    )
    return {
        task: {
            key.split(",")[0]: "nan" if isinstance(value, float) and math.isnan(value) else value
            for key, value in sorted(results["results"][task].items())
            if "," in key
        }
        for task in tasks
    }


def task_names() -> list[str]:
    """Every BBQ, CBBQ and VLBiasBench task name in the task folders (lm-eval's and lmms-eval's)."""
    roots = [str(tasks_path()), str(tasks_path("lmms"))]
    manager = TaskManager(include_path=roots, include_defaults=False)
    return sorted(name for name in manager.all_tasks if name.startswith(PREFIXES))


def _expected(recorded: dict[str, dict], task: str, categories: tuple[str, ...]) -> dict:
    """The recorded metrics less a one-category task's `_<Category>` duplicates (checked to be duplicates)."""
    metrics = dict(recorded[task])
    for category in categories:
        if task.endswith(f"_{category.lower()}"):
            for name in [name for name in metrics if name.removesuffix("_stderr").endswith(f"_{category}")]:
                assert metrics[name] == metrics[name.replace(f"_{category}", "")], name
                del metrics[name]
    return metrics


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_tasks_report_the_recorded_metrics(family):
    recorded = json.loads(SNAPSHOT.read_text())[family]
    categories = tuple(cbbq.CATEGORIES if family == "cbbq" else bbq.CATEGORIES)
    actual = evaluate_family(family)
    assert sorted(actual) == sorted(recorded)
    for task in recorded:
        expected = _expected(recorded, task, categories)
        per_category = {
            name: actual[task].pop(name)
            for name in [f"n_items_{category}" for category in categories]
            if name in actual[task] and name not in expected
        }
        for name in list(per_category):
            actual[task].pop(f"{name}_stderr")  # lm-eval's "N/A" beside every metric
        if len(per_category) > 1:  # multi-category tasks: a count per category the data holds, else NaN
            held = [count for count in per_category.values() if count != "nan"]
            assert sum(held) == actual[task]["n_items"] and all(count > 0 for count in held), task
        assert sorted(actual[task]) == sorted(expected), task
        for name, value in expected.items():
            assert actual[task][name] == (
                value if isinstance(value, str) else pytest.approx(value, abs=1e-12)
            ), (task, name)


def test_task_names_are_unchanged():
    assert task_names() == json.loads(SNAPSHOT.read_text())["task_names"]


if __name__ == "__main__":
    snapshot = {family: evaluate_family(family) for family in sorted(FAMILIES)}
    snapshot["task_names"] = task_names()
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print("wrote", SNAPSHOT, {family: len(tasks) for family, tasks in snapshot.items()}, file=sys.stderr)

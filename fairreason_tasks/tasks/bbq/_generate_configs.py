"""Write the BBQ task YAMLs from the metric names in utils.py, so the two cannot drift.

Run from this folder after changing metric names or categories: `python _generate_configs.py`.
tests/bbq/test_task_configs.py fails when the committed YAMLs differ from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HIGHER_IS_BETTER_PREFIXES = ("acc",)


def _metric_block(names: list[str]) -> str:
    lines = ["metric_list:"]
    for name in names:
        better = "true" if name.startswith(HIGHER_IS_BETTER_PREFIXES) else "false"
        lines += [
            f"  - metric: {name}",
            f"    aggregation: !function utils.agg_{name}",
            f"    higher_is_better: {better}",
        ]
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """File name -> YAML text for every BBQ task."""
    sys.path.insert(0, str(HERE))
    import utils  # the task's own adapters, imported the way lm-eval imports them

    from fairreason_tasks.core.bbq import CATEGORIES

    every = _metric_block(utils.GENERATE_METRICS)
    files = {
        "fairreason_bbq.yaml": (
            "# All 11 categories in one task: whole-benchmark bias scores cannot come from a group.\n"
            "task: fairreason_bbq\ninclude: _bbq_template_yaml\n"
            "process_results: !function utils.process_results\n" + every
        ),
        "fairreason_bbq_heldout.yaml": (
            "# Only templates outside the training pool (see README, 'Training pool split').\n"
            "task: fairreason_bbq_heldout\ninclude: _bbq_template_yaml\n"
            "dataset_kwargs:\n  split: heldout\n"
            "process_results: !function utils.process_results\n" + every
        ),
        "fairreason_bbq_mc.yaml": (
            "# Loglikelihood over exactly the three lettered options.\n"
            "task: fairreason_bbq_mc\ninclude: _bbq_template_yaml\n"
            "output_type: multiple_choice\ngeneration_kwargs: null\n"
            'doc_to_choice: ["A", "B", "C"]\ndoc_to_target: label\ntarget_delimiter: " "\n'
            "process_results: !function utils.process_results_mc\n" + _metric_block(utils.ALL_CATEGORY_METRICS)
        ),
    }
    for category in CATEGORIES:
        files[f"fairreason_bbq_{category.lower()}.yaml"] = (
            f"task: fairreason_bbq_{category.lower()}\ninclude: _bbq_template_yaml\n"
            f"dataset_kwargs:\n  categories: [{category}]\n"
            "process_results: !function utils.process_results_single\n"
            + _metric_block([*utils.metric_names((category,)), *utils.TRACE_METRICS])
        )
    return files


if __name__ == "__main__":
    for name, text in render_all().items():
        (HERE / name).write_text(text)
        print("wrote", name)

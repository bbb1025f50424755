"""Write the CBBQ task YAMLs from the metric names in utils.py, so the two cannot drift.

Run from this folder after changing metric names or categories: `python _generate_configs.py`.
tests/cbbq/test_cbbq_task.py fails when the committed YAMLs differ from what this writes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fairreason_tasks.tasks.bbq._generate_configs import _metric_block  # one YAML metric list writer

HERE = Path(__file__).resolve().parent
def render_all() -> dict[str, str]:
    """File name -> YAML text for every CBBQ task."""
    # The task's own adapters, loaded by file under their own name (a bare `import utils` would
    # return whichever task's utils another caller imported first).
    spec = importlib.util.spec_from_file_location("fairreason_cbbq_task_utils", HERE / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)

    from fairreason_tasks.core.cbbq import CATEGORIES

    files = {
        "fairreason_cbbq.yaml": (
            "# All 14 categories in one task, options in the published order (target group at A, unknown at C):\n"
            "# comparable with published CBBQ numbers.\n"
            "task: fairreason_cbbq\ninclude: _cbbq_template_yaml\n"
            "process_results: !function utils.process_results\n" + _metric_block(utils.ALL_METRICS)
        ),
        "fairreason_cbbq_balanced.yaml": (
            "# Options permuted per item so that target, other group and unknown sit at A, B and C equally often.\n"
            "task: fairreason_cbbq_balanced\ninclude: _cbbq_template_yaml\n"
            "dataset_kwargs:\n  balanced: true\n"
            "process_results: !function utils.process_results\n" + _metric_block(utils.ALL_METRICS)
        ),
        "fairreason_cbbq_mc.yaml": (
            "# Loglikelihood over exactly the three lettered options (published order).\n"
            "task: fairreason_cbbq_mc\ninclude: _cbbq_template_yaml\n"
            "output_type: multiple_choice\ngeneration_kwargs: null\n"
            'doc_to_choice: ["A", "B", "C"]\ndoc_to_target: label\ntarget_delimiter: " "\n'
            "process_results: !function utils.process_results_mc\n" + _metric_block(utils.MC_METRICS)
        ),
    }
    for category in CATEGORIES:
        files[f"fairreason_cbbq_{category.lower()}.yaml"] = (
            f"task: fairreason_cbbq_{category.lower()}\ninclude: _cbbq_template_yaml\n"
            f"dataset_kwargs:\n  categories: [{category}]\n"
            "process_results: !function utils.process_results_single\n"
            + _metric_block(utils.metric_names((category,)))
        )
    return files


if __name__ == "__main__":
    for name, text in render_all().items():
        (HERE / name).write_text(text)
        print("wrote", name)

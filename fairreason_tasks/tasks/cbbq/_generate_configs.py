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

    def task(name: str, settings: str, process: str, metrics: list[str], comment: str = "") -> tuple[str, str]:
        text = f"{comment}task: {name}\ninclude: _cbbq_template_yaml\n{settings}process_results: !function utils.{process}\n"
        return f"{name}.yaml", text + _metric_block(metrics)

    mc_settings = ('output_type: multiple_choice\ngeneration_kwargs: null\n'
                   'doc_to_choice: ["A", "B", "C"]\ndoc_to_target: label\ntarget_delimiter: " "\n')
    files = dict([
        task("fairreason_cbbq", "", "process_results", utils.ALL_METRICS,
             "# All 14 categories in one task, options in the published order (target group at A, unknown at C):\n"
             "# comparable with published CBBQ numbers.\n"),
        task("fairreason_cbbq_balanced", "dataset_kwargs:\n  balanced: true\n", "process_results", utils.ALL_METRICS,
             "# Options permuted per item so that target, other group and unknown sit at A, B and C equally often.\n"),
        task("fairreason_cbbq_mc", mc_settings, "process_results_mc", utils.MC_METRICS,
             "# Loglikelihood over exactly the three lettered options (published order).\n"),
    ])
    files.update(task(f"fairreason_cbbq_{category.lower()}", f"dataset_kwargs:\n  categories: [{category}]\n",
                      "process_results_single", utils.metric_names((category,))) for category in CATEGORIES)
    return files


if __name__ == "__main__":
    for name, text in render_all().items():
        (HERE / name).write_text(text)
        print("wrote", name)

"""The one drift check: the committed BBQ, CBBQ and VLBiasBench YAMLs are what `_generate_configs` writes."""

from __future__ import annotations

import re

from fairreason_tasks.locate import tasks_path
from fairreason_tasks.tasks import _generate_configs

FAMILIES = ("bbq", "cbbq", "vlbiasbench")


def test_committed_yamls_match_the_generator():
    rendered = _generate_configs.render_all()
    committed = {
        f"{family}/{path.name}": path.read_text()
        for family in FAMILIES
        for path in _generate_configs.FOLDERS[family].iterdir()
        if path.name.endswith((".yaml", "_yaml")) and path.name != f"_{family}_template_yaml"
    }
    assert committed == rendered, "run `python -m fairreason_tasks.tasks._generate_configs`"


def test_every_declared_metric_has_its_aggregation():
    for family in FAMILIES:
        utils = _generate_configs.task_utils(family)
        for name, text in _generate_configs.render_all().items():
            if name.startswith(f"{family}/"):
                for function in re.findall(r"!function utils\.(\w+)", text):
                    assert callable(getattr(utils, function)), (name, function)


def test_one_category_tasks_declare_no_category_copies():
    text = (tasks_path() / "bbq" / "_bbq_category_yaml").read_text()
    assert "metric: acc," in text and "_Age" not in text
    assert (tasks_path() / "bbq" / "fairreason_bbq_age.yaml").read_text().count("\n") == 3

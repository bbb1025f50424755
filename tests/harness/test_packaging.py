"""The build is quiet: every folder setuptools would see as an importable package is declared
(setuptools warns "Package would be ignored" for each one that is not), so data and task files ship."""

from __future__ import annotations

import configparser
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_every_folder_with_files_is_a_declared_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options"]["packages"].strip() == "find_namespace:"
    find = config["options.packages.find"]
    declared = set(
        find_namespace_packages(
            str(ROOT), include=_lines(find["include"]), exclude=_lines(find.get("exclude", ""))
        )
    )
    roots = {name.split(".")[0] for name in _lines(find["include"])}
    importable = {
        ".".join(folder.relative_to(ROOT).parts)
        for root in roots
        for folder in [ROOT / root, *(ROOT / root).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and all(part.isidentifier() for part in folder.relative_to(ROOT).parts)
    }
    assert importable - declared == set()
    assert (
        "fairreason_tasks.data_files.bbq_templates" in declared and "fairreason_tasks.tasks.bbq" in declared
    )
    assert not any(name.endswith("__pycache__") for name in declared)

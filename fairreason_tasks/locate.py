"""Finding the tasks: `fairreason tasks-path`, `link-tasks` and `unlink-tasks`.

lm-eval 0.4.13 has no plugin entry point for tasks. `--include_path "$(fairreason tasks-path)"`
is the documented route; `link-tasks` is the convenience for plain `lm_eval --tasks fairreason_bbq`:
it writes stub YAMLs (`include: /absolute/real.yaml`) into a folder of the installed lm_eval/tasks,
which lm-eval indexes with no flag (a symlinked folder would not be followed by its index).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

import yaml

TASKS_DIR = Path(__file__).resolve().parent / "tasks"
VISION_TASKS_DIR = Path(__file__).resolve().parent / "vision_tasks"
LINK_DIR_NAME = "fairreason_linked"
MARKER = ".fairreason-link"


def tasks_path(harness: str = "lm_eval") -> Path:
    """The folder to pass to `--include_path`: the text tasks for lm-eval, the vision tasks for lmms-eval.

    Two roots, so that neither harness lists (`lm_eval ls tasks`) a task it cannot run.
    """
    if harness not in {"lm_eval", "lmms"}:
        raise ValueError(f"unknown harness {harness!r}: expected 'lm_eval' or 'lmms'")
    return TASKS_DIR if harness == "lm_eval" else VISION_TASKS_DIR


def _installed_lm_eval_tasks() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "lm_eval is not installed in this environment; `pip install fairreason` installs it"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "tasks"


def _task_files() -> list[Path]:
    """lm-eval task and group YAMLs (top-level `task:` or `group:`)."""
    found = []
    for path in sorted(TASKS_DIR.rglob("*.yaml")):
        if any(line.startswith(("task:", "group:")) for line in path.read_text().splitlines()):
            found.append(path)
    return found


def link_tasks(target_root: Path | None = None) -> Path:
    """Write one stub per task into lm_eval/tasks/fairreason_linked; returns that folder."""
    link_dir = (target_root or _installed_lm_eval_tasks()) / LINK_DIR_NAME
    if link_dir.exists() and not (link_dir / MARKER).exists():
        raise RuntimeError(f"{link_dir} exists and was not made by fairreason; leaving it alone")
    unlink_tasks(target_root)
    link_dir.mkdir(parents=True)
    for real in _task_files():
        stub = link_dir / f"{real.parent.name}__{real.name}"
        header = yaml.safe_dump({"include": str(real)}, default_flow_style=False)
        stub.write_text(
            f"# Written by `fairreason link-tasks`; undo with `fairreason unlink-tasks`.\n{header}"
        )
    (link_dir / MARKER).write_text(f"{TASKS_DIR}\n")
    return link_dir


def unlink_tasks(target_root: Path | None = None) -> bool:
    """Remove what link_tasks wrote; True if there was something to remove."""
    link_dir = (target_root or _installed_lm_eval_tasks()) / LINK_DIR_NAME
    if not (link_dir / MARKER).exists():
        return False
    shutil.rmtree(link_dir)
    return True


def tasks_path_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="fairreason tasks-path",
        description="Print the folder to give lm-eval's --include_path (or lmms-eval's, with "
        "--harness lmms).",
    )
    parser.add_argument("--harness", choices=["lm_eval", "lmms"], default="lm_eval")
    args = parser.parse_args(argv)
    print(tasks_path(args.harness))
    return 0


def link_tasks_main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="fairreason link-tasks",
        description="Make plain `lm_eval --tasks fairreason_bbq` work without --include_path: writes small "
        "stub YAMLs into the installed lm_eval/tasks/fairreason_linked folder (the vision tasks "
        "need lmms-eval and live in their own folder). `fairreason unlink-tasks` removes them.",
    ).parse_args(argv)
    link_dir = link_tasks()
    print(
        f"linked fairreason tasks into {link_dir}; `lm_eval --tasks fairreason_bbq` now works without flags"
    )
    return 0


def unlink_tasks_main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="fairreason unlink-tasks",
        description="Remove the stubs `fairreason link-tasks` wrote; a folder it did not write is "
        "left alone.",
    ).parse_args(argv)
    removed = unlink_tasks()
    print(
        "removed the fairreason task links" if removed else "no fairreason task links to remove",
        file=sys.stderr,
    )
    return 0

"""Finding the tasks: tasks-path, and link-tasks / unlink-tasks, reversibly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lm_eval.tasks import TaskManager

from fairreason_tasks import cli
from fairreason_tasks.locate import LINK_DIR_NAME, MARKER, link_tasks, tasks_path, unlink_tasks


def test_tasks_path_prints_the_task_tree(capsys):
    assert cli.main(["tasks-path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed == tasks_path()
    assert (printed / "bbq" / "fairreason_bbq.yaml").is_file()


def test_each_harness_lists_only_the_tasks_it_can_run():
    # what `lm_eval ls tasks --include_path "$(fairreason tasks-path)"` lists besides lm-eval's own
    text = set(TaskManager(include_path=str(tasks_path()), include_defaults=False).all_tasks)
    assert {"fairreason_bbq", "fairreason_cbbq", "fairreason_math500", "fairreason_text"} <= text
    assert not {name for name in text if "vision" in name or "vlbias" in name or "mathverse" in name}
    lmms_tasks = pytest.importorskip("lmms_eval.tasks")
    vision = lmms_tasks.TaskManager(include_path=str(tasks_path("lmms")), include_defaults=False)
    assert set(vision.all_tasks) == {"fairreason_vlbiasbench", "fairreason_mathverse", "fairreason_vision"}


def test_linked_stubs_are_found_without_include_path_and_unlink_removes_them(tmp_path):
    link_dir = link_tasks(target_root=tmp_path)
    assert (link_dir / MARKER).is_file()
    stub = link_dir / "bbq__fairreason_bbq.yaml"
    assert yaml.safe_load(stub.read_text().split("\n", 1)[1]) == {
        "include": str(tasks_path() / "bbq" / "fairreason_bbq.yaml")
    }
    # lm-eval indexes the stub folder as it would the installed lm_eval/tasks/fairreason_linked
    manager = TaskManager(include_path=str(link_dir), include_defaults=False)
    assert {
        "fairreason_bbq",
        "fairreason_bbq_heldout",
        "fairreason_bbq_religion",
        "fairreason_math500",
        "fairreason_text",
    } <= set(manager.all_tasks)
    assert not {"fairreason_vlbiasbench", "fairreason_vision"} & set(manager.all_tasks)  # lmms-eval only
    assert unlink_tasks(target_root=tmp_path) is True
    assert not link_dir.exists()
    assert unlink_tasks(target_root=tmp_path) is False


def test_link_refuses_to_overwrite_a_folder_it_did_not_make(tmp_path):
    foreign = tmp_path / LINK_DIR_NAME
    foreign.mkdir()
    (foreign / "mine.yaml").write_text("task: someone_elses\n")
    with pytest.raises(RuntimeError, match="not made by fairreason"):
        link_tasks(target_root=tmp_path)
    assert (foreign / "mine.yaml").exists()


def test_unknown_subcommand_is_a_usage_error(capsys):
    assert cli.main(["no-such-command"]) == 2
    assert "unknown command" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["link-tasks", "unlink-tasks", "tasks-path"])
def test_help_is_written_for_users_not_docstrings(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: fairreason {command}") and "returns" not in out and "True if" not in out

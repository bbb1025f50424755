"""`fairreason sweep --launcher slurm` against a fake SLURM on PATH and through submitit's local
executor; processes and locks of the local launcher; unique cell names; sweep.json's mode.

Cells train and score with cheap stand-in commands (a checkpoint's config.json and a small
scores.json written by `python -c`): what is tested here is the launching, recording, resuming
and cancelling, which the real trainer does not change (tests/sweep/test_sweep.py runs it).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studies import launchers, sweep, sweep_cli

HERE = Path(__file__).resolve().parent
FAKE_SLURM = HERE / "fake_slurm.py"
RECIPE = HERE / "tiny_sweep_sft.yaml"

# Stand-ins for `fairreason train` / `fairreason score`: argv[1] is the checkpoint or scores folder.
# The trainer waits for a file named by $HOLD_TRAINING to vanish (so a test can catch it mid-run)
# and, with $TRAINER_PIDS set, starts a grandchild and records its own, the grandchild's and its
# supervisor's pid.
TRAIN = """
import json, os, pathlib, subprocess, sys, time
out = pathlib.Path(sys.argv[1])
if os.environ.get("TRAINER_PIDS"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    pathlib.Path(os.environ["TRAINER_PIDS"]).write_text(json.dumps([os.getpid(), child.pid, os.getppid()]))
while os.environ.get("HOLD_TRAINING") and os.path.exists(os.environ["HOLD_TRAINING"]):
    time.sleep(0.1)
out.mkdir(parents=True, exist_ok=True)
(out / "config.json").write_text("{}")
"""
SCORE = """
import json, pathlib, sys
out, name, ratio = pathlib.Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
tasks = {"fairreason_bbq_heldout": {"bias_score_ambig": 0.4 - 0.3 * ratio, "bias_score_disambig": 0.1},
         "fairreason_math500": {"acc": 0.8 - 0.2 * ratio}}
payload = {"model": {"name": name}, "run": {"paradigm": "sft", "debias_ratio": ratio}, "tasks": tasks}
(out / "scores.json").write_text(json.dumps(payload))
"""


def fake_train(settings: sweep.SweepSettings, cell: sweep.Cell, checkpoint: Path) -> list[str]:
    return [sys.executable, "-c", TRAIN, str(checkpoint)]


def fake_score(settings: sweep.SweepSettings, cell: sweep.Cell, checkpoint: Path, scores: Path) -> list[str]:
    return [sys.executable, "-c", SCORE, str(scores), cell.name, repr(cell.ratio)]


DRIVER = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from studies import sweep, sweep_cli
from test_sweep_slurm import fake_score, fake_train
sweep.train_command, sweep.score_command = fake_train, fake_score
sys.exit(sweep_cli.sweep_main(sys.argv[1:]))
"""


def _argv(output: Path, *extra: str, ratios: str = "0,0.5,1") -> list[str]:
    return [
        "--paradigms",
        "sft",
        "--ratios",
        ratios,
        "--recipe",
        str(RECIPE),
        "--budget",
        "8",
        "--output",
        str(output),
        *extra,
    ]


def _state(output: Path) -> dict:
    return json.loads((output / sweep.STATE_FILE).read_text())


@pytest.fixture
def fake_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep, "train_command", fake_train)
    monkeypatch.setattr(sweep, "score_command", fake_score)


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sbatch, sacct, squeue, scancel and srun on PATH; returns the fake scheduler's state folder."""
    bin_dir, state = tmp_path / "bin", tmp_path / "slurmd"
    bin_dir.mkdir()
    for command in ("sbatch", "sacct", "squeue", "scancel", "srun"):
        script = bin_dir / command
        script.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_SLURM} {command} "$@"\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(state))
    launchers.submitit.SlurmJob.watcher.clear()
    return state


def _calls(state: Path) -> list[dict]:
    path = state / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_three_cells_run_as_one_job_array_on_the_fake_scheduler(
    tmp_path: Path, fake_slurm: Path, fake_commands: None, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "grid"
    flags = [
        "--launcher",
        "slurm",
        "--wait",
        "--poll-seconds",
        "0.3",
        "--partition",
        "gpu",
        "--account",
        "lab",
        "--qos",
        "high",
        "--gpus-per-node",
        "8",
        "--cpus-per-task",
        "32",
        "--mem-gb",
        "480",
        "--time",
        "2:00:00",
        "--array-parallelism",
        "2",
        "--sbatch=--constraint=h100",
        "--setup",
        "export FAIRREASON_TEST_SETUP=1",
    ]
    old_umask = os.umask(0o022)
    try:
        assert sweep_cli.sweep_main(_argv(output, *flags)) == 0
    finally:
        os.umask(old_umask)

    (call,) = _calls(fake_slurm)
    assert len(call["args"]) == 1 and call["args"][0].startswith(str(output / "slurm"))  # sbatch SCRIPT
    script = (fake_slurm / f"script_{call['job']}.sh").read_text()
    for line in (
        "#SBATCH --array=0-2%2",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=lab",
        "#SBATCH --qos=high",
        "#SBATCH --gpus-per-node=8",
        "#SBATCH --cpus-per-task=32",
        "#SBATCH --mem=480GB",
        "#SBATCH --time=120",
        "#SBATCH --constraint=h100",
        "#SBATCH --nodes=1",
        "export FAIRREASON_TEST_SETUP=1",
    ):
        assert line in script.splitlines(), line
    assert "-m submitit.core._submit" in script and "srun --unbuffered" in script
    state = _state(output)
    assert state["launcher"]["kind"] == "slurm"
    cells = state["cells"]
    assert sorted(cells) == ["sft_r0.00", "sft_r0.50", "sft_r1.00"]
    for index, name in enumerate(sorted(cells)):
        assert cells[name]["status"] == "done"
        assert cells[name]["job_id"] == f"{call['job']}_{index}"
        assert cells[name]["scheduler_state"] == "COMPLETED"
        assert Path(cells[name]["job_log"]).is_file()
    assert (output / "leaderboard.md").is_file()
    assert stat.S_IMODE((output / sweep.STATE_FILE).stat().st_mode) == 0o644

    capsys.readouterr()
    assert sweep_cli.sweep_main(["--status", str(output)]) == 0
    table = capsys.readouterr().out
    assert all(name in table and f"{call['job']}_" in table for name in cells)
    # A rerun submits nothing: every cell is finished.
    assert sweep_cli.sweep_main(_argv(output, "--launcher", "slurm")) == 0
    assert len(_calls(fake_slurm)) == 1


def test_running_jobs_are_not_resubmitted_failed_ones_only_with_retry_failed_and_cancel(
    tmp_path: Path,
    fake_slurm: Path,
    fake_commands: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAKE_SLURM_HOLD", "1")  # jobs stay PENDING
    output = tmp_path / "grid"
    assert sweep_cli.sweep_main(_argv(output, "--launcher", "slurm")) == 0
    first = {name: cell["job_id"] for name, cell in _state(output)["cells"].items()}
    assert sweep_cli.sweep_main(_argv(output, "--launcher", "slurm")) == 0
    assert (
        len(_calls(fake_slurm)) == 1 and {n: c["job_id"] for n, c in _state(output)["cells"].items()} == first
    )

    # One task dies (as a node failure or an out-of-memory kill would end it).
    subprocess.run(["scancel", first["sft_r0.50"]], check=True)
    assert sweep_cli.sweep_main(_argv(output, "--launcher", "slurm")) == 0
    cells = _state(output)["cells"]
    assert cells["sft_r0.50"]["status"] == "failed" and "CANCELLED" in cells["sft_r0.50"]["reason"]
    assert len(_calls(fake_slurm)) == 1
    assert "--retry-failed resubmits it" in capsys.readouterr().out

    assert sweep_cli.sweep_main(_argv(output, "--launcher", "slurm", "--retry-failed")) == 0
    calls = _calls(fake_slurm)
    assert len(calls) == 2
    cells = _state(output)["cells"]
    assert cells["sft_r0.50"]["job_id"] == str(calls[1]["job"]) and cells["sft_r0.50"]["attempts"] == 2
    assert cells["sft_r0.00"]["job_id"] == first["sft_r0.00"]

    assert sweep_cli.sweep_main(["--cancel", str(output)]) == 0
    cancelled = [json.loads(line) for line in (fake_slurm / "scancel.jsonl").read_text().splitlines()][-1]
    assert sorted(cancelled) == sorted([first["sft_r0.00"], first["sft_r1.00"], cells["sft_r0.50"]["job_id"]])
    assert {cell["status"] for cell in _state(output)["cells"].values()} == {"cancelled"}


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def _submitted(output: Path) -> bool:
    path = output / sweep.STATE_FILE
    try:
        return path.is_file() and all(cell.get("job_id") for cell in _state(output)["cells"].values())
    except json.JSONDecodeError:
        return False


def _driver(tmp_path: Path, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    return subprocess.Popen(
        [sys.executable, str(driver), *argv],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_submitit_local_executor_sweep_resumes_after_the_submitter_is_killed(tmp_path: Path) -> None:
    output, hold = tmp_path / "grid", tmp_path / "hold"
    hold.write_text("")
    argv = _argv(output, "--launcher", "slurm", "--cluster", "local", "--wait", "--poll-seconds", "0.3")
    env = {"HOLD_TRAINING": str(hold)}
    first = _driver(tmp_path, argv, env)
    _wait_for(lambda: _submitted(output))
    first.kill()
    first.wait()
    jobs = {name: cell["job_id"] for name, cell in _state(output)["cells"].items()}

    again = _driver(tmp_path, _argv(output, "--launcher", "slurm", "--cluster", "local"), env)
    printed, _ = again.communicate(timeout=120)
    assert again.returncode == 0, printed
    assert "3 cell(s) already have a live job" in printed
    assert {name: cell["job_id"] for name, cell in _state(output)["cells"].items()} == jobs

    hold.unlink()
    last = _driver(tmp_path, argv, env)
    printed, _ = last.communicate(timeout=300)
    assert last.returncode == 0, printed
    cells = _state(output)["cells"]
    assert {cell["status"] for cell in cells.values()} == {"done"}
    assert {name: cell["job_id"] for name, cell in cells.items()} == jobs
    assert (output / "leaderboard.md").is_file()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_a_killed_local_sweep_takes_its_trainer_along_and_a_second_sweep_cannot_train_the_cell(
    tmp_path: Path, fake_commands: None, capsys: pytest.CaptureFixture[str]
) -> None:
    output, hold, pids = tmp_path / "grid", tmp_path / "hold", tmp_path / "pids.json"
    hold.write_text("")
    running = _driver(
        tmp_path, _argv(output, ratios="0.2"), {"HOLD_TRAINING": str(hold), "TRAINER_PIDS": str(pids)}
    )
    _wait_for(pids.is_file)
    trainer, grandchild, supervisor = json.loads(pids.read_text())

    log = output / "cells" / "sft_r0.20" / "train.log"
    log_before = log.read_text()
    assert sweep_cli.sweep_main(_argv(output, ratios="0.2")) == 1  # the same cell, from a second sweep
    printed = capsys.readouterr()
    assert "sft_r0.20: skipped: sft_r0.20 is in use by another process" in printed.out
    assert log.read_text() == log_before and _alive(trainer)

    running.send_signal(signal.SIGKILL)
    running.wait()
    _wait_for(lambda: not any(_alive(pid) for pid in (trainer, grandchild, supervisor)), timeout=40)
    from studies.cell_process import CellLock

    CellLock(output / "cells" / "sft_r0.20").acquire().release()  # the lock went with them


def test_distinct_ratios_get_distinct_cells() -> None:
    names = [sweep.Cell("sft", ratio).name for ratio in (0.101, 0.104, 0.1, 0.2, 1.0, 0.0)]
    assert names == ["sft_r0.101", "sft_r0.104", "sft_r0.10", "sft_r0.20", "sft_r1.00", "sft_r0.00"]


def test_retraining_resumes_from_the_newest_complete_checkpoint(tmp_path: Path) -> None:
    for step, complete in ((100, True), (200, True), (300, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (tmp_path / "config.json").write_text("{}")
    assert sweep.prepare_resume(tmp_path) == str(tmp_path / "checkpoint-200")
    assert not (tmp_path / "checkpoint-300").exists() and not (tmp_path / "config.json").exists()
    assert (tmp_path / "checkpoint-100").is_dir()


@pytest.mark.parametrize(
    ("text", "minutes"), [("90", 90), ("1:30", 2), ("02:00:00", 120), ("1-00", 1440), ("1-2:30", 1590)]
)
def test_slurm_time_forms(text: str, minutes: int) -> None:
    assert launchers.parse_time(text) == minutes


def test_bad_slurm_settings_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(sweep.SweepError, match="unknown slurm keys \\['gpus'\\]"):
        launchers.resources_from({"gpus": 8}, "recipe.yaml: field 'slurm'")
    with pytest.raises(sweep.SweepError, match="long sbatch option"):
        launchers.SlurmResources(sbatch=("constraint=h100",)).additional_parameters()
    assert launchers.SlurmResources(
        sbatch=("#SBATCH --exclusive", "--gres=gpu:8")
    ).additional_parameters() == {"exclusive": True, "gres": "gpu:8"}
    with pytest.raises(sweep.SweepError, match="time"):
        launchers.parse_time("2 hours")


def test_status_of_a_folder_without_a_sweep_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sweep_cli.sweep_main(["--status", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_preempted_cell_is_requeued_as_is_and_recorded(tmp_path: Path, fake_commands: None) -> None:
    settings = sweep_cli.settings_from_args(
        sweep_cli.parser().parse_args(_argv(tmp_path / "grid", ratios="0.2"))
    )
    sweep.open_state(settings)
    cell = settings.cells[0]
    job = launchers.CellJob(settings, cell)
    requeued = job.checkpoint()
    assert requeued.function is job and job.commands.train == fake_train(
        settings, cell, sweep.cell_dir(settings, cell) / "checkpoint"
    )
    record = _state(tmp_path / "grid")["cells"][cell.name]
    assert (record["status"], record["scheduler_state"]) == ("submitted", "REQUEUED")
    assert "resumes from its newest checkpoint" in record["reason"]

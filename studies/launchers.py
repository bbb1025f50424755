"""`fairreason sweep --launcher slurm`: the unfinished cells as one SLURM job array, through submitit.

Each array task runs one cell: `fairreason train` (through `--train-launcher`, e.g. accelerate
with DeepSpeed, on the job's GPUs) and then `fairreason score`, exactly as the local launcher does
(`sweep.run_cell`), and writes the cell's record into sweep.json itself. The submitting command
records the job ids and returns; rerunning it (or `--status`) polls the scheduler (`sacct`,
through submitit's watcher) into sweep.json. A job preempted or about to time out gets
submitit's signal, is requeued with the same cell (`Checkpointable`), and training resumes from
the newest complete `checkpoint-*`. Resources come from the recipe's `slurm:` section, then flags.
`cluster="local"` runs the same jobs with submitit's local executor (a dry run on one machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import submitit

from fairreason_tasks.runrecord import utc_timestamp
from studies.cell_process import CellBusy, CellLock
from studies.sweep import (
    Cell,
    SweepError,
    SweepSettings,
    SweepState,
    cell_commands,
    cell_dir,
    finish,
    is_finished,
    open_state,
    run_cell,
)

# States in which a job may still run the cell (submitit's own list of unfinished states, plus
# the transient ones sacct reports); anything else has ended.
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "RUNNING",
        "REQUEUED",
        "CONFIGURING",
        "COMPLETING",
        "SUSPENDED",
        "PREEMPTED",
        "RESIZING",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "SIGNALING",
        "STAGE_OUT",
        "READY",
        "UNKNOWN",
    }
)
SUBMITTED = ("submitted", "running")  # cell statuses that a live job may own
RESUBMIT_WITHOUT_FLAG = ("pending",)
JOBS_FOLDER = "slurm"  # submitit's scripts, pickles and logs: <output>/slurm/<job id>/


@dataclass(frozen=True)
class SlurmResources:
    """What one cell's job asks for; a recipe's `slurm:` section uses the same keys."""

    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    time_min: int = 24 * 60
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    sbatch: tuple[str, ...] = ()  # extra #SBATCH lines, e.g. "--constraint=h100"
    setup: tuple[str, ...] = ()  # shell lines run before the cell, e.g. "source .venv/bin/activate"
    array_parallelism: int = 8  # cells running at once
    max_requeues: int = 3  # preemptions / timeouts a cell may be requeued after

    def additional_parameters(self) -> dict[str, Any]:
        """`--sbatch` lines as submitit's `slurm_additional_parameters` ({"constraint": "h100"})."""
        extra: dict[str, Any] = {}
        for line in self.sbatch:
            flag = line.strip().removeprefix("#SBATCH").strip()
            if not flag.startswith("--"):
                raise SweepError(f"--sbatch {line!r}: give a long sbatch option, e.g. --constraint=h100")
            key, sep, value = flag[2:].partition("=")
            extra[key.replace("-", "_")] = value if sep else True
        return extra

    def submitit_parameters(self, cluster: str, name: str) -> dict[str, Any]:
        generic = {
            "name": name,
            "timeout_min": self.time_min,
            "nodes": self.nodes,
            "tasks_per_node": 1,
            "gpus_per_node": self.gpus_per_node,
            "cpus_per_task": self.cpus_per_task,
            "mem_gb": self.mem_gb,
            "stderr_to_stdout": True,
        }
        if cluster != "slurm":
            return {key: value for key, value in generic.items() if value is not None and key != "nodes"}
        specific = {
            "partition": self.partition,
            "account": self.account,
            "qos": self.qos,
            "array_parallelism": self.array_parallelism,
            "setup": list(self.setup) or None,
            "additional_parameters": self.additional_parameters() or None,
        }
        return {**generic, **{f"slurm_{key}": value for key, value in specific.items() if value is not None}}


def parse_time(text: str | int) -> int:
    """Minutes from sbatch's time forms: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S` (seconds round up)."""
    text = str(text).strip()
    days, dash, rest = text.partition("-") if "-" in text else ("0", "", text)
    parts = rest.split(":")
    if not days.isdigit() or len(parts) > 3 or not all(part.isdigit() for part in parts):
        raise SweepError(f"time {text!r}: give minutes or [D-]HH:MM[:SS]")
    numbers = [int(part) for part in parts]
    if dash:
        hours, minutes, seconds = (numbers + [0, 0])[:3]
    else:
        hours, minutes, seconds = {1: (0, numbers[0], 0), 2: (0, *numbers), 3: tuple(numbers)}[len(numbers)]
    return int(days) * 1440 + hours * 60 + minutes + (seconds > 0)


def resources_from(raw: dict[str, Any] | None, where: str) -> SlurmResources:
    """A recipe's `slurm:` mapping checked against the known keys."""
    raw = dict(raw or {})
    known = {item.name for item in fields(SlurmResources)}
    unknown = sorted(set(raw) - known - {"time"})
    if unknown:
        raise SweepError(f"{where}: unknown slurm keys {unknown}; known: {sorted(known | {'time'})}")
    if "time" in raw:
        raw["time_min"] = parse_time(raw.pop("time"))
    for key in ("sbatch", "setup"):
        if key in raw:
            raw[key] = tuple(raw[key])
    return SlurmResources(**raw)


def resources_for(settings: SweepSettings, paradigm: str, flags: dict[str, Any]) -> SlurmResources:
    """The recipe's `slurm:` section for this paradigm, then the command-line flags on top."""
    from trainers.recipe import RecipeError, load_recipe

    try:
        recipe = load_recipe(settings.recipe, paradigm)
    except RecipeError as error:
        raise SweepError(str(error)) from None
    resources = resources_from(recipe.raw.get("slurm"), f"{recipe.source_file}: field 'slurm'")
    given = {key: value for key, value in flags.items() if value not in (None, ())}
    if "sbatch" in given or "setup" in given:
        given = {
            **given,
            **{
                key: tuple(getattr(resources, key)) + tuple(given[key])
                for key in ("sbatch", "setup")
                if key in given
            },
        }
    return replace(resources, **given)


# ---- the job ------------------------------------------------------------------------------------


class CellFailed(RuntimeError):
    """The cell did not finish; the job ends FAILED and sweep.json holds the reason."""


class CellJob(submitit.helpers.Checkpointable):
    """One cell, run on the node the scheduler gave; requeued as is on preemption or timeout."""

    def __init__(self, settings: SweepSettings, cell: Cell) -> None:
        self.settings = settings
        self.cell = cell
        self.commands = cell_commands(settings, cell)

    def __call__(self) -> str:
        env = submitit.JobEnvironment()
        if (
            env.num_nodes > 1
        ):  # for `accelerate launch --main_process_ip $MASTER_ADDR --machine_rank $SLURM_NODEID`
            os.environ.setdefault("MASTER_ADDR", env.hostnames[0])
            os.environ.setdefault("MASTER_PORT", "29500")
            if env.global_rank != 0:  # the other nodes join training; node 0 keeps the records and scores
                return str(
                    subprocess.run([os.path.expandvars(part) for part in self.commands.train]).returncode
                )
        state = SweepState(self.settings)
        state.update(
            self.cell, status="running", scheduler_state="RUNNING", job_id=env.job_id, host=env.hostname
        )
        try:
            with CellLock(cell_dir(self.settings, self.cell)) as lock:
                finished = run_cell(state, self.settings, self.cell, lock=lock, commands=self.commands)
        except CellBusy as error:
            state.update(self.cell, status="failed", reason=str(error))
            raise CellFailed(str(error)) from None
        if not finished:
            raise CellFailed(state.cells[self.cell.name].get("reason") or "the cell did not finish")
        return "done"

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        SweepState(self.settings).update(
            self.cell,
            status="submitted",
            scheduler_state="REQUEUED",
            reason="preempted or timed out: requeued; training resumes from its newest checkpoint",
        )
        return super().checkpoint(*args, **kwargs)


# ---- scheduler state ----------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    """A local-executor job (its controller's pid) still runs: exists and is not a zombie."""
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields_[0] != "Z"


def scheduler_states(cluster: str, folder: Path, job_ids: Iterable[str]) -> dict[str, str]:
    """Job id -> scheduler state (first word: "CANCELLED by 0" -> "CANCELLED"); one sacct call for all."""
    job_ids = list(job_ids)
    if not job_ids:
        return {}
    if cluster != "slurm":
        return {
            job_id: "RUNNING" if job_id.isdigit() and _pid_alive(int(job_id)) else "ENDED"
            for job_id in job_ids
        }
    watcher = submitit.SlurmJob.watcher
    for job_id in job_ids:
        watcher.register_job(job_id)
    watcher.update()
    return {job_id: (watcher.get_state(job_id, mode="cache").split() or ["UNKNOWN"])[0] for job_id in job_ids}


def poll(state: SweepState, settings: SweepSettings) -> list[str]:
    """Bring the scheduler's states into sweep.json; returns the cells whose job is still alive."""
    state.refresh()
    launcher = state.launcher or {}
    records = {cell.name: state.cells.get(cell.name, {}) for cell in settings.cells}
    owned = {
        cell.name: cell
        for cell in settings.cells
        if records[cell.name].get("job_id")
        and (
            records[cell.name].get("status") in SUBMITTED
            or records[cell.name].get("scheduler_state") in ACTIVE_STATES
        )
    }
    ids = {name: str(state.cells[name]["job_id"]) for name in owned}
    states = scheduler_states(
        launcher.get("cluster", "slurm"), Path(launcher.get("folder", ".")), ids.values()
    )
    live = []
    for name, cell in owned.items():
        scheduler_state = states.get(ids[name], "UNKNOWN")
        if scheduler_state in ACTIVE_STATES:
            state.update(cell, scheduler_state=scheduler_state)
            live.append(name)
            continue
        state.refresh()
        record = state.cells[name]
        if record.get("status") in SUBMITTED:  # the job ended without recording an outcome
            state.update(
                cell,
                status="failed",
                scheduler_state=scheduler_state,
                reason=f"job {ids[name]} ended {scheduler_state} before the cell finished "
                f"(log: {record.get('job_log')})",
            )
        else:
            state.update(cell, scheduler_state=scheduler_state)
    return live


# ---- submit, status, cancel ---------------------------------------------------------------------


def to_submit(state: SweepState, settings: SweepSettings, live: list[str]) -> tuple[list[Cell], list[str]]:
    """Cells to submit now, and the failed ones left alone (without --retry-failed)."""
    chosen, held = [], []
    for cell in settings.cells:
        record = state.cells[cell.name]
        if is_finished(state, settings, cell) or cell.name in live:
            continue
        status = record.get("status")
        if status in ("failed", "cancelled") and not settings.retry_failed:
            held.append(cell.name)
            continue
        chosen.append(cell)
    return chosen, held


def submit(
    state: SweepState, settings: SweepSettings, cells: list[Cell], cluster: str, flags: dict[str, Any]
) -> list[submitit.Job]:
    """One job array per distinct resource request (normally one), cells recorded as they are submitted."""
    folder = settings.output / JOBS_FOLDER / "%j"
    groups: dict[SlurmResources, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(resources_for(settings, cell.paradigm, flags), []).append(cell)
    jobs = []
    for resources, group in groups.items():
        options = {"slurm_max_num_timeout": resources.max_requeues} if cluster == "slurm" else {}
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster, **options)
        executor.update_parameters(
            **resources.submitit_parameters(cluster, f"fairreason-{settings.output.name}")
        )
        with executor.batch():
            submitted = [executor.submit(CellJob(settings, cell)) for cell in group]
        for cell, job in zip(group, submitted, strict=True):
            attempts = int(state.cells[cell.name].get("attempts") or 0) + 1
            state.update(
                cell,
                status="submitted",
                launcher="slurm",
                job_id=job.job_id,
                scheduler_state="PENDING",
                submitted_utc=utc_timestamp(),
                job_log=str(job.paths.stdout),
                attempts=attempts,
                reason=None,
                resources=asdict(resources),
            )
        jobs += submitted
    return jobs


def run_slurm_sweep(
    settings: SweepSettings, *, cluster: str, flags: dict[str, Any], wait: bool, poll_seconds: float = 30.0
) -> int:
    """Submit what is left, record it, and (with `wait`) follow the jobs to the end and build the
    leaderboard."""
    state = open_state(settings)
    folder = settings.output / JOBS_FOLDER
    previous = state.launcher or {}
    if previous.get("cluster") not in (None, cluster):
        raise SweepError(
            f"{state.path}: jobs were submitted with --cluster {previous['cluster']}; use it again"
        )
    state.launcher = {"kind": "slurm", "cluster": cluster, "folder": str(folder)}
    live = poll(state, settings)
    cells, held = to_submit(state, settings, live)
    for name in held:
        print(f"{name}: failed earlier ({state.cells[name].get('reason')}); --retry-failed resubmits it")
    jobs = submit(state, settings, cells, cluster, flags) if cells else []
    if jobs:
        print(
            f"submitted {len(jobs)} cell(s): "
            + ", ".join(f"{cell.name}={job.job_id}" for cell, job in zip(cells, jobs, strict=True))
        )
    if live:
        print(f"{len(live)} cell(s) already have a live job: {', '.join(live)}")
    print_status(state, settings.output)
    if not wait:
        done = sum(is_finished(state, settings, cell) for cell in settings.cells)
        if done < len(settings.cells):
            print(
                f"follow with: fairreason sweep --status {settings.output}; rerun this command to resume "
                f"and, once all cells are done, to build the leaderboard"
            )
            return 0
    while poll(state, settings):
        time.sleep(poll_seconds)
    print_status(state, settings.output)
    return finish(state, settings)


def print_status(state: SweepState | dict[str, Any], output: Path) -> None:
    """The table of cells: status, stage, job, scheduler state, and the reason or log."""
    cells = state.cells if isinstance(state, SweepState) else state["cells"]
    rows = [("cell", "status", "stage", "job", "scheduler", "reason / log")]
    for name, record in cells.items():
        note = (
            record.get("reason") or record.get("job_log") or record.get("log") or record.get("scores") or ""
        )
        rows.append(
            (
                name,
                str(record.get("status") or ""),
                str(record.get("stage") or ""),
                str(record.get("job_id") or ""),
                str(record.get("scheduler_state") or ""),
                str(note)[:160],
            )
        )
    widths = [max(len(row[index]) for row in rows) for index in range(5)]
    print(f"{output}/sweep.json")
    for row in rows:
        print(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)) + "  " + row[5]
        )


def _state_for(output: Path) -> tuple[SweepState, SweepSettings]:
    """sweep.json of an existing sweep folder, with settings rebuilt from it (for --status, --cancel)."""
    from studies.sweep import STATE_FILE, read_state_file

    path = output.resolve() / STATE_FILE
    if not path.is_file():
        raise SweepError(f"{path}: no sweep here (no sweep.json)")
    raw = read_state_file(path)
    records = raw["cells"]
    settings = SweepSettings(
        output=output.resolve(),
        paradigms=tuple(dict.fromkeys(record["paradigm"] for record in records.values())),
        ratios=tuple(dict.fromkeys(record["ratio"] for record in records.values())),
        **raw["settings"],
    )
    state = SweepState(settings)
    return state, settings


def status_main(output: Path) -> int:
    """`fairreason sweep --status DIR`: poll the scheduler into sweep.json and print the cells; submits
    nothing."""
    state, settings = _state_for(output)
    if (state.launcher or {}).get("kind") == "slurm":
        poll(state, settings)
    print_status(state, settings.output)
    return 0


def cancel_main(output: Path) -> int:
    """`fairreason sweep --cancel DIR`: cancel every live job this sweep submitted; cells become
    "cancelled"."""
    state, settings = _state_for(output)
    if (state.launcher or {}).get("kind") != "slurm":
        print(
            f"{state.path}: no cluster jobs were submitted (local sweeps stop with Ctrl-C)", file=sys.stderr
        )
        return 0
    live = poll(state, settings)
    ids = {name: str(state.cells[name]["job_id"]) for name in live}
    if ids and state.launcher.get("cluster") == "slurm":
        subprocess.run(["scancel", *ids.values()], check=True)
    elif ids:  # submitit's local executor: its controller stops the job's tasks on SIGINT
        for job_id in ids.values():
            os.kill(int(job_id), 2)
    for cell in settings.cells:
        if cell.name in ids:
            state.update(
                cell, status="cancelled", scheduler_state="CANCELLED", reason="cancelled by --cancel"
            )
    cancelled = ", ".join(f"{name}={job}" for name, job in ids.items()) or "none live"
    print(f"cancelled {len(ids)} job(s): {cancelled}")
    print_status(state, settings.output)
    return 0

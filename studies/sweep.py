"""`fairreason sweep`: train and score a paradigm x debias-ratio grid, resumably, then rank it.

Every cell runs `fairreason train` and then `fairreason score` in subprocesses of their own (a
crash, an out-of-memory kill or a Ctrl-C hits one cell, is detected by its exit status, and
leaves a log behind). Layout under the output folder:

    sweep.json                   state of every cell, rewritten atomically after each event
    cells/<paradigm>_r<ratio>/   checkpoint/ (the trained model), scores/ (lm-eval output and
                                 scores.json), train.log, score.log
    leaderboard.md/.csv/.html, frontier.png   over all finished cells

A cell counts as finished only when sweep.json says "done" and its scores.json exists. A rerun
skips finished cells, retrains a cell whose training never completed (resuming from its newest
complete `checkpoint-*`; a half-written one, without `trainer_state.json`, is removed first and
never reused), rescores a trained cell whose scoring never completed, and retries failed cells.

Processes: each command runs under `studies.cell_process` (dies with the sweep, takes its
process group with it) while the sweep holds the cell's lock, so two sweeps on one folder never
train one cell twice. `--launcher slurm` sends the cells to a cluster instead
(`studies.launchers`); the command line is `studies.sweep_cli`. sweep.json stays the one record,
written under a lock by the submitting command and by the jobs alike.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairreason_tasks.runrecord import FairreasonError, utc_timestamp, write_json_atomically
from studies.cell_process import CellBusy, CellLock, start_supervised

STATE_FILE = "sweep.json"
STATE_SCHEMA = "fairreason.sweep/1"
# Settings that change what a cell produces: a rerun into the same folder must repeat them.
PINNED_SETTINGS = ("recipe", "budget", "data_dir", "limit", "train_args", "score_args", "model_args")
# Flags of `fairreason score` that the sweep sets itself, per cell.
RESERVED_SCORE_FLAGS = ("--model_args", "--output", "--model-name", "--data-dir", "--limit")
LOG_TAIL_LINES = 3
LOG_LINE_CHARS = 300  # progress bars write very long lines


class SweepError(FairreasonError, RuntimeError):
    """A sweep that cannot start or continue; the message says which setting or file."""


@dataclass(frozen=True)
class Cell:
    paradigm: str
    ratio: float

    @property
    def name(self) -> str:
        """`sft_r0.20`; a ratio two decimals cannot hold keeps all its digits (`sft_r0.101`), so distinct
        ratios never share a cell."""
        short = f"{self.ratio:.2f}"
        return f"{self.paradigm}_r{short if float(short) == self.ratio else repr(self.ratio)}"


@dataclass(frozen=True)
class SweepSettings:
    output: Path
    paradigms: tuple[str, ...]
    ratios: tuple[float, ...]
    recipe: str
    budget: int
    data_dir: str | None = None
    limit: float | None = None
    train_args: str = ""
    score_args: str = ""
    model_args: str = ""
    baseline: str | None = None
    min_retention: float | None = None
    # a command prefix that starts `-m fairreason_tasks.cli train ...` on several GPUs, e.g.
    # "accelerate launch --config_file trainers/scale_out/zero3.yaml"; $VARS are expanded in the job
    train_launcher: str = ""
    retry_failed: bool = False  # --launcher slurm: resubmit failed, timed-out and cancelled cells

    @property
    def cells(self) -> list[Cell]:
        return [Cell(paradigm, ratio) for paradigm in self.paradigms for ratio in self.ratios]

    def pinned(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in PINNED_SETTINGS}


# ---- commands -----------------------------------------------------------------------------------


def _fairreason() -> list[str]:
    """The `fairreason` command of this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-m", "fairreason_tasks.cli"]


def train_command(settings: SweepSettings, cell: Cell, checkpoint: Path) -> list[str]:
    start = (
        [*shlex.split(settings.train_launcher), "-m", "fairreason_tasks.cli"]
        if settings.train_launcher
        else _fairreason()
    )
    command = [
        *start,
        "train",
        cell.paradigm,
        "--recipe",
        settings.recipe,
        "--debias-ratio",
        repr(cell.ratio),
        "--budget",
        str(settings.budget),
        "--output",
        str(checkpoint),
    ]
    if settings.data_dir:
        command += ["--data-dir", settings.data_dir]
    return command + shlex.split(settings.train_args)


def score_command(settings: SweepSettings, cell: Cell, checkpoint: Path, scores: Path) -> list[str]:
    model_args = ",".join(part for part in (f"pretrained={checkpoint}", settings.model_args) if part)
    command = [
        *_fairreason(),
        "score",
        "--model_args",
        model_args,
        "--output",
        str(scores),
        "--model-name",
        cell.name,
    ]
    if settings.data_dir:
        command += ["--data-dir", settings.data_dir]
    if settings.limit is not None:
        command += ["--limit", repr(settings.limit)]
    return command + shlex.split(settings.score_args)


@dataclass(frozen=True)
class CellCommands:
    """The two command lines of a cell, fixed when the cell is started or submitted."""

    train: list[str]
    score: list[str]


def cell_commands(settings: SweepSettings, cell: Cell) -> CellCommands:
    folder = cell_dir(settings, cell)
    return CellCommands(
        train_command(settings, cell, folder / "checkpoint"),
        score_command(settings, cell, folder / "checkpoint", folder / "scores"),
    )


# ---- state --------------------------------------------------------------------------------------


def read_state_file(path: Path) -> dict[str, Any]:
    """sweep.json as a dict; a file that is not one is an error naming it."""
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        previous["settings"], previous["cells"]  # noqa: B018 (both must be there)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise SweepError(f"{path}: not a sweep state file ({error}); choose another --output") from error
    return previous


def _user_file_mode() -> int:
    """0666 less the process umask (what `open()` gives a new file), read without changing it."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return 0o666 & ~int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


class SweepState:
    """sweep.json: settings and one record per cell, rewritten atomically after every change.

    The submitting command and cluster jobs write it concurrently: every write re-reads the file
    under an exclusive lock (`sweep.json.lock`) and changes only the records it was asked to.
    """

    def __init__(self, settings: SweepSettings) -> None:
        self.path = settings.output / STATE_FILE
        self.settings = settings
        self.cells: dict[str, dict[str, Any]] = {}
        self.launcher: dict[str, Any] | None = None
        if self.path.is_file():
            self._load_previous()

    def _load_previous(self) -> None:
        previous = read_state_file(self.path)
        pinned, cells = previous["settings"], previous["cells"]
        self.launcher = previous.get("launcher")
        for key, value in self.settings.pinned().items():
            if pinned.get(key) != value:
                raise SweepError(
                    f"{self.path} was written with {key}={pinned.get(key)!r}, this run asks for {value!r}: "
                    "finished cells would not match; rerun with the same settings or another --output"
                )
        self.cells = dict(cells)

    def record(self, cell: Cell) -> dict[str, Any]:
        return self.cells.setdefault(
            cell.name, {"paradigm": cell.paradigm, "ratio": cell.ratio, "status": "pending"}
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(STATE_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            on_disk = read_state_file(self.path) if self.path.is_file() else {}
            self.cells.update(on_disk.get("cells") or {})
            self.launcher = self.launcher or on_disk.get("launcher")
            yield
            payload = {
                "schema": STATE_SCHEMA,
                "updated_utc": utc_timestamp(),
                "settings": self.settings.pinned(),
                "cells": self.cells,
                **({"launcher": self.launcher} if self.launcher else {}),
            }
            write_json_atomically(self.path, payload)
            os.chmod(self.path, _user_file_mode())

    def update(self, cell: Cell, **fields: Any) -> None:
        """Change fields of one cell's record (other records are re-read, never overwritten)."""
        with self._locked():
            self.record(cell).update(fields)

    def save(self) -> None:
        """Write records this process created that the file does not hold yet."""
        mine, self.cells = self.cells, {}
        with self._locked():
            for name, record in mine.items():
                self.cells.setdefault(name, record)

    def refresh(self) -> None:
        """Re-read what jobs wrote since."""
        if self.path.is_file():
            self.cells = dict(read_state_file(self.path)["cells"])


# ---- running one cell ---------------------------------------------------------------------------


class _Interrupted(Exception):
    pass


def _run_logged(command: list[str], log: Path, lock: CellLock | None = None) -> int:
    """Run `command` (supervised, holding `lock`) with its output into `log`; Ctrl-C stops it and is
    re-raised."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as stream:
        stream.write("$ " + shlex.join(command) + "\n")
        stream.flush()
        process = start_supervised(command, stream, lock)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.terminate()  # the supervisor stops the command's whole process group
                process.wait()
            raise _Interrupted from None


def _failure_reason(stage: str, returncode: int, log: Path) -> str:
    if returncode < 0:
        how = f"killed by signal {signal.Signals(-returncode).name}"
    else:
        how = f"exit status {returncode}"
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    tail = " | ".join(line.strip()[-LOG_LINE_CHARS:] for line in lines[-LOG_TAIL_LINES:])
    return f"{stage} failed ({how}): {tail}"


def cell_dir(settings: SweepSettings, cell: Cell) -> Path:
    return settings.output / "cells" / cell.name


def is_finished(state: SweepState, settings: SweepSettings, cell: Cell) -> bool:
    record = state.cells.get(cell.name, {})
    return record.get("status") == "done" and (cell_dir(settings, cell) / "scores" / "scores.json").is_file()


def prepare_resume(checkpoint: Path) -> str | None:
    """Before (re)training: drop half-written `checkpoint-*` folders (no trainer_state.json, the file
    the Trainer writes last) and the final-model marker; return the newest complete one, which the
    trainer resumes from."""
    complete = []
    for folder in checkpoint.glob("checkpoint-*"):
        if (folder / "trainer_state.json").is_file():
            complete.append(folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    (checkpoint / "config.json").unlink(missing_ok=True)  # success is judged by a fresh final save
    steps = {
        int(folder.name[len("checkpoint-") :]): folder
        for folder in complete
        if folder.name[len("checkpoint-") :].isdigit()
    }
    return str(steps[max(steps)]) if steps else None


def run_cell(
    state: SweepState,
    settings: SweepSettings,
    cell: Cell,
    *,
    lock: CellLock | None = None,
    commands: CellCommands | None = None,
) -> bool:
    """Train (unless a completed training is recorded) and score one cell; True when it finished."""
    folder = cell_dir(settings, cell)
    checkpoint, scores = folder / "checkpoint", folder / "scores"
    commands = commands or cell_commands(settings, cell)
    trained = state.record(cell).get("trained") and (checkpoint / "config.json").is_file()
    if not trained:
        resumed = prepare_resume(checkpoint)
        state.update(
            cell,
            status="running",
            stage="train",
            trained=False,
            started_utc=utc_timestamp(),
            reason=None,
            log=str(folder / "train.log"),
            resumed_from=resumed,
        )
        started = time.monotonic()
        train = [os.path.expandvars(part) for part in commands.train]  # $SLURM_* of a launcher prefix
        returncode = _run_logged(train, folder / "train.log", lock)
        if returncode != 0 or not (checkpoint / "config.json").is_file():
            why = _failure_reason("training", returncode, folder / "train.log")
            state.update(cell, status="failed", reason=why if returncode else f"no checkpoint written; {why}")
            return False
        state.update(cell, trained=True, train_seconds=round(time.monotonic() - started, 1))
    shutil.rmtree(scores, ignore_errors=True)
    state.update(cell, status="running", stage="score", log=str(folder / "score.log"), reason=None)
    started = time.monotonic()
    returncode = _run_logged(commands.score, folder / "score.log", lock)
    if returncode != 0 or not (scores / "scores.json").is_file():
        why = _failure_reason("scoring", returncode, folder / "score.log")
        state.update(cell, status="failed", reason=why if returncode else f"no scores.json written; {why}")
        return False
    state.update(
        cell,
        status="done",
        stage=None,
        score_seconds=round(time.monotonic() - started, 1),
        scores=str(scores / "scores.json"),
        finished_utc=utc_timestamp(),
        log=None,
    )
    return True


# ---- the sweep ----------------------------------------------------------------------------------


def _progress(state: SweepState, settings: SweepSettings, message: str) -> None:
    records = [state.cells.get(cell.name, {}) for cell in settings.cells]
    counts = {
        status: sum(record.get("status") == status for record in records)
        for status in ("done", "running", "failed")
    }
    print(
        f"[sweep {counts['done']}/{len(records)} done, {counts['running']} running, "
        f"{counts['failed']} failed] {message}",
        flush=True,
    )


def baseline_name(settings: SweepSettings, finished: list[Cell]) -> str | None:
    """--baseline, else the lowest-ratio finished cell of the first paradigm (ratio 0 when swept)."""
    if settings.baseline:
        return settings.baseline
    for paradigm in settings.paradigms:
        candidates = sorted(
            (cell for cell in finished if cell.paradigm == paradigm), key=lambda cell: cell.ratio
        )
        if candidates:
            return candidates[0].name
    return None


def write_sweep_leaderboard(settings: SweepSettings, finished: list[Cell]) -> int:
    """H4's `fairreason leaderboard` over the finished cells' scores.json, written into the sweep folder."""
    from leaderboards.cli import leaderboard_main

    argv = [str(cell_dir(settings, cell) / "scores" / "scores.json") for cell in finished]
    argv += ["--baseline", str(baseline_name(settings, finished)), "--output", str(settings.output)]
    if settings.min_retention is not None:
        argv += ["--min-retention", str(settings.min_retention)]
    return leaderboard_main(argv)


def open_state(settings: SweepSettings) -> SweepState:
    """sweep.json with a record for every cell of the grid (created, or checked against the settings)."""
    settings.output.mkdir(parents=True, exist_ok=True)
    state = SweepState(settings)
    for cell in settings.cells:
        state.record(cell)
    state.save()
    return state


def run_sweep(settings: SweepSettings) -> int:
    """Run every unfinished cell here, one after another; 0 when all finished, 1 when any did not,
    130 on Ctrl-C."""
    state = open_state(settings)
    for cell in settings.cells:
        if is_finished(state, settings, cell):
            _progress(state, settings, f"{cell.name}: finished earlier, skipped")
            continue
        record = state.cells[cell.name]
        if record.get("job_id") and record.get("status") in ("submitted", "running"):
            _progress(
                state,
                settings,
                f"{cell.name}: skipped: cluster job {record['job_id']} has it "
                f"(fairreason sweep --status {settings.output})",
            )
            continue
        try:
            lock = CellLock(cell_dir(settings, cell)).acquire()
        except CellBusy as error:
            _progress(state, settings, f"{cell.name}: skipped: {error}")
            continue
        try:
            previous = record.get("status")
            redo = {"running": " (cut off earlier: redone)", "failed": " (failed earlier: retried)"}.get(
                previous, ""
            )
            state.update(cell, status="running", launcher="local", job_id=None)
            _progress(state, settings, f"{cell.name}: training and scoring{redo}")
            try:
                finished = run_cell(state, settings, cell, lock=lock)
            except _Interrupted:
                state.update(cell, status="running", reason="interrupted")
                _progress(state, settings, f"{cell.name}: interrupted; rerun the same command to resume")
                return 130
        finally:
            lock.release()
        record = state.cells[cell.name]
        if finished:
            _progress(
                state,
                settings,
                f"{cell.name}: done ({record.get('train_seconds', 0)} s train, "
                f"{record['score_seconds']} s score)",
            )
        else:
            _progress(state, settings, f"{cell.name}: FAILED: {record['reason']} (log: {record['log']})")
    return finish(state, settings)


def finish(state: SweepState, settings: SweepSettings) -> int:
    """The leaderboard over every finished cell; 0 when all cells finished, else 1 with the reason."""
    state.refresh()
    finished_cells = [cell for cell in settings.cells if is_finished(state, settings, cell)]
    failed = [cell.name for cell in settings.cells if state.cells[cell.name].get("status") == "failed"]
    waiting = [cell.name for cell in settings.cells if cell not in finished_cells and cell.name not in failed]
    if finished_cells:
        try:
            built = write_sweep_leaderboard(settings, finished_cells) == 0
        except (ValueError, OSError) as error:  # a results file the leaderboard cannot read
            print(f"fairreason sweep: {error}", file=sys.stderr)
            built = False
        if not built:
            print(
                f"fairreason sweep: the leaderboard could not be built in {settings.output}", file=sys.stderr
            )
            return 1
    if failed:
        print(
            f"fairreason sweep: {len(failed)} cell(s) failed: {', '.join(failed)}; see {state.path}",
            file=sys.stderr,
        )
    if waiting:
        print(
            f"fairreason sweep: {len(waiting)} cell(s) not finished yet: {', '.join(waiting)}; "
            f"fairreason sweep --status {settings.output}",
            file=sys.stderr,
        )
    return 1 if failed or waiting else 0

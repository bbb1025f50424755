"""A stand-in for SLURM's sbatch, sacct, squeue, scancel and srun, for tests on a machine without one.

Each command is a small shell script on PATH (written by the test) that runs
`python fake_slurm.py <command> ARGS`. State lives in `$FAKE_SLURM_DIR/jobs.json`. `sbatch`
keeps a copy of every script and its arguments (`calls.jsonl`), prints "Submitted batch job N"
and starts a detached runner that executes the array tasks one after another with the
environment SLURM gives them (unless `$FAKE_SLURM_HOLD` is set: the jobs then stay PENDING).
`sacct -o JobID,State,NodeList --parsable2 -j N` reports states as submitit reads them;
`scancel` marks jobs CANCELLED and kills their process groups; `srun` runs its command with
`--output`/`--error` patterns expanded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

STATE = Path(os.environ.get("FAKE_SLURM_DIR", "."))


@contextlib.contextmanager
def jobs():
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "jobs.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = STATE / "jobs.json"
        table = json.loads(path.read_text()) if path.is_file() else {"next": 1000, "tasks": {}}
        yield table
        path.write_text(json.dumps(table, indent=1))


def sbatch(args: list[str]) -> int:
    script = Path(args[-1])
    text = script.read_text()
    array = re.search(r"^#SBATCH --array=(\d+)-(\d+)", text, re.M)
    with jobs() as table:
        job = table["next"]
        table["next"] += 1
        indices = range(int(array.group(1)), int(array.group(2)) + 1) if array else [None]
        for index in indices:
            task = f"{job}_{index}" if index is not None else str(job)
            table["tasks"][task] = {"state": "PENDING", "pgid": None, "job": job, "index": index}
    shutil.copy(script, STATE / f"script_{job}.sh")
    with open(STATE / "calls.jsonl", "a") as calls:
        calls.write(json.dumps({"job": job, "args": args}) + "\n")
    if not os.environ.get("FAKE_SLURM_HOLD"):
        subprocess.Popen(
            [sys.executable, __file__, "run", str(job)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    print(f"Submitted batch job {job}")
    return 0


def run(job: str) -> int:
    """Run the array tasks of `job` one after another, as SLURM would on one node."""
    with jobs() as table:
        tasks = sorted(
            (name for name, task in table["tasks"].items() if str(task["job"]) == job),
            key=lambda name: int(name.partition("_")[2] or 0),
        )
    for name in tasks:
        with jobs() as table:
            task = table["tasks"][name]
            if task["state"] != "PENDING":
                continue
            env = {
                **os.environ,
                "SLURM_JOB_ID": name.replace("_", "0"),
                "SLURM_JOB_NUM_NODES": "1",
                "SLURM_NTASKS": "1",
                "SLURM_PROCID": "0",
                "SLURM_NODEID": "0",
                "SLURM_LOCALID": "0",
                "SLURM_JOB_NODELIST": "localhost",
            }
            if task["index"] is not None:
                env.update(SLURM_ARRAY_JOB_ID=job, SLURM_ARRAY_TASK_ID=str(task["index"]))
            process = subprocess.Popen(
                ["bash", str(STATE / f"script_{job}.sh")], env=env, start_new_session=True
            )
            task.update(state="RUNNING", pgid=process.pid)
        returncode = process.wait()
        with jobs() as table:
            task = table["tasks"][name]
            if task["state"] == "RUNNING":
                task["state"] = "COMPLETED" if returncode == 0 else "FAILED"
    return 0


def sacct(args: list[str]) -> int:
    wanted = {args[index + 1] for index, arg in enumerate(args) if arg == "-j"}
    with jobs() as table:
        rows = [(name, task["state"]) for name, task in table["tasks"].items() if str(task["job"]) in wanted]
    print("JobID|State|NodeList")
    for name, state in rows:
        print(f"{name}|{state}|localhost")
    return 0


def squeue(args: list[str]) -> int:
    with jobs() as table:
        for name, task in table["tasks"].items():
            if task["state"] in ("PENDING", "RUNNING"):
                print(f"{name} {task['state']}")
    return 0


def scancel(args: list[str]) -> int:
    with open(STATE / "scancel.jsonl", "a") as calls:
        calls.write(json.dumps(args) + "\n")
    with jobs() as table:
        for wanted in args:
            for name, task in table["tasks"].items():
                if name == wanted or str(task["job"]) == wanted:
                    if task["state"] in ("PENDING", "RUNNING"):
                        if task["pgid"]:
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(task["pgid"], signal.SIGTERM)
                        task["state"] = "CANCELLED"
    return 0


def srun(args: list[str]) -> int:
    options: dict[str, str] = {}
    while args and args[0].startswith("--"):
        flag = args.pop(0)
        if flag in ("--output", "--error"):
            options[flag] = args.pop(0)
    fill = {
        "%A": os.environ.get("SLURM_ARRAY_JOB_ID", ""),
        "%a": os.environ.get("SLURM_ARRAY_TASK_ID", ""),
        "%j": os.environ.get("SLURM_JOB_ID", ""),
        "%t": "0",
    }
    streams = {}
    for flag, pattern in options.items():
        for key, value in fill.items():
            pattern = pattern.replace(key, value)
        Path(pattern).parent.mkdir(parents=True, exist_ok=True)
        streams[flag] = open(pattern, "a")
    out = streams.get("--output")
    return subprocess.call(args, stdout=out, stderr=streams.get("--error", out))


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    sys.exit(
        {
            "sbatch": sbatch,
            "run": lambda args: run(args[0]),
            "sacct": sacct,
            "squeue": squeue,
            "scancel": scancel,
            "srun": srun,
        }[command](rest)
    )

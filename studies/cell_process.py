"""One sweep cell's processes: a lock per cell, and a supervisor that takes the trainer down with the sweep.

`fairreason sweep` starts each `fairreason train` / `fairreason score` through a small
supervisor (`python -m studies.cell_process -- COMMAND`):

- the supervisor gets the kernel's parent-death signal (PR_SET_PDEATHSIG), so a sweep killed
  even with SIGKILL takes it down; it then stops the whole process group of the command
  (accelerate workers, data loader workers) with SIGTERM, and SIGKILL after a grace period;
- the command runs in a process group of its own, so Ctrl-C reaches it once, through the
  supervisor, and the group can be signalled as a whole;
- the cell lock (an exclusive `flock` on `cells/<name>/.lock`) is passed to the supervisor, so it
  stays held until the last process of the cell is gone: a second sweep on the same folder
  cannot start a second trainer on the same checkpoint.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

LOCK_FILE = ".lock"
GRACE_SECONDS = 20.0  # SIGTERM to SIGKILL: time for a trainer to stop its workers
_PR_SET_PDEATHSIG = 1


class CellBusy(RuntimeError):
    """Another process holds the cell's lock (a second sweep, or a job still running)."""


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux; no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return


class CellLock:
    """An exclusive, non-blocking `flock` on `<cell folder>/.lock`, released when every holder exits."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> CellLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise CellBusy(
                f"{self.path.parent.name} is in use by another process (pid {holder}; lock "
                f"{self.path}); wait for it or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> CellLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def start_supervised(command: list[str], log_stream, lock: CellLock | None = None) -> subprocess.Popen:
    """Start `command` under the supervisor, output into `log_stream`; the lock travels with it."""
    parent = os.getpid()
    supervisor = [sys.executable, "-m", "studies.cell_process", str(parent), "--", *command]
    return subprocess.Popen(
        supervisor,
        stdout=log_stream,
        stderr=subprocess.STDOUT,
        pass_fds=(lock.fd,) if lock and lock.fd is not None else (),
        preexec_fn=die_with_parent,
    )


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def supervise(parent: int, command: list[str]) -> int:
    """Run `command` in its own process group until it exits, or stop the group when told to.

    The handlers only signal the group and note a deadline; the main loop polls the child (waiting
    on the child inside a handler would deadlock on the lock `Popen.wait` holds)."""
    if os.getppid() != parent:  # the sweep died before the parent-death signal was armed
        return 143
    child = subprocess.Popen(
        command, start_new_session=True, preexec_fn=lambda: die_with_parent(signal.SIGKILL)
    )
    stop: dict[str, float | int | None] = {"signal": None, "deadline": None, "interrupted": 0}

    def on_interrupt(signum: int, frame: object) -> None:
        if not stop["interrupted"]:  # Ctrl-C reaches both the sweep and us: forward it once
            stop["interrupted"] = 1
            _signal_group(child.pid, signal.SIGINT)

    def on_terminate(signum: int, frame: object) -> None:
        if stop["signal"] is None:
            stop.update(signal=signum, deadline=time.monotonic() + GRACE_SECONDS)
            _signal_group(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, on_interrupt)
    for name in ("SIGTERM", "SIGHUP", "SIGUSR2"):
        signal.signal(getattr(signal, name), on_terminate)
    while (returncode := child.poll()) is None:
        if stop["deadline"] is not None and time.monotonic() > stop["deadline"]:
            _signal_group(child.pid, signal.SIGKILL)
            stop["deadline"] = None
        time.sleep(0.1)
    _signal_group(child.pid, signal.SIGKILL)  # stragglers the command left behind
    if stop["signal"] is not None:
        return 128 + int(stop["signal"])
    if returncode < 0:  # report the child's death by signal as our own, for the sweep's message
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
            signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    return returncode


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m studies.cell_process PARENT_PID -- COMMAND...", file=sys.stderr)
        return 2
    print(f"[cell_process] pid {os.getpid()} runs: {shlex.join(argv[2:])}", flush=True)
    return supervise(int(argv[0]), argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

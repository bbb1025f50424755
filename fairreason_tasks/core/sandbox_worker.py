"""The process that runs model-written code, and the plain-data codec both sides of the sandbox share.

`fairreason_tasks.core.code_exec` runs `zygote` (a fork server in a user namespace) when the
kernel offers namespaces; each sandbox is a fork of it that enters fresh namespaces (`_spawned`)
and calls `main`. Without namespaces (weak sandbox) `main` runs in a plain `python -I -S`. `main`
reads one request (marshal, length-prefixed) from its stdin, then, before any model code runs:
  1. (contained) hides the caller's home folder (all but Python's own folders in it), gives it a
     /dev of its own (null, zero, full, random, urandom), makes every mount read-only and
     no-suid, mounts private tmpfs on /tmp and
     /dev/shm, works in /tmp/work, and forks: this process stays as the namespace's PID 1 (when it
     exits the kernel kills everything left in the namespace) and reports how the child ended;
  2. sets resource limits (CPU, address space, file size, no core dumps, one process);
  3. drops every capability and sets no_new_privs;
  4. installs a seccomp filter (x86_64, aarch64): no new processes or threads, no exec, no
     signals to other processes, no tracing, no mounts or namespaces, no sockets (socketpair
     only), no io_uring, bpf, keyrings or perf events.
Then it runs the code. In "function" mode it answers calls of one function (requests: `marshal`
data, length-prefixed), one JSON line per call, with the result encoded by `encode` (plain data
only); in "program" mode it runs the code as `__main__` and says when it finished. Nothing it
says is trusted: the parent decodes it as untrusted data and decides.
"""

from __future__ import annotations

import marshal
import os
import resource
import struct
import sys
from _json import encode_basestring_ascii as _quoted

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing here (start-up time)
if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = 100  # nesting of returned data
MAX_ITEMS = 1_000_000  # items drawn from a returned iterator

# ---- plain data, sandbox to parent ----------------------------------------------------------------
# The parent sends requests with `marshal` (it trusts itself); replies are JSON, written here
# without the `json` package (its import doubles this process's start-up time) and read by the
# parent with `decode`, which trusts nothing.


def encode(value: object, depth: int = 0) -> str:
    """JSON text for plain data (None, bool, int, float, str, bytes, complex, list, tuple, dict,
    set, frozenset; an iterator as the list of its items); TypeError for anything else."""
    if depth > MAX_DEPTH:
        raise TypeError("data nested too deeply")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(int(value))
    if isinstance(value, float):
        return f'{{"f":"{float.__repr__(float(value))}"}}'
    if isinstance(value, str):
        return _quoted(str.__str__(value))
    if isinstance(value, (bytes, bytearray)):
        return f'{{"b":"{bytes(value).hex()}"}}'
    if isinstance(value, complex):
        return f'{{"c":["{float.__repr__(value.real)}","{float.__repr__(value.imag)}"]}}'
    if isinstance(value, list):
        return _array(value, depth)
    if isinstance(value, dict):
        pairs = ",".join(
            f"[{encode(key, depth + 1)},{encode(item, depth + 1)}]" for key, item in value.items()
        )
        return f'{{"d":[{pairs}]}}'
    for kind, tag in ((tuple, "t"), (set, "s"), (frozenset, "z")):
        if isinstance(value, kind):
            return f'{{"{tag}":{_array(value, depth)}}}'
    if hasattr(type(value), "__next__") or isinstance(value, range):
        items: list[object] = []
        # type(value) has __next__, which mypy cannot narrow on; collections.abc.Iterator would
        # also demand __iter__ (another error message) and cost an import in every sandbox
        for item in value:  # type: ignore[attr-defined]
            if len(items) == MAX_ITEMS:
                raise TypeError(f"an iterator of more than {MAX_ITEMS} items")
            items.append(item)
        return f'{{"i":{_array(items, depth)}}}'
    raise TypeError(f"{type(value).__name__} is not plain data")


def _array(items, depth: int) -> str:
    return "[" + ",".join(encode(item, depth + 1) for item in items) + "]"


# ---- containment (runs before any model code) ------------------------------------------------------

_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID = 0x1, 0x2
_MS_NOSUID, _MS_NODEV = 0x2, 0x4
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture
_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 24, 38, 22
_SECCOMP_MODE_FILTER = 2

# Per architecture: audit arch, the denied system calls, socket's number.
_EPERM, _EACCES, _ENOSYS = 1, 13, 38
_X86_64 = (
    0xC000003E,
    {
        "clone": 56,
        "fork": 57,
        "vfork": 58,
        "execve": 59,
        "kill": 62,
        "ptrace": 101,
        "pivot_root": 155,
        "chroot": 161,
        "mount": 165,
        "umount2": 166,
        "tkill": 200,
        "tgkill": 234,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "unshare": 272,
        "perf_event_open": 298,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "bpf": 321,
        "execveat": 322,
        "userfaultfd": 323,
    },
    41,
)
_AARCH64 = (
    0xC00000B7,
    {
        "umount2": 39,
        "mount": 40,
        "pivot_root": 41,
        "chroot": 51,
        "unshare": 97,
        "ptrace": 117,
        "kill": 129,
        "tkill": 130,
        "tgkill": 131,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "execve": 221,
        "perf_event_open": 241,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "bpf": 280,
        "execveat": 281,
        "userfaultfd": 282,
    },
    198,
)
_COMMON = {
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
}
_CLONE3 = 435  # ENOSYS, so the C library falls back to clone (denied)
_ARCHITECTURES = {"x86_64": _X86_64, "aarch64": _AARCH64}
_MACHINE = os.uname().machine


def _libc():
    import ctypes  # only here: ctypes costs start-up time and program mode may not need it

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _checked(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _contain(scratch_bytes: int, python_folders: list[str]) -> None:
    """Read-only, no-suid mounts everywhere; private tmpfs on /tmp and /dev/shm; cwd /tmp/work.

    Python's own folders that live under /tmp (a virtualenv in a clone there) are bound back,
    read-only, over the private /tmp, so installed packages still import."""
    ctypes, libc = _libc()
    libc.syscall.restype = ctypes.c_long
    _read_only(ctypes, libc, b"/")
    under_tmp = [path for path in python_folders if path.startswith("/tmp/") and os.path.isdir(path)]
    handles = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in under_tmp]  # reachable once covered
    for target in (b"/tmp", b"/dev/shm"):
        options = f"size={scratch_bytes},mode=1777".encode()
        _checked(
            libc.mount(b"tmpfs", target, b"tmpfs", _MS_NOSUID | _MS_NODEV, options), f"tmpfs on {target!r}"
        )
    for path, handle in zip(under_tmp, handles, strict=True):
        os.makedirs(path, exist_ok=True)
        _checked(
            libc.mount(f"/proc/self/fd/{handle}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None),
            f"keeping {path}",
        )
        os.close(handle)
        _read_only(ctypes, libc, path.encode())
    os.mkdir("/tmp/work")
    os.chdir("/tmp/work")


def _read_only(ctypes, libc, path: bytes) -> None:
    """Every mount at and below `path` read-only and no-suid (mount_setattr, recursive)."""
    attributes = struct.pack("QQQQ", _MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID, 0, 0, 0)
    arguments = (_AT_FDCWD, path, _AT_RECURSIVE, attributes, len(attributes))
    _checked(
        libc.syscall(_SYS_MOUNT_SETATTR, *(ctypes.c_long(a) if isinstance(a, int) else a for a in arguments)),
        f"making {path.decode()} read-only",
    )


_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWPID, _CLONE_NEWNET = (
    0x00020000,
    0x04000000,
    0x08000000,
    0x20000000,
    0x40000000,
)
_MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x8, 0x1000, 0x4000, 0x40000
_PR_SET_PDEATHSIG, _SIGKILL = 1, 9
# The standard modules HumanEval-style code imports most (typing alone costs 15 ms to import).
_PRELOADED = (
    "typing",
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "random",
    "string",
    "copy",
    "hashlib",
    "heapq",
    "bisect",
    "fractions",
    "statistics",
)


def zygote(control: int, hidden: str = "", kept: tuple[str, ...] = ()) -> None:
    """Fork server, run once per scoring process inside a user namespace of its own (`unshare
    --user --map-root-user`), so that starting a sandbox costs a fork instead of an interpreter.

    It runs no model code. Requests arrive on the `control` socket: ("spawn", with the request
    pipe, reply pipe and output file as passed descriptors) forks a child that enters fresh
    namespaces (`_spawned`) and answers with its pid; ("release", pid) kills that child, which
    takes its whole sandbox with it, and reaps it (so a pid the parent holds is never reused).
    When the parent's end closes, the fork server exits, and every sandbox dies with it.
    `hidden` (the caller's home) is covered by an empty tmpfs in every sandbox, except the `kept`
    folders inside it that Python needs (its standard library, site-packages)."""
    import socket

    channel = socket.socket(fileno=control)
    _libc()
    for name in _PRELOADED:  # imported once here, inherited by every sandbox (a fork shares nothing back)
        __import__(name)
    while True:
        try:
            message, descriptors, _, _ = socket.recv_fds(channel, 256, 3)
        except OSError:
            return
        if not message:
            return
        operation, argument = marshal.loads(message)
        if operation == "spawn":
            child = os.fork()
            if child == 0:
                channel.close()
                _spawned(descriptors, hidden, kept)
            for descriptor in descriptors:
                os.close(descriptor)
            channel.send(struct.pack("<i", child))
        elif operation == "release":
            try:
                os.kill(argument, _SIGKILL)
                os.waitpid(argument, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _spawned(descriptors: list[int], hidden: str, kept: tuple[str, ...]) -> None:
    """In a fork of the fork server: new mount, PID, network, IPC and UTS namespaces, then `main`.

    This process stays outside the new PID namespace, waits for its init and reports its exit
    status on the reply pipe; both die with their parent (parent-death signal)."""
    for target, descriptor in enumerate(descriptors):  # request pipe, reply pipe, output file
        os.dup2(descriptor, target)
    os.closerange(3, 1 << 16)  # the fork server's socket among them: model code never reaches it
    try:
        ctypes, libc = _libc()
        _checked(libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0), "parent-death signal")
        flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS
        _checked(libc.unshare(flags), "new namespaces")
        init = os.fork()
        if init == 0:
            _checked(libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0), "parent-death signal")
            _checked(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "private mounts")
            _checked(
                libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None),
                "a /proc of its own",
            )
            if hidden:
                _hide(libc, hidden, kept)
            _minimal_dev(libc)
            main()
            os._exit(0)
        _, status = os.waitpid(init, 0)
        code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    except BaseException as error:  # noqa: B036 (report any failure; never return into the server loop)
        os.write(2, f"sandbox setup failed: {error}\n".encode())
        code = 125
    os.write(1, f'{{"ended":{code}}}\n'.encode())
    os._exit(0)


def _hide(libc, hidden: str, kept: tuple[str, ...]) -> None:
    """Cover `hidden` with an empty tmpfs (tokens, keys and caches under a home folder are out of
    reach), then bind the `kept` folders back at their own paths."""
    handles = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path in kept]  # reachable once covered
    _checked(
        libc.mount(b"tmpfs", hidden.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=1m,mode=755"),
        f"hiding {hidden}",
    )
    for path, handle in zip(kept, handles, strict=True):
        os.makedirs(path, exist_ok=True)
        _checked(
            libc.mount(f"/proc/self/fd/{handle}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None),
            f"keeping {path}",
        )
        os.close(handle)


_DEVICES = ("null", "zero", "full", "random", "urandom")


def _minimal_dev(libc) -> None:
    """A /dev of its own holding only the harmless devices: the host's /dev can hold consoles,
    terminals, loop devices and /dev/kvm, which a read-only mount does not make harmless."""
    handles = [
        (name, os.open(f"/dev/{name}", os.O_PATH)) for name in _DEVICES if os.path.exists(f"/dev/{name}")
    ]
    _checked(libc.mount(b"tmpfs", b"/dev", b"tmpfs", _MS_NOSUID, b"size=64k,mode=755"), "a /dev of its own")
    for name, handle in handles:
        os.close(os.open(f"/dev/{name}", os.O_CREAT | os.O_WRONLY, 0o666))
        _checked(
            libc.mount(f"/proc/self/fd/{handle}".encode(), f"/dev/{name}".encode(), None, _MS_BIND, None),
            f"/dev/{name}",
        )
        os.close(handle)
    os.mkdir("/dev/shm")
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"/dev/{name}")


def _stay_as_init() -> None:
    """Fork; the parent waits as the namespace's init and exits with the child's status (128 + signal)."""
    child = os.fork()
    if child == 0:
        return
    os.closerange(3, 1 << 16)  # hold no pipe open: the trusted parent must see the child's end
    _, status = os.waitpid(child, 0)
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def _limit(cpu_s: int, memory_bytes: int, output_bytes: int) -> None:
    for limit, soft, hard in (
        (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
        (resource.RLIMIT_AS, memory_bytes, memory_bytes),
        (resource.RLIMIT_FSIZE, output_bytes, output_bytes),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, 1, 1),
    ):
        try:
            resource.setrlimit(limit, (soft, hard))
        except (ValueError, OSError):  # a hard limit already below ours (RLIMIT_NPROC for some users)
            resource.setrlimit(limit, (min(soft, resource.getrlimit(limit)[1]),) * 2)


def _drop_privileges() -> None:
    """no_new_privs, an empty capability bounding set where allowed, and no capabilities."""
    ctypes, libc = _libc()
    _checked(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    capability = 0
    while libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) == 0 or ctypes.get_errno() == _EPERM:
        capability += 1  # EPERM: not ours to drop (an unprivileged caller); EINVAL: past the last one
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    _checked(libc.capset(header, bytes(24)), "dropping capabilities")


def _seccomp() -> bool:
    """Install the deny-list filter; False on an architecture without a table here."""
    architecture = _ARCHITECTURES.get(_MACHINE)
    if architecture is None:
        return False
    audit_arch, denied, socket_nr = architecture
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, kill, errno = 0x7FFF0000, 0x80000000, 0x00050000
    program = [(ld, 0, 0, 4), (jeq, 1, 0, audit_arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    if _MACHINE == "x86_64":  # the x32 ABI's numbers would slip past the table
        program += [(jge, 0, 1, 0x40000000), (ret, 0, 0, kill)]
    numbers = [(nr, _EPERM) for nr in (*denied.values(), *_COMMON.values())] + [(_CLONE3, _ENOSYS)]
    for nr, error in numbers:
        program += [(jeq, 0, 1, nr), (ret, 0, 0, errno | error)]
    # No socket() at all: a Unix socket could connect to a host daemon's socket file (a read-only
    # mount does not stop that); socketpair() (asyncio's self-pipe) reaches nothing outside.
    program += [(jeq, 0, 1, socket_nr), (ret, 0, 0, errno | _EACCES)]
    program += [(ret, 0, 0, allow)]
    ctypes, libc = _libc()
    filters = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(filters)
    fprog = struct.pack("HxxxxxxP", len(program), ctypes.addressof(buffer))
    _checked(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, fprog, 0, 0), "installing the seccomp filter")
    return True


# ---- serving ---------------------------------------------------------------------------------------


def _say(channel, **fields: str) -> None:
    """One reply line: a JSON object whose values are JSON texts already."""
    channel.write(("{" + ",".join(f'"{key}":{value}' for key, value in fields.items()) + "}\n").encode())
    channel.flush()


def _raised(error: BaseException) -> dict[str, str]:
    sys.__excepthook__(type(error), error, error.__traceback__)  # the traceback, into the captured output
    return {"raised": _quoted(type(error).__name__), "message": _quoted(str(error)[:500])}


def _receive(channel) -> Any:
    """One request: a 4-byte length, then that many bytes of `marshal` data (EOFError at the end);
    the parent sent it, so it is trusted to have the request's shape."""
    header = channel.read(4)
    if len(header) < 4:
        raise EOFError
    return marshal.loads(channel.read(struct.unpack("<I", header)[0]))


def main() -> None:
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    request = _receive(requests)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # input() must not read the protocol
    os.dup2(2, 1)  # the program's prints go to the captured output, not the protocol
    sys.stdout = sys.stderr
    if request["contain"]:
        _contain(request["scratch_bytes"], [*request["site"], *sys.path])
        _stay_as_init()
    _limit(request["cpu_s"], request["memory_bytes"], request["output_bytes"])
    _drop_privileges()
    filtered = _seccomp()
    sys.path.extend(request["site"])  # installed packages stay importable
    if "random" in sys.modules:  # preloaded by the fork server: seed it as a fresh interpreter would
        sys.modules["random"].seed()
    if request["mode"] == "probe":
        _say(replies, ready="true", seccomp="true" if filtered else "false")
        return
    namespace = {
        "__name__": "__main__" if request["mode"] == "program" else "__candidate__",
        "__builtins__": __builtins__,
    }
    try:
        exec(compile(request["source"], "candidate.py", "exec"), namespace)
    except BaseException as error:  # noqa: B036 (SystemExit included: the parent decides)
        _say(replies, **_raised(error))
        return
    if request["mode"] == "program":
        _say(replies, done="true")
        return
    function = namespace.get(request["entry_point"])
    if not callable(function):
        _say(replies, raised='"NameError"', message=_quoted(f"no function named {request['entry_point']!r}"))
        return
    _say(replies, ready="true")
    while True:
        try:
            args, kwargs = _receive(requests)
        except EOFError:
            return
        try:
            value = function(*args, **kwargs)
        except BaseException as error:  # noqa: B036
            _say(replies, **_raised(error))
            continue
        try:
            _say(replies, value=encode(value))
        except (TypeError, RecursionError, ValueError) as error:
            _say(replies, invalid=_quoted(f"returned {str(error)[:200]}"))


if __name__ == "__main__":
    main()

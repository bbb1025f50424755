"""Run the vision tasks through lmms-eval and refuse results that are not there.

lmms-eval 0.7.3 catches evaluation errors, prints them and exits 0, and a task whose scoring
failed can still appear with NaN or missing metrics. Both entry points here check the results
themselves and raise `LmmsRunError` with the reason:
  * `run_lmms(...)`: the Python API (`fairreason score --suite vision` uses it);
  * `run_lmms_cli(argv, output=...)`: the real `lmms-eval` command in a child process, for users
    and for tests that must exercise the CLI; the newest results file under `output` is read.
Data location and judge settings travel as environment variables (lmms-eval has no
`--metadata`): FAIRREASON_DATA_DIR, FAIRREASON_JUDGE, FAIRREASON_JUDGE_BASE_URL,
FAIRREASON_JUDGE_MODEL, FAIRREASON_JUDGE_API_KEY.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fairreason_tasks.core.data import DATA_DIR_ENV
from fairreason_tasks.locate import tasks_path
from fairreason_tasks.runrecord import ScoreError

# The metrics each task must report with a finite value for a run to count.
REQUIRED_METRICS: dict[str, tuple[str, ...]] = {
    "fairreason_vlbiasbench": ("acc", "unparsed_rate", "n_items"),
    "fairreason_mathverse": ("acc", "unparsed_rate", "n_items"),
}
GROUPS = {"fairreason_vision": ("fairreason_vlbiasbench", "fairreason_mathverse")}
# metadata key -> environment variable the task utils read
METADATA_ENV = {
    "data_dir": DATA_DIR_ENV,
    "judge": "FAIRREASON_JUDGE",
    "judge_base_url": "FAIRREASON_JUDGE_BASE_URL",
    "judge_model": "FAIRREASON_JUDGE_MODEL",
    "judge_api_key": "FAIRREASON_JUDGE_API_KEY",
}


class LmmsRunError(ScoreError):
    """lmms-eval ran (or tried to) but produced no usable results; the message says why."""


def expand_tasks(tasks: Sequence[str]) -> list[str]:
    """Leaf task names (groups replaced by their members)."""
    leaves: list[str] = []
    for name in tasks:
        leaves += GROUPS.get(name, (name,))
    return leaves


def check_results(results: Mapping[str, Any] | None, tasks: Sequence[str]) -> None:
    """Raise LmmsRunError unless every requested task reports its required metrics, finite."""
    if not results or not results.get("results"):
        raise LmmsRunError(f"lmms-eval returned no results for {list(tasks)}")
    for task in expand_tasks(tasks):
        reported = results["results"].get(task)
        if reported is None:
            raise LmmsRunError(
                f"lmms-eval reported nothing for task {task} (got {sorted(results['results'])})"
            )
        for metric in REQUIRED_METRICS.get(task, ("acc",)):
            value = reported.get(f"{metric},none")
            if not isinstance(value, int | float) or math.isnan(value):
                raise LmmsRunError(f"{task}: metric {metric} is {value!r}, so its scoring failed")
        if reported.get("n_items,none", 1) == 0:
            raise LmmsRunError(f"{task}: no documents were scored")


def _apply_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    unknown = sorted(set(metadata or {}) - set(METADATA_ENV))
    if unknown:
        raise ValueError(f"unknown metadata keys {unknown}; known: {sorted(METADATA_ENV)}")
    return {METADATA_ENV[key]: str(value) for key, value in (metadata or {}).items() if value is not None}


def _root_cause(error: BaseException) -> BaseException:
    """lmms-eval retries dataset loading with tenacity: report the error inside, not RetryError."""
    seen = error
    while seen.__cause__ is not None:
        seen = seen.__cause__
    last_attempt = getattr(seen, "last_attempt", None)
    if last_attempt is not None and last_attempt.exception() is not None:
        return _root_cause(last_attempt.exception())
    return seen


def run_lmms(
    model: Any,
    model_args: str | dict | None = None,
    *,
    tasks: Sequence[str] = ("fairreason_vision",),
    limit: float | None = None,
    gen_kwargs: str | dict | None = None,
    output: str | Path = "results",
    batch_size: int | str = 1,
    seed: int = 1234,
    metadata: Mapping[str, Any] | None = None,
    log_samples: bool = True,
) -> dict[str, Any]:
    """Evaluate through lmms-eval's Python API; results are saved under `output` and returned.

    `model` is an lmms-eval model name (`qwen2_5_vl`, `vllm`, ...) or an `lmms` instance.
    """
    from lmms_eval import evaluator
    from lmms_eval.loggers import EvaluationTracker
    from lmms_eval.tasks import TaskManager
    from lmms_eval.utils import get_datetime_str

    if isinstance(gen_kwargs, dict):
        gen_kwargs = ",".join(f"{key}={value}" for key, value in gen_kwargs.items())
    previous = {name: os.environ.get(name) for name in METADATA_ENV.values()}
    os.environ.update(_apply_metadata(metadata))
    try:
        task_manager = TaskManager(
            include_path=str(tasks_path("lmms")),
            include_defaults=False,
            model_name=model if isinstance(model, str) else None,
        )
        tracker = EvaluationTracker(output_path=str(output))
        started = get_datetime_str()
        results = evaluator.simple_evaluate(
            model=model,
            model_args=model_args or "",
            tasks=list(tasks),
            limit=limit,
            gen_kwargs=gen_kwargs or "",
            batch_size=batch_size,
            log_samples=log_samples,
            evaluation_tracker=tracker,
            task_manager=task_manager,
            random_seed=seed,
            numpy_random_seed=seed,
            torch_random_seed=seed,
            fewshot_random_seed=seed,
            # In the main thread math-verify can use its signal-based timeouts (no helper process).
            process_docs_parallel=1,
            datetime_str=started,
        )
    except Exception as error:  # lmms-eval wraps task errors; report the one that explains the failure
        cause = _root_cause(error)
        raise LmmsRunError(f"lmms-eval failed: {type(cause).__name__}: {cause}") from error
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if results is None:  # non-zero ranks of a multi-process run
        return {}
    check_results(results, tasks)
    samples = results.pop("samples", None) if log_samples else None
    tracker.save_results_aggregated(results=results, samples=samples, datetime_str=started)
    if samples:
        for task_name in results["configs"]:
            tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    return results


def _task_list(argv: Sequence[str]) -> list[str]:
    for position, argument in enumerate(argv):
        if argument == "--tasks" and position + 1 < len(argv):
            return argv[position + 1].split(",")
        if argument.startswith("--tasks="):
            return argument.split("=", 1)[1].split(",")
    raise ValueError("lmms-eval arguments need --tasks")


def run_lmms_cli(
    argv: Sequence[str],
    *,
    output: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run `python -m lmms_eval ARGV --include_path <tasks> --output_path OUTPUT`; check and return its
    results."""
    output = Path(output)
    command = [
        sys.executable,
        "-m",
        "lmms_eval",
        *argv,
        "--include_path",
        str(tasks_path("lmms")),
        "--output_path",
        str(output),
    ]
    started = time.time()
    completed = subprocess.run(
        command,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log_tail = (completed.stdout + completed.stderr)[-3000:]
    fresh = [path for path in output.rglob("*results*.json") if path.stat().st_mtime >= started - 1]
    if completed.returncode != 0 or not fresh:
        raise LmmsRunError(
            f"lmms-eval exited {completed.returncode} and wrote no results file; its output ends:\n{log_tail}"
        )
    results = json.loads(max(fresh, key=lambda path: path.stat().st_mtime).read_text())
    try:
        check_results(results, _task_list(argv))
    except LmmsRunError as error:
        raise LmmsRunError(f"{error}; lmms-eval output ends:\n{log_tail}") from error
    return results


def lmms_main(argv: list[str]) -> int:
    """`python -m fairreason_tasks.lmms_runner --output DIR <lmms-eval arguments>`: exit 1 with the reason
    on failure."""
    if len(argv) < 2 or argv[0] != "--output":
        print(
            "usage: python -m fairreason_tasks.lmms_runner --output DIR <lmms-eval arguments>",
            file=sys.stderr,
        )
        return 2
    try:
        results = run_lmms_cli(argv[2:], output=argv[1])
    except (LmmsRunError, ValueError) as error:
        print(f"fairreason: {error}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                task: {k: v for k, v in metrics.items() if "_stderr" not in k}
                for task, metrics in results["results"].items()
            },
            indent=1,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(lmms_main(sys.argv[1:]))

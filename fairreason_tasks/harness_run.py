"""`fairreason score`: one command that scores a model on both axes and writes `scores.json`.

A convenience over the harnesses, not a replacement: it runs lm-eval's Python API with
`include_defaults=False` (no 20 s index of the ~14k built-in tasks), lets lm-eval write its usual
results and samples, and adds a compact `scores.json` (shape in docs/internals.md) that the
leaderboards read. Vision suites go through lmms-eval (`fairreason_tasks.lmms_runner`).
"""

from __future__ import annotations

import argparse
import fcntl
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fairreason_tasks.core.bbq import BBQSchemaError
from fairreason_tasks.core.code_exec import OPT_IN_ENV, WeakSandboxRefused, sandbox_isolation
from fairreason_tasks.core.data import DataError
from fairreason_tasks.locate import tasks_path
from fairreason_tasks.preflight import (
    CAPPED_BACKENDS,
    PreflightError,
    check_model_source,
    check_task_names,
    context_length,
    generation_cap,
    require_extra,
)
from fairreason_tasks.runrecord import (
    RunRecordError,
    ScoreError,
    model_display_name,
    package_versions,
    parse_model_args,
    provenance,
    utc_timestamp,
    write_json_atomically,
)

REASONING_TASKS = ["fairreason_math500", "fairreason_aime24", "fairreason_aime25", "fairreason_humaneval"]
SUITES: dict[str, list[str]] = {
    "bias": ["fairreason_bbq"],
    # Chinese-context bias: CBBQ in the published option order (comparable with published numbers)
    # and in the balanced order (letter preference removed); `bias_cbbq` adds BBQ.
    "cbbq": ["fairreason_cbbq", "fairreason_cbbq_balanced"],
    "bias_cbbq": ["fairreason_bbq", "fairreason_cbbq", "fairreason_cbbq_balanced"],
    "reasoning": REASONING_TASKS,
    "text": ["fairreason_bbq", *REASONING_TASKS],
    # The demo's own pair: held-out BBQ templates and the synthetic arithmetic task.
    "demo": ["fairreason_bbq_heldout", "fairreason_demo_arith"],
    "vision": ["fairreason_vlbiasbench", "fairreason_mathverse"],
    # Open-ended answers scored by a reward model (FAIRREASON_REWARD_MODEL names it).
    "open_bias": ["fairreason_open_bias"],
}
DEFAULT_SEED = 1234
CODE_EXECUTION_TASK_PREFIX = "fairreason_humaneval"
# lm-eval's command-line default: its hf backend falls back to the CPU when there is no GPU,
# while device=None makes transformers probe CUDA and fail on a CPU-only machine.
LM_EVAL_DEFAULT_DEVICE = "cuda:0"
LOCK_NAME = ".fairreason-score.lock"


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole run; a second writer is refused.

    Two runs into one folder would interleave lm-eval's files and keep only the last scores.json.
    The lock is an flock on a small file, so it is released by the kernel when a run dies.
    """
    output.mkdir(parents=True, exist_ok=True)
    stream = (output / LOCK_NAME).open("a+")
    try:
        fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        stream.seek(0)
        holder = stream.read().strip() or "another process"
        stream.close()
        raise ScoreError(
            f"{output} is being written by another fairreason score ({holder}); wait for it to "
            "finish or choose another --output"
        ) from None
    try:
        stream.seek(0)
        stream.truncate()
        stream.write(f"pid {os.getpid()}\n")
        stream.flush()
        yield
    finally:
        stream.close()


@contextmanager
def collector_paused_for_startup() -> Iterator[Callable[[], None]]:
    """Run start-up without the cyclic garbage collector; the callable it gives ends start-up.

    Importing torch, transformers, datasets and lm-eval and building the tasks allocates millions of
    objects that live as long as the process; with the collector on, Python walks them again and
    again while they are made, then in each collection of the evaluation and once more at exit,
    though none of them is garbage (about a third of a `--limit 1` run on CPU; issue 13). Calling
    the callable turns the collector back on and moves what exists into the permanent generation
    (`gc.freeze`), so later collections skip it; leaving the block unfreezes it, so that in a process
    that goes on (a sweep calling `score` again) everything is collectable again. Garbage the caller
    left is collected first, so that none of it (a previous run's model) is frozen. A caller that
    turned the collector off or froze objects itself keeps its settings: the block then does nothing.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield lambda: None
        return
    gc.collect()
    gc.disable()
    frozen = False

    def started() -> None:
        nonlocal frozen
        if not frozen:
            gc.freeze()
            frozen = True
            gc.enable()

    try:
        yield started
    finally:
        if frozen:
            gc.unfreeze()
        gc.enable()


def build_scores(
    results: dict,
    *,
    model: str,
    model_args: str | dict | None,
    run: dict[str, Any],
    harness: str,
    model_name: str | None = None,
) -> dict[str, Any]:
    """The `scores.json` payload from a harness results dict."""
    from fairreason_tasks.core.data import verified_checksums
    from fairreason_tasks.summary import headline_axes, task_metrics

    per_task = task_metrics(results)
    return {
        "schema": "fairreason.scores/1",
        "created_utc": utc_timestamp(),
        "model": {
            "name": model_name or model_display_name(model_args, model),
            "harness": harness,
            "backend": model,
            "model_args": model_args if isinstance(model_args, str) else json.dumps(model_args or {}),
        },
        "run": {**run, **provenance(model_args)},
        "versions": package_versions(),
        "data": verified_checksums(),
        "tasks": per_task,
        "axes": headline_axes(per_task),
    }


def _preflight_lm_eval(
    model: str, model_args: str | dict | None, tasks: list[str], metadata: dict[str, Any]
) -> tuple[Any, dict[str, Any], int | None]:
    """Before any folder is made: task names, the model's config, the tasks built (their data read
    and checked). Returns the task manager, lm-eval's loaded tasks and the model's context length."""
    from lm_eval.tasks import TaskManager

    task_manager = TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)
    check_task_names(tasks, task_manager.all_tasks)
    args = parse_model_args(model_args)
    config = check_model_source(args) if model in CAPPED_BACKENDS else None
    loaded = task_manager.load(tasks)
    _import_backend(model, config)
    return task_manager, loaded, context_length(model, args, config)


def _import_backend(model: str, config: Any | None) -> None:
    """Import lm-eval's backend for `model` and, for hf, the transformers class of the model's config.

    `simple_evaluate` imports both anyway, first thing; doing it here puts those imports (about two
    seconds on CPU) inside start-up, where the collector is paused. A warm-up only: whatever fails
    here fails again, with its own message, where lm-eval loads the model, so it is not reported here.
    """
    try:
        from lm_eval.api.registry import get_model

        get_model(model)
        if model == "hf" and config is not None:
            from transformers.models.auto import modeling_auto

            # the two auto classes lm-eval's hf backend chooses from
            for mapping in (
                modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING,
                modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING,
            ):
                if type(config) in mapping:
                    mapping[type(config)]  # imports the module of the model's class
                    break
    except Exception:  # a warm-up: lm-eval reports the real error when it loads the model
        return


def _cap_generation(
    tasks: dict[str, Any], gen_kwargs: str | dict | None, context: int | None
) -> tuple[str | dict | None, dict[str, int]]:
    """Lower every task's max_gen_toks (and one given in --gen_kwargs) to what the context allows.

    lm-eval's hf backend stops with an assertion when max_gen_toks is not below the model's
    context; the tasks ask for 4,096 or more. Returns the gen_kwargs to pass and what was capped
    ({task or "--gen_kwargs": the number asked for}).
    """
    if context is None:
        return gen_kwargs, {}
    from lm_eval.utils import simple_parse_args_string

    cap, capped = generation_cap(context), {}
    for name, task in tasks.items():
        asked = (task.get_config("generation_kwargs") or {}).get("max_gen_toks")
        if task.get_config("output_type") == "generate_until" and asked is not None and int(asked) > cap:
            task.set_config(key="generation_kwargs", value={"max_gen_toks": cap}, update=True)
            capped[name] = int(asked)
    given = simple_parse_args_string(gen_kwargs) if isinstance(gen_kwargs, str) else dict(gen_kwargs or {})
    if "max_gen_toks" in given and int(given["max_gen_toks"]) > cap:
        capped["--gen_kwargs"] = int(given["max_gen_toks"])
        gen_kwargs = {**given, "max_gen_toks": cap}
    if capped:
        asked = ", ".join(f"{name} {number}" for name, number in capped.items())
        print(
            f"fairreason score: the model's context is {context} tokens, so max_gen_toks is capped at {cap} "
            f"({context - cap} left for the prompt; asked: {asked}); set --gen_kwargs max_gen_toks=N "
            "below that to choose",
            file=sys.stderr,
        )
    return gen_kwargs, capped


def _top_level(loaded: dict[str, Any]) -> list[Any]:
    """The groups and tasks that no loaded group contains, as built objects for simple_evaluate."""
    children = {child for kids in loaded["group_map"].values() for child in kids}
    return [group for name, group in loaded["groups"].items() if name not in children] + [
        task for name, task in loaded["tasks"].items() if name not in children
    ]


def _run_lm_eval(
    *,
    model: str,
    model_args: str | dict | None,
    tasks: list[str],
    limit: float | None,
    gen_kwargs: str | dict | None,
    output: Path,
    batch_size: int | str,
    seed: int,
    apply_chat_template: bool,
    confirm_run_unsafe_code: bool,
    metadata: dict[str, Any],
    log_samples: bool,
    device: str | None,
    prepared: tuple[Any, dict[str, Any], int | None],
    run: dict[str, Any],
) -> dict:
    import lm_eval
    from lm_eval.loggers import EvaluationTracker

    task_manager, loaded, context = prepared
    gen_kwargs, capped = _cap_generation(loaded["tasks"], gen_kwargs, context)
    if capped:
        run.update(
            context_length=context, max_gen_toks_capped={"cap": generation_cap(context), "asked": capped}
        )
    tracker = EvaluationTracker(output_path=str(output))
    results = lm_eval.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=_top_level(loaded),  # built in preflight: simple_evaluate takes them as they are
        limit=limit,
        gen_kwargs=gen_kwargs,
        batch_size=batch_size,
        device=device,
        log_samples=log_samples,
        evaluation_tracker=tracker,
        apply_chat_template=apply_chat_template,
        task_manager=task_manager,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        confirm_run_unsafe_code=confirm_run_unsafe_code,
        metadata=metadata,
    )
    if results is None:  # non-zero ranks of a multi-process run
        return {}
    # results_*.json and samples_*.jsonl straight into --output, beside scores.json (lm-eval would
    # add a sub-folder named after the model path, e.g. __tmp__model)
    tracker.general_config_tracker.model_name_sanitized = ""
    samples = results.pop("samples", None) if log_samples else None
    tracker.save_results_aggregated(results=results, samples=samples)
    if samples:
        for task_name in results["configs"]:
            tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    return results


def _executable_tasks(tasks: list[str], confirm_run_unsafe_code: bool) -> tuple[list[str], dict[str, str]]:
    """Leave out code-execution tasks unless confirmed, saying so; the flag is the opt-in.

    The tasks themselves refuse to run without it; a suite run goes on without them, and the
    skip is printed and recorded in scores.json instead of failing the whole run.
    """
    if confirm_run_unsafe_code:
        os.environ[OPT_IN_ENV] = "1"
        try:
            sandbox_isolation()
        except WeakSandboxRefused as refusal:
            reason = f"no safe sandbox here: {refusal}"
        else:
            return tasks, {}
    else:
        reason = "executes model-written code: pass --confirm_run_unsafe_code to include it"
    skipped = {task: reason for task in tasks if task.startswith(CODE_EXECUTION_TASK_PREFIX)}
    for task in skipped:
        print(f"fairreason score: skipping {task}: {reason}", file=sys.stderr)
    return [task for task in tasks if task not in skipped], skipped


def score(
    model: str,
    model_args: str | dict | None = None,
    *,
    suite: str = "text",
    tasks: list[str] | None = None,
    limit: float | None = None,
    gen_kwargs: str | dict | None = None,
    output: str | Path = "results",
    batch_size: int | str = 1,
    seed: int = DEFAULT_SEED,
    apply_chat_template: bool = False,
    confirm_run_unsafe_code: bool = False,
    data_dir: str | None = None,
    model_name: str | None = None,
    log_samples: bool = True,
    device: str | None = LM_EVAL_DEFAULT_DEVICE,
) -> dict[str, Any]:
    """Score `model` on a suite (or explicit tasks) and write `output/scores.json`; returns its payload."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}: choose one of {', '.join(SUITES)}")
    output = Path(output)
    selected, skipped = _executable_tasks(list(tasks or SUITES[suite]), confirm_run_unsafe_code)
    metadata = {"data_dir": data_dir} if data_dir else {}
    run = {
        "suite": suite,
        "tasks": selected,
        "limit": limit,
        "gen_kwargs": gen_kwargs,
        "seed": seed,
        "apply_chat_template": apply_chat_template,
        "skipped_tasks": skipped,
    }
    with collector_paused_for_startup() as started:
        if suite == "vision":
            require_extra(("lmms_eval",), "vision")
            prepared = None
        else:
            prepared = _preflight_lm_eval(model, model_args, selected, metadata)
        started()
        # what both harness runners take; lm-eval's also gets the preflight's work and the run record
        shared = {
            "model": model,
            "model_args": model_args,
            "tasks": selected,
            "limit": limit,
            "gen_kwargs": gen_kwargs,
            "output": output,
            "batch_size": batch_size,
            "seed": seed,
            "metadata": metadata,
            "log_samples": log_samples,
        }
        with output_lock(output):
            if prepared is None:
                from fairreason_tasks.lmms_runner import run_lmms

                results, harness = run_lmms(**shared), "lmms_eval"
            else:
                results = _run_lm_eval(
                    **shared,
                    apply_chat_template=apply_chat_template,
                    confirm_run_unsafe_code=confirm_run_unsafe_code,
                    device=device,
                    prepared=prepared,
                    run=run,
                )
                harness = "lm_eval"
            if not results:
                return {}
            if not results.get("results"):
                raise ScoreError(f"{harness} returned no task results for {selected}")
            payload = build_scores(
                results, model=model, model_args=model_args, run=run, harness=harness, model_name=model_name
            )
            write_json_atomically(output / "scores.json", payload)
        return payload


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairreason score",
        description="Score a model on social bias and reasoning; writes lm-eval results and DIR/scores.json.",
    )
    parser.add_argument(
        "--config", help="an `lm_eval --config` YAML (harness_configs/); flags given here win"
    )
    parser.add_argument("--model", help="harness model type: hf, vllm, qwen2_5_vl, ... (default hf)")
    parser.add_argument("--model_args", help="e.g. pretrained=Qwen/Qwen3-8B,dtype=bfloat16")
    parser.add_argument("--suite", choices=sorted(SUITES), help="default text")
    parser.add_argument("--tasks", help="comma-separated task names, instead of the suite's")
    parser.add_argument("--limit", type=float, help="documents per task (a fraction if < 1)")
    parser.add_argument("--gen_kwargs", help="e.g. temperature=0.6,top_p=0.95,max_gen_toks=32768")
    parser.add_argument("--batch_size", help="default 1; 'auto' for hf")
    parser.add_argument("--device")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--apply_chat_template", action="store_true", default=None)
    parser.add_argument(
        "--confirm_run_unsafe_code",
        action="store_true",
        default=None,
        help="required to execute generated code (HumanEval)",
    )
    parser.add_argument("--data-dir", dest="data_dir", help="offline data folder (else FAIRREASON_DATA_DIR)")
    parser.add_argument("--model-name", dest="model_name", help="name shown on leaderboards")
    parser.add_argument("--no-log-samples", dest="log_samples", action="store_false", default=None)
    parser.add_argument("--output", default=None, help="results folder (default results/)")
    return parser


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Flags over the config file over defaults, as lm-eval itself merges them."""
    settings: dict[str, Any] = {
        "model": "hf",
        "suite": "text",
        "batch_size": 1,
        "seed": DEFAULT_SEED,
        "apply_chat_template": False,
        "confirm_run_unsafe_code": False,
        "log_samples": True,
        "output": "results",
    }
    if args.config:
        from lm_eval.config.evaluate_config import EvaluatorConfig

        config = EvaluatorConfig.load_yaml_config(args.config)
        for key in (
            "model",
            "model_args",
            "limit",
            "gen_kwargs",
            "batch_size",
            "device",
            "apply_chat_template",
            "confirm_run_unsafe_code",
            "log_samples",
        ):
            if config.get(key) is not None:
                settings[key] = config[key]
        if config.get("tasks"):
            tasks = config["tasks"]
            settings["tasks"] = tasks.split(",") if isinstance(tasks, str) else list(tasks)
        if config.get("output_path"):
            settings["output"] = config["output_path"]
        seed = config.get("seed")
        if seed is not None:
            settings["seed"] = int(seed[0] if isinstance(seed, list) else seed)
        settings["data_dir"] = (config.get("metadata") or {}).get("data_dir")
    for key, value in vars(args).items():
        if key != "config" and value is not None:
            settings[key] = value
    if isinstance(settings.get("tasks"), str):
        settings["tasks"] = [name for name in settings["tasks"].split(",") if name]
    if settings.get("limit") is not None and float(settings["limit"]).is_integer():
        settings["limit"] = int(settings["limit"])
    return settings


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def score_main(argv: list[str]) -> int:
    settings = _settings(_parser().parse_args(argv))
    try:
        payload = score(**settings)
    except KeyboardInterrupt:
        print("fairreason score: interrupted; no scores.json was written", file=sys.stderr)
        return 130
    except (ScoreError, PreflightError, RunRecordError) as error:
        print(f"fairreason score: {one_line(error)}", file=sys.stderr)
        return 1
    except (DataError, BBQSchemaError) as error:
        print(
            f"fairreason score: {one_line(error)} (fix the data folder, or point --data-dir / "
            "FAIRREASON_DATA_DIR at one laid out as README's Data section says)",
            file=sys.stderr,
        )
        return 1
    if payload:
        print(json.dumps(payload["axes"], indent=2))
        print(f"wrote {Path(settings['output']) / 'scores.json'}")
    return 0

"""Start-up cost of `fairreason score` against the `lm_eval` command line, on the same task with
`--limit 1` (one document: the run is almost all start-up), and two floors both stand on, each in a
fresh interpreter: importing torch, transformers and lm-eval (the issue's floor; transformers and
lm-eval import lazily, so this leaves out most of what a run loads), and importing what any hf run
through lm-eval must (lm-eval's evaluator and hf backend, datasets, the model's modeling code).

A tiny local model (built here, offline) and the BBQ rows in tests/fixtures keep generation and
data loading negligible. The commands run in rounds, each in a fresh process, interleaved (the order
turns each round, so a slow spell of a shared machine falls on all of them); medians are reported.
Target (issue 13): `fairreason score` within 2 s of the import floor.

After the timings, instrumented runs of `fairreason score` (timed apart, not in the medians) say
where its time goes, phase by phase: what is above the floor and whose code spends it.

    python benchmarks/bench_score_startup.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "bbq"
TASK = "fairreason_bbq_religion"
REPEATS = 5
PHASE_REPEATS = 3
TARGET_OVER_FLOOR_S = 2.0
BARE_FLOOR = "import torch, transformers, lm_eval"
MODEL_FLOOR = (
    BARE_FLOOR + ", lm_eval.evaluator, lm_eval.models.huggingface, datasets; "
    "import transformers.models.qwen3.modeling_qwen3"
)
# The same imports with the cyclic collector paused and the heap frozen, as `fairreason score` does
# at start-up: what no run that loads this model through lm-eval's hf backend can go under.
MODEL_FLOOR_PAUSED = f"import gc; gc.disable(); {MODEL_FLOOR}; gc.freeze(); gc.enable()"
BIN = Path(sys.executable).parent

# Run inside a `fairreason score` process (cli.main, as the console script calls it), timing only:
# each hook notes the wall-clock time when a phase ends; nothing the run does is changed.
PHASE_DRIVER = r"""
import atexit, json, os, sys, time
marks = [("start", time.time())]
atexit.register(lambda: json.dump(marks, open(os.environ["PHASES_OUT"], "w")))

def note(name):
    marks.append((name, time.time()))

def around(owner, attribute, before=None, after=None):
    inner = getattr(owner, attribute, None)
    if inner is None:
        return
    def timed(*args, **kwargs):
        if before:
            note(before)
        try:
            return inner(*args, **kwargs)
        finally:
            if after:
                note(after)
    setattr(owner, attribute, timed)

from fairreason_tasks import cli, harness_run
note("fairreason")
around(harness_run, "check_task_names", before="index")
around(harness_run, "check_model_source", after="config")
around(harness_run, "_import_backend", before="tasks", after="backend")
inner_run = harness_run._run_lm_eval
def run_lm_eval(**kwargs):
    import lm_eval.evaluator as evaluator
    around(evaluator, "evaluate", before="model", after="evaluate")
    around(evaluator, "add_env_info", before="results", after="env")
    return inner_run(**kwargs)
harness_run._run_lm_eval = run_lm_eval
around(harness_run, "build_scores", before="lm_eval_rest")
sys.argv = ["fairreason", *sys.argv[1:]]
code = cli.main()
note("written")
sys.exit(code)
"""
# (mark that ends the phase, what the phase is); "end" is the process's exit as the parent sees it
PHASES = [
    ("start", "interpreter start"),
    ("fairreason", "fairreason's modules imported (numpy, yaml)"),
    ("index", "lm-eval's task index of our folder (imports lm_eval.tasks: datasets, pandas, requests)"),
    ("config", "model config read (imports torch and transformers' config code)"),
    ("tasks", "task built, its data read"),
    ("backend", "lm-eval's hf backend and the model's class imported (transformers' modeling stack)"),
    ("model", "model and tokenizer loaded (lm-eval's hf backend)"),
    ("evaluate", "evaluation (one document, 4 new tokens)"),
    ("results", "lm-eval's result tables"),
    ("env", "lm-eval's environment report (torch's collect_env: `pip list` and others, subprocesses)"),
    ("lm_eval_rest", "lm-eval's remaining bookkeeping, results and samples files written"),
    ("written", "scores.json written"),
    ("end", "interpreter exit"),
]


def _tiny_model(folder: Path) -> Path:
    from fairreason_tasks.core import data
    from fairreason_tasks.core.bbq import format_prompt
    from trainers.tiny_models import build_tiny_text_model

    items = data.load_bbq(data_dir=FIXTURE_DATA)
    return build_tiny_text_model(
        folder, [format_prompt(item.context, item.question, item.options) for item in items]
    )


def _run(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{completed.stderr[-3000:]}")
    return seconds


def _interleaved_medians(
    commands: dict[str, list[str]], env: dict[str, str], cwd: Path, output_flag: dict[str, str]
) -> dict[str, float]:
    """Each command REPEATS times, one of each per round, the order turning by one each round."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for round_ in range(REPEATS):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            command = list(commands[name])
            if name in output_flag:  # a fresh output folder each run: no run finds another's files
                command += [output_flag[name], str(cwd / f"{name}-{round_}")]
            times[name].append(_run(command, env, cwd))
        print(
            f"round {round_ + 1}/{REPEATS}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in names),
            file=sys.stderr,
        )
    return {name: statistics.median(values) for name, values in times.items()}


def _phases(command: list[str], env: dict[str, str], cwd: Path) -> list[tuple[str, float]]:
    """Median seconds of each phase of `fairreason score`, from PHASE_REPEATS instrumented runs."""
    durations: dict[str, list[float]] = {}
    for repeat in range(PHASE_REPEATS):
        marks_file = cwd / f"phases-{repeat}.json"
        launched = time.time()
        _run(
            [sys.executable, "-c", PHASE_DRIVER, *command, str(cwd / f"phases-out-{repeat}")],
            {**env, "PHASES_OUT": str(marks_file)},
            cwd,
        )
        ended = time.time()
        marks = dict(json.loads(marks_file.read_text()))
        marks["end"] = ended
        previous = launched
        for name, _ in PHASES:
            if name in marks:
                durations.setdefault(name, []).append(marks[name] - previous)
                previous = marks[name]
    return [(name, statistics.median(durations[name])) for name, _ in PHASES if name in durations]


def main() -> None:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "FAIRREASON_DATA_DIR": str(FIXTURE_DATA),
    }
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model = _tiny_model(scratch / "model")
        common = [
            "--model",
            "hf",
            "--model_args",
            f"pretrained={model}",
            "--device",
            "cpu",
            "--tasks",
            TASK,
            "--limit",
            "1",
            "--gen_kwargs",
            "max_gen_toks=4",
        ]
        score_args = [*common, "--data-dir", str(FIXTURE_DATA)]
        medians = _interleaved_medians(
            {
                "floor": [sys.executable, "-c", BARE_FLOOR],
                "model_floor": [sys.executable, "-c", MODEL_FLOOR],
                "model_floor_paused": [sys.executable, "-c", MODEL_FLOOR_PAUSED],
                "score": [str(BIN / "fairreason"), "score", *score_args],
                "lm_eval": [
                    str(BIN / "lm_eval"),
                    *common,
                    "--include_path",
                    str(ROOT / "fairreason_tasks" / "tasks"),
                ],
            },
            env,
            scratch,
            output_flag={"score": "--output", "lm_eval": "--output_path"},
        )
        phases = _phases(["score", *score_args, "--output"], env, scratch)
    _report(medians, phases)


def _report(medians: dict[str, float], phases: list[tuple[str, float]]) -> None:
    floor, ours, theirs = medians["floor"], medians["score"], medians["lm_eval"]
    gap = ours - floor
    rows = [
        (f"import floor ({BARE_FLOOR})", floor, ""),
        (
            "model-loading import floor",
            medians["model_floor"],
            "+ lm-eval's evaluator and hf backend, datasets, the model class",
        ),
        (
            "  the same, collector paused as score does",
            medians["model_floor_paused"],
            "gc.disable, gc.freeze",
        ),
        ("fairreason score", ours, ""),
        ("lm_eval command line", theirs, "--include_path: indexes lm-eval's own ~14k tasks too"),
    ]
    print(
        f"task {TASK}, --limit 1, tiny local model, CPU; "
        f"median of {REPEATS} fresh processes each, interleaved"
    )
    width = max(len(label) for label, _, _ in rows)
    for index, (label, seconds, note) in enumerate(rows):
        over = f"  ({seconds - floor:+.2f} s over the floor)" if index else ""
        print(f"{label:<{width}} : {seconds:6.2f} s{over}" + (f"  [{note}]" if note else ""))
    print(f"time ratio fairreason score / lm_eval: {ours / theirs:.2f} ({theirs / ours:.1f}x faster)")
    verdict = "MET" if gap <= TARGET_OVER_FLOOR_S else f"NOT MET, {gap - TARGET_OVER_FLOOR_S:.2f} s too slow"
    print(
        f"target (issue 13): within {TARGET_OVER_FLOOR_S:.1f} s of the import floor -> "
        f"{verdict} ({gap:+.2f} s)"
    )
    print(
        f"  against the model-loading floor: {ours - medians['model_floor']:+.2f} s; against the paused one: "
        f"{ours - medians['model_floor_paused']:+.2f} s"
    )
    print(
        f"\nwhere one `fairreason score` run goes (median of {PHASE_REPEATS} instrumented runs, timed apart):"
    )
    labels = dict(PHASES)
    for name, seconds in phases:
        print(f"  {seconds:6.2f} s  {labels[name]}")
    print(f"  {sum(seconds for _, seconds in phases):6.2f} s  in all")
    print(
        "  The import floor is mostly the interpreter's start and exit and `import torch`, which a run pays "
        "in 'model config read'."
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

"""Start-up cost of `fairreason score` against the `lm_eval` command line, on the same task with
`--limit 1` (one document: the run is almost all start-up), and two floors both stand on, each in a
fresh interpreter: importing torch, transformers and lm-eval (the issue's floor; transformers and
lm-eval import lazily, so this leaves out most of what a run loads), and importing what any hf run
through lm-eval must (lm-eval's evaluator and hf backend, datasets, the model's modeling code).

A tiny local model (built here, offline) and the BBQ rows in tests/fixtures keep generation and
data loading negligible. Each command runs REPEATS times in a fresh process; medians are reported.
Target (issue 13): `fairreason score` within 2 s of the import floor.

    python benchmarks/bench_score_startup.py
"""

from __future__ import annotations

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
REPEATS = 3
TARGET_OVER_FLOOR_S = 2.0
BARE_FLOOR = "import torch, transformers, lm_eval"
MODEL_FLOOR = (
    BARE_FLOOR + ", lm_eval.evaluator, lm_eval.models.huggingface, datasets; "
    "import transformers.models.qwen3.modeling_qwen3"
)
BIN = Path(sys.executable).parent


def _tiny_model(folder: Path) -> Path:
    from fairreason_tasks.core import data
    from fairreason_tasks.core.bbq import format_prompt
    from trainers.tiny_models import build_tiny_text_model

    items = data.load_bbq(data_dir=FIXTURE_DATA)
    return build_tiny_text_model(
        folder, [format_prompt(item.context, item.question, item.options) for item in items]
    )


def _median_seconds(command: list[str], env: dict[str, str], cwd: Path) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
        times.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise SystemExit(f"{' '.join(command[:3])} failed:\n{completed.stderr[-3000:]}")
    return statistics.median(times)


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
        floor = _median_seconds([sys.executable, "-c", BARE_FLOOR], env, scratch)
        model_floor = _median_seconds([sys.executable, "-c", MODEL_FLOOR], env, scratch)
        ours = _median_seconds(
            [
                str(BIN / "fairreason"),
                "score",
                *common,
                "--data-dir",
                str(FIXTURE_DATA),
                "--output",
                str(scratch / "ours"),
            ],
            env,
            scratch,
        )
        theirs = _median_seconds(
            [
                str(BIN / "lm_eval"),
                *common,
                "--include_path",
                str(ROOT / "fairreason_tasks" / "tasks"),
                "--output_path",
                str(scratch / "theirs"),
            ],
            env,
            scratch,
        )
    print(f"task {TASK}, --limit 1, tiny local model, median of {REPEATS} fresh processes")
    print(f"import floor (torch, transformers, lm_eval): {floor:6.2f} s")
    print(
        f"model-loading import floor                 : {model_floor:6.2f} s  (+ lm-eval's evaluator and hf "
        "backend, datasets, the model class)"
    )
    print(
        f"fairreason score                           : {ours:6.2f} s  ({ours - floor:+.2f} s over the floor)"
    )
    print(
        f"lm_eval command line                       : {theirs:6.2f} s  "
        f"({theirs - floor:+.2f} s over the floor)"
    )
    print(f"time ratio fairreason score / lm_eval: {ours / theirs:.2f}")
    print(
        f"target: within {TARGET_OVER_FLOOR_S:.0f} s of the import floor -> "
        f"{'met' if ours - floor <= TARGET_OVER_FLOOR_S else 'NOT met'}; of the model-loading floor -> "
        f"{'met' if ours - model_floor <= TARGET_OVER_FLOOR_S else 'NOT met'} ({ours - model_floor:+.2f} s)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

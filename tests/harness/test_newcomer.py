"""A newcomer's first hour: every mistake ends in one line naming the problem and the fix, before any
folder is made; the README's Python example runs on a CPU-only machine; short-context models score."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fairreason_tasks import cli, harness_run, runrecord
from fairreason_tasks.preflight import generation_cap

ROOT = Path(__file__).resolve().parents[2]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("fairreason")]
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "sft", "--recipe", "tiny", "--debias-ratio", "0.2"],
        ["demo"],
        ["sweep", "--paradigms", "sft", "--ratios", "0", "--recipe", "tiny"],
    ],
)
def test_missing_train_extra_is_one_line_and_creates_nothing(argv, tmp_path):
    output = tmp_path / "out"
    code = (
        "import sys; sys.modules['trl'] = None\n"  # as after `pip install -e .` without [train]
        "from fairreason_tasks.cli import main\n"
        f"sys.exit(main({[*argv, '--output', str(output)]!r}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert completed.returncode == 1
    assert completed.stderr.strip().count("\n") == 0, completed.stderr
    assert 'pip install "fairreason[train]"' in completed.stderr and "trl" in completed.stderr
    assert not output.exists()


def test_missing_vision_extra_for_the_vision_suite(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "lmms_eval", None)
    output = tmp_path / "out"
    assert cli.main(["score", "--suite", "vision", "--model", "qwen2_5_vl", "--output", str(output)]) == 1
    assert 'pip install "fairreason[vision]"' in _one_line_error(capsys)
    assert not output.exists()


@pytest.mark.parametrize("source", ["/no/such/model/folder", "./ckpt/does-not-exist", "not a hub id!"])
def test_a_model_that_is_neither_a_folder_nor_a_hub_id(source, tmp_path, capsys):
    output = tmp_path / "out"
    assert (
        cli.main(
            ["score", "--model_args", f"pretrained={source}", "--suite", "bias", "--output", str(output)]
        )
        == 1
    )
    assert "no such folder, and not a hub id" in _one_line_error(capsys)
    assert not output.exists()


def test_an_unresolvable_hub_id_offline_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    output = tmp_path / "out"
    code = cli.main(
        [
            "score",
            "--model_args",
            "pretrained=nobody-at-all/no-such-model-xyz",
            "--suite",
            "bias",
            "--output",
            str(output),
        ]
    )
    assert code == 1
    assert "nobody-at-all/no-such-model-xyz" in _one_line_error(capsys)
    assert not output.exists()


def test_a_task_typo_names_the_closest_task(tmp_path, capsys):
    output = tmp_path / "out"
    assert (
        cli.main(
            ["score", "--tasks", "fairreason_bqq", "--model_args", "pretrained=/x", "--output", str(output)]
        )
        == 1
    )
    assert re.search(r"unknown task 'fairreason_bqq': did you mean fairreason_bbq\b", _one_line_error(capsys))
    assert not output.exists()


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["empty", "corrupt"])
def test_an_empty_or_corrupt_data_folder_is_one_line(problem, tiny_model_dir, bbq_data_dir, tmp_path, capsys):
    data_dir = tmp_path / "data"
    (data_dir / "bbq").mkdir(parents=True)
    if problem == "corrupt":
        original = (bbq_data_dir / "bbq" / "Religion.jsonl").read_text()
        (data_dir / "bbq" / "Religion.jsonl").write_text(original + "{not json\n")
    output = tmp_path / "out"
    code = cli.main(
        [
            "score",
            "--model_args",
            f"pretrained={tiny_model_dir}",
            "--device",
            "cpu",
            "--tasks",
            "fairreason_bbq_religion",
            "--data-dir",
            str(data_dir),
            "--output",
            str(output),
        ]
    )
    assert code == 1
    line = _one_line_error(capsys)
    assert str(data_dir) in line and "--data-dir" in line
    assert not output.exists()


def test_scores_json_has_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        runrecord.write_json_atomically(tmp_path / "scores.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "scores.json").stat().st_mode) == 0o644


@pytest.mark.slow
def test_a_second_writer_on_one_output_is_refused(tiny_model_dir, bbq_data_dir, tmp_path, capsys):
    output = tmp_path / "out"
    with harness_run.output_lock(output):
        code = cli.main(
            [
                "score",
                "--model_args",
                f"pretrained={tiny_model_dir}",
                "--device",
                "cpu",
                "--tasks",
                "fairreason_bbq_religion",
                "--data-dir",
                str(bbq_data_dir),
                "--output",
                str(output),
            ]
        )
        assert code == 1
        line = _one_line_error(capsys)
        assert "being written by another fairreason score" in line and f"pid {os.getpid()}" in line
        assert not (output / "scores.json").exists()


@pytest.mark.slow
def test_a_short_context_model_gets_a_capped_budget_and_results_sit_in_output(
    tiny_model_dir, bbq_data_dir, tmp_path, capsys
):
    output = tmp_path / "out"
    context = 512  # what lm-eval's hf backend will use (max_length=), far below the tasks' 4,096
    code = cli.main(
        [
            "score",
            "--model_args",
            f"pretrained={tiny_model_dir},max_length={context}",
            "--device",
            "cpu",
            "--tasks",
            "fairreason_bbq_religion",
            "--limit",
            "2",
            "--data-dir",
            str(bbq_data_dir),
            "--output",
            str(output),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    cap = generation_cap(context)
    assert f"max_gen_toks is capped at {cap}" in err and "fairreason_bbq_religion 4096" in err
    scores = json.loads((output / "scores.json").read_text())
    assert scores["run"]["max_gen_toks_capped"] == {"cap": cap, "asked": {"fairreason_bbq_religion": 4096}}
    assert [path.parent for path in output.rglob("results_*.json")] == [
        output
    ]  # as README says, no __tmp__...
    assert [path.parent for path in output.rglob("samples_*.jsonl")] == [output]
    assert stat.S_IMODE((output / "scores.json").stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_generation_cap_leaves_room_for_the_prompt():
    assert generation_cap(40960) == 38912  # Qwen3: its AIME protocol's budget survives
    assert generation_cap(4096) == 3072 and generation_cap(2048) == 1536 and generation_cap(1024) == 768


@pytest.mark.slow
def test_readme_python_example_runs_as_written_on_cpu(tiny_model_dir, bbq_data_dir, monkeypatch):
    """The README's snippet, with only the model and the task swapped for local ones and a limit added."""
    readme = (ROOT / "README.md").read_text()
    snippet = re.search(r"From Python.*?```python\n(.*?)```", readme, re.S).group(1)
    swaps = {
        "Qwen/Qwen3-8B": str(tiny_model_dir),
        '["fairreason_bbq"]': '["fairreason_bbq_religion"]',
        "apply_chat_template=True": "apply_chat_template=True, limit=2, gen_kwargs='max_gen_toks=8'",
    }
    for old, new in swaps.items():
        assert old in snippet, f"README example changed: {old!r} not found"
        snippet = snippet.replace(old, new)
    monkeypatch.setenv("FAIRREASON_DATA_DIR", str(bbq_data_dir))
    namespace: dict = {}
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102  the README's own code
    assert "bias_score_ambig,none" in namespace["results"]["results"]["fairreason_bbq_religion"]


def test_context_length_is_read_as_lm_eval_reads_it(tmp_path):
    from transformers import GPT2Config

    from fairreason_tasks.preflight import context_length

    assert context_length("hf", {"pretrained": str(tmp_path)}, GPT2Config(n_positions=1024)) == 1024
    assert context_length("hf", {"pretrained": "x", "max_length": "512"}, GPT2Config()) == 512
    assert context_length("vllm", {"pretrained": "x", "max_model_len": "4096"}, None) == 4096
    assert context_length("openai-completions", {"model": "x"}, GPT2Config()) is None

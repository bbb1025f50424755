"""`fairreason score`: both axes through lm-eval's Python API, lm-eval's files plus scores.json."""

from __future__ import annotations

import gc
import json
import math

import pytest

from fairreason_tasks import cli, harness_run, runrecord


@pytest.mark.slow
def test_score_text_suite_end_to_end_on_a_tiny_model(
    tiny_model_dir, bbq_data_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "0")  # the flag below is the opt-in; monkeypatch restores it
    (tiny_model_dir / "fairreason.json").write_text(json.dumps({"paradigm": "sft", "debias_ratio": 0.2}))
    output = tmp_path / "out"
    code = cli.main(
        [
            "score",
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model_dir}",
            "--device",
            "cpu",
            "--suite",
            "text",
            "--limit",
            "2",
            "--gen_kwargs",
            "max_gen_toks=8",
            "--confirm_run_unsafe_code",
            "--data-dir",
            str(bbq_data_dir),
            "--output",
            str(output),
        ]
    )
    (tiny_model_dir / "fairreason.json").unlink()
    assert code == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0  # start-up's pause and freeze are undone
    scores = json.loads((output / "scores.json").read_text())
    assert scores["schema"] == "fairreason.scores/1"
    assert set(scores["tasks"]) >= set(harness_run.SUITES["text"])
    assert scores["run"]["paradigm"] == "sft" and scores["run"]["debias_ratio"] == 0.2
    assert scores["model"]["name"] == tiny_model_dir.name
    assert scores["versions"]["lm_eval"] == "0.4.13"
    assert any(path.startswith("bbq/") for path in scores["data"])
    axes = scores["axes"]
    expected_reasoning = sum(
        scores["tasks"][task]["pass@1" if task == "fairreason_humaneval" else "acc"]
        for task in harness_run.REASONING_TASKS
    ) / len(harness_run.REASONING_TASKS)
    assert axes["reasoning"] == pytest.approx(expected_reasoning)
    bias = scores["tasks"]["fairreason_bbq"]["bias_score_ambig"]
    assert axes["bias_task"] == "fairreason_bbq"
    if math.isnan(bias):  # undefined bias (no non-unknown answers) stays undefined, never 0
        assert axes["bias_score_ambig_abs"] is None
    else:
        assert axes["bias_score_ambig_abs"] == pytest.approx(abs(bias))
    # lm-eval's own results and samples sit beside it
    assert list(output.rglob("results_*.json"))
    assert list(output.rglob("samples_fairreason_bbq_*.jsonl"))
    assert "wrote" in capsys.readouterr().out


def test_interrupted_write_leaves_no_scores_file(tmp_path, monkeypatch):
    target = tmp_path / "scores.json"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runrecord.json, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runrecord.write_json_atomically(target, {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_config_file_settings_are_overridden_by_flags(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "model: vllm\nmodel_args: pretrained=x\ntasks: fairreason_bbq,fairreason_math500\n"
        "limit: 5\ngen_kwargs: temperature=0.6\noutput_path: somewhere\nseed: 7\n"
    )
    settings = harness_run._settings(
        harness_run._parser().parse_args(["--config", str(config), "--model", "hf"])
    )
    assert settings["model"] == "hf"
    assert settings["model_args"] == "pretrained=x"
    assert settings["tasks"] == ["fairreason_bbq", "fairreason_math500"]
    assert settings["limit"] == 5 and settings["seed"] == 7 and settings["output"] == "somewhere"


def test_unknown_suite_is_refused():
    with pytest.raises(ValueError, match="unknown suite"):
        harness_run.score("hf", "pretrained=x", suite="everything")


def test_code_execution_tasks_are_skipped_without_the_opt_in(capsys):
    tasks, skipped = harness_run._executable_tasks(harness_run.SUITES["text"], confirm_run_unsafe_code=False)
    assert "fairreason_humaneval" not in tasks and "fairreason_math500" in tasks
    assert "--confirm_run_unsafe_code" in skipped["fairreason_humaneval"]
    assert "skipping fairreason_humaneval" in capsys.readouterr().err


def test_code_execution_tasks_are_skipped_where_no_safe_sandbox_starts(monkeypatch, capsys):
    def refuse() -> str:
        raise harness_run.WeakSandboxRefused("the kernel sandbox cannot start here (no unshare)")

    monkeypatch.setattr(harness_run, "sandbox_isolation", refuse)
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "0")
    tasks, skipped = harness_run._executable_tasks(harness_run.SUITES["text"], confirm_run_unsafe_code=True)
    assert "fairreason_humaneval" not in tasks and "fairreason_math500" in tasks
    assert "no safe sandbox here" in skipped["fairreason_humaneval"]
    assert "skipping fairreason_humaneval" in capsys.readouterr().err


def test_confirmed_code_execution_keeps_the_tasks_where_the_kernel_sandbox_starts(monkeypatch):
    monkeypatch.setattr(harness_run, "sandbox_isolation", lambda: "kernel")
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "0")
    tasks, skipped = harness_run._executable_tasks(harness_run.SUITES["text"], confirm_run_unsafe_code=True)
    assert "fairreason_humaneval" in tasks and skipped == {}

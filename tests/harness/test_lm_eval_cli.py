"""The real `lm_eval` command line on a tiny local model, offline (slow: each run indexes lm-eval's tasks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fairreason_tasks.locate import tasks_path

pytestmark = [pytest.mark.cli, pytest.mark.slow]

LM_EVAL = shutil.which("lm_eval") or str(Path(sys.executable).with_name("lm_eval"))
EXPECTED_METRICS = {
    "acc",
    "acc_ambig",
    "acc_disambig",
    "bias_score_ambig",
    "bias_score_disambig",
    "unparsed_rate",
    "bias_score_ambig_ci_lo",
    "bias_score_ambig_ci_hi",
    "bias_score_disambig_ci_lo",
    "bias_score_disambig_ci_hi",
}


def _run_lm_eval(args: list[str], data_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FAIRREASON_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    return subprocess.run([LM_EVAL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _results(output: Path) -> dict:
    files = sorted(output.rglob("results_*.json"))
    assert files, f"lm_eval wrote no results under {output}"
    return json.loads(files[-1].read_text())


def test_lm_eval_cli_runs_fairreason_bbq_with_include_path(tiny_model_dir, bbq_data_dir, tmp_path):
    completed = _run_lm_eval(
        [
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model_dir}",
            "--device",
            "cpu",
            "--include_path",
            str(tasks_path()),
            "--tasks",
            "fairreason_bbq",
            "--limit",
            "50",
            "--gen_kwargs",
            "max_gen_toks=8",
            "--output_path",
            str(tmp_path / "out"),
            "--log_samples",
        ],
        bbq_data_dir,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    metrics = {key.split(",")[0] for key in _results(tmp_path / "out")["results"]["fairreason_bbq"]}
    assert EXPECTED_METRICS <= metrics
    assert {f"bias_score_ambig_{category}" for category in ("Age", "Religion", "Race_x_SES")} <= metrics
    assert "bias_score_ambig" in completed.stdout  # the printed table carries the metrics too
    assert list((tmp_path / "out").rglob("samples_fairreason_bbq_*.jsonl"))


def test_linked_tasks_need_no_flag(tiny_model_dir, bbq_data_dir, tmp_path):
    fairreason = Path(sys.executable).with_name("fairreason")
    subprocess.run([str(fairreason), "link-tasks"], check=True, capture_output=True)
    try:
        completed = _run_lm_eval(
            [
                "--model",
                "hf",
                "--model_args",
                f"pretrained={tiny_model_dir}",
                "--device",
                "cpu",
                "--tasks",
                "fairreason_bbq_religion",
                "--limit",
                "4",
                "--gen_kwargs",
                "max_gen_toks=4",
                "--output_path",
                str(tmp_path / "out"),
            ],
            bbq_data_dir,
            tmp_path,
        )
    finally:
        subprocess.run([str(fairreason), "unlink-tasks"], check=True, capture_output=True)
    assert completed.returncode == 0, completed.stderr[-4000:]
    religion = _results(tmp_path / "out")["results"]["fairreason_bbq_religion"]
    assert any(name.startswith("bias_score_ambig,") for name in religion)  # the linked task really scored
    assert not any("_Religion" in name for name in religion)  # a one-category task reports no copies

"""A tiny Qwen2.5-VL, built here, runs both vision tasks through the real `lmms-eval` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fairreason_tasks.lmms_runner import run_lmms_cli

LIMIT = 3


@pytest.fixture(scope="session")
def tiny_vl_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torchvision", reason="Qwen2.5-VL's image processor needs torchvision")
    from trainers.tiny_vl_model import build_tiny_vl_model

    return build_tiny_vl_model(tmp_path_factory.mktemp("tiny_vl"))


def test_tiny_qwen2_5_vl_through_the_lmms_eval_cli(tiny_vl_model, tmp_path, reference):
    data_dir = reference.make_data_dir(tmp_path / "data", "hub")
    output = tmp_path / "out"
    model_args = f"pretrained={tiny_vl_model},device=cpu,device_map=cpu,min_pixels=784,max_pixels=50176"
    results = run_lmms_cli(
        [
            "--model",
            "qwen2_5_vl",
            "--model_args",
            model_args,
            "--tasks",
            "fairreason_vision",
            "--limit",
            str(LIMIT),
            "--gen_kwargs",
            "max_new_tokens=6",
            "--log_samples",
            "--process_docs_parallel",
            "1",
        ],
        output=output,
        env={"FAIRREASON_DATA_DIR": str(data_dir)},
        timeout=300,
    )
    for task, keys in (
        (
            "fairreason_vlbiasbench",
            ("category", "subset", "cluster", "condition", "label", "unknown", "biased", "prediction"),
        ),
        ("fairreason_mathverse", ("version", "correct", "parsed", "judged")),
    ):
        scores = results["results"][task]
        samples = [
            json.loads(line) for path in output.rglob(f"*samples_{task}.jsonl") for line in path.open()
        ]
        assert len(samples) == LIMIT == scores["n_items,none"]
        # vlbiasbench outcomes are followed by the trace fields (core.trace_bias.TraceOutcome)
        outcomes = [dict(zip(keys, sample["acc"][: len(keys)], strict=True)) for sample in samples]
        if task == "fairreason_vlbiasbench":
            correct = [row["prediction"] == row["label"] for row in outcomes]
            unparsed = [row["prediction"] is None for row in outcomes]
            assert all("Options:\nA. " in sample["input"] for sample in samples)
        else:
            correct = [row["correct"] for row in outcomes]
            unparsed = [not row["parsed"] for row in outcomes]
        assert scores["acc,none"] == pytest.approx(sum(correct) / LIMIT)
        assert scores["unparsed_rate,none"] == pytest.approx(sum(unparsed) / LIMIT)
        assert not math.isnan(scores["acc,none"])

"""Tiny Qwen2.5-VL SFT and GRPO steps on image rows, through `fairreason train` (issue 4, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainers.cli import train_main

VISION_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vision"


@pytest.fixture(scope="module")
def vision_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FAIRREASON_DATA_DIR layout over the vision fixtures (VLBiasBench-schema rows, real MathVerse)."""
    root = tmp_path_factory.mktemp("vision_data")
    (root / "vlbiasbench").symlink_to(VISION_FIXTURES / "vlbiasbench_official")
    (root / "mathverse").symlink_to(VISION_FIXTURES / "mathverse")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("paradigm", ["sft", "grpo"])
def test_tiny_vl_trains_on_image_rows_and_leaves_a_loadable_checkpoint(paradigm, vision_data_dir, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    output = tmp_path / paradigm
    assert (
        train_main(
            [paradigm, "--recipe", "tiny_vl", "--data-dir", str(vision_data_dir), "--output", str(output)]
        )
        == 0
    )
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["modality"] == "vision"
    assert manifest["counts"] == {"total": 8, "debias": 4, "reasoning": 4}
    record = json.loads((output / "fairreason.json").read_text())
    assert record["paradigm"] == paradigm
    model = AutoModelForImageTextToText.from_pretrained(output)
    assert model.config.model_type == "qwen2_5_vl"
    assert AutoProcessor.from_pretrained(output).image_processor is not None


def test_vision_recipes_refuse_a_data_folder_without_the_vision_sets(tmp_path):
    assert (
        train_main(
            ["sft", "--recipe", "tiny_vl", "--data-dir", str(tmp_path), "--output", str(tmp_path / "o")]
        )
        == 2
    )

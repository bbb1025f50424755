"""The shared plumbing: the run record next to a checkpoint and the model-args it is found by."""

from __future__ import annotations

import json
import re

import pytest

from fairreason_tasks.runrecord import (
    RunRecordError,
    model_display_name,
    parse_model_args,
    provenance,
    utc_timestamp,
)


def test_model_args_string_and_dict_parse_alike():
    assert parse_model_args("pretrained=/m/x, dtype=bfloat16,trust_remote_code") == {
        "pretrained": "/m/x",
        "dtype": "bfloat16",
    }
    assert parse_model_args({"pretrained": "/m/x", "max_length": 512}) == {
        "pretrained": "/m/x",
        "max_length": "512",
    }
    assert model_display_name("pretrained=/m/base/,peft=/a/adapter", "hf") == "adapter"
    assert model_display_name("dtype=float16", "hf") == "hf"


def test_provenance_reads_the_checkpoints_record(tmp_path):
    (tmp_path / "fairreason.json").write_text(
        json.dumps({"paradigm": "grpo", "debias_ratio": 0.2, "seed": 3, "budget": 9})
    )
    assert provenance(f"pretrained={tmp_path}") == {"paradigm": "grpo", "debias_ratio": 0.2, "seed": 3}
    assert provenance("pretrained=Qwen/Qwen3-8B") == {}  # a hub id: nothing recorded, nothing invented


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_an_unreadable_record_is_one_error_naming_the_file(tmp_path, content):
    (tmp_path / "fairreason.json").write_text(content)
    with pytest.raises(RunRecordError, match=re.escape(str(tmp_path / "fairreason.json"))):
        provenance(f"pretrained={tmp_path}")


def test_timestamps_are_utc_seconds():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", utc_timestamp())

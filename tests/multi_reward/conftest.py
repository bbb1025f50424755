"""One tiny reward model per session (rm_tiny: random 2-layer DeBERTa-v2, seconds on CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_reward_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trainers.reward_model import train_reward_model

    return train_reward_model("rm_tiny", tmp_path_factory.mktemp("rm_tiny") / "rm")

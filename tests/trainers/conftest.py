"""One tiny SFT run per session: the checkpoint test, the GRPO warm start and the distillation teacher."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_sft_run(tmp_path_factory: pytest.TempPathFactory, bbq_data_dir: Path) -> Path:
    from trainers.training import run_training

    return run_training("sft", "tiny", tmp_path_factory.mktemp("tiny_sft"), data_dir=bbq_data_dir)

"""core/ holds the science shared by tasks and trainers: it must import no torch or harness code."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import fairreason_tasks.core

FORBIDDEN = ("torch", "transformers", "lm_eval", "lmms_eval", "trl", "vllm")


def test_importing_every_core_module_pulls_in_no_torch_or_harness():
    modules = [
        f"fairreason_tasks.core.{info.name}" for info in pkgutil.iter_modules(fairreason_tasks.core.__path__)
    ]
    assert len(modules) >= 8
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]", completed.stdout

"""`fairreason score` start-up (issue 13): the collector paused while it imports and builds, the
backend imported inside that pause, the heap frozen when the command line exits. Speed itself is
measured in benchmarks/bench_score_startup.py; these check that each step happens and undoes itself."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from fairreason_tasks import cli, harness_run


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def collector_as_usual():
    """Each test starts with the collector on and nothing frozen, and leaves it so."""
    gc.unfreeze()
    gc.enable()
    yield
    gc.unfreeze()
    gc.enable()


def test_startup_pauses_the_collector_then_freezes_and_unfreezes(collector_as_usual):
    left = _Node()
    left_ref = weakref.ref(left)
    del left
    with harness_run.collector_paused_for_startup() as started:
        assert left_ref() is None  # the caller's garbage is collected before anything is frozen
        assert not gc.isenabled()
        started()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        started()  # a second call changes nothing
        assert gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    made = _Node()
    made_ref = weakref.ref(made)
    del made
    gc.collect()
    assert made_ref() is None  # collectable again after the block


def test_startup_that_fails_turns_the_collector_back_on(collector_as_usual):
    with pytest.raises(RuntimeError), harness_run.collector_paused_for_startup():
        raise RuntimeError("preflight failed")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_caller_that_manages_the_collector_keeps_its_settings(collector_as_usual):
    gc.disable()
    with harness_run.collector_paused_for_startup() as started:
        started()
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    assert not gc.isenabled()
    gc.enable()
    gc.freeze()
    with harness_run.collector_paused_for_startup() as started:
        assert gc.isenabled()
        started()
    assert gc.get_freeze_count() > 0  # the caller's freeze is not undone


@pytest.mark.slow
def test_preflight_imports_the_backend_and_the_model_class(tiny_model_dir):
    """In a fresh interpreter (this one may have them already): after the warm-up both are loaded."""
    code = (
        "import sys\n"
        "from transformers import AutoConfig\n"
        "from fairreason_tasks.harness_run import _import_backend\n"
        f"config = AutoConfig.from_pretrained({str(tiny_model_dir)!r})\n"
        "modeling = type(config).__module__.replace('configuration_', 'modeling_')\n"
        "wanted = ('lm_eval.models.huggingface', modeling)\n"
        "assert not any(name in sys.modules for name in wanted), wanted\n"
        "_import_backend('no-such-backend', None)  # unknown: left for lm-eval to report\n"
        "_import_backend('hf', config)\n"
        "missing = [name for name in wanted if name not in sys.modules]\n"
        "assert not missing, missing\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_the_command_line_freezes_the_heap_and_a_call_does_not(collector_as_usual, monkeypatch, capsys):
    assert cli.main(["tasks-path"]) == 0
    assert gc.get_freeze_count() == 0
    assert capsys.readouterr().out.strip() == str(harness_run.tasks_path())
    monkeypatch.setattr(sys, "argv", ["fairreason", "tasks-path"])
    assert cli.main() == 0
    assert gc.get_freeze_count() > 0
    assert capsys.readouterr().out.strip() == str(harness_run.tasks_path())


@pytest.mark.slow
def test_the_score_command_writes_everything_when_the_process_exits(tiny_model_dir, bbq_data_dir, tmp_path):
    """The real `fairreason score` process (frozen heap at exit): complete, readable files."""
    output = tmp_path / "out"
    flags = "score --device cpu --tasks fairreason_bbq_religion --limit 2 --gen_kwargs max_gen_toks=4"
    command = [str(Path(sys.executable).parent / "fairreason"), *flags.split()]
    command += ["--model_args", f"pretrained={tiny_model_dir}", "--data-dir", str(bbq_data_dir)]
    completed = subprocess.run(
        [*command, "--output", str(output)], capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    scores = json.loads((output / "scores.json").read_text())
    assert scores["run"]["tasks"] == ["fairreason_bbq_religion"]
    (results,) = output.glob("results_*.json")
    assert "fairreason_bbq_religion" in json.loads(results.read_text())["results"]
    (samples,) = output.glob("samples_fairreason_bbq_religion_*.jsonl")
    assert len(samples.read_text().splitlines()) == 2
    assert f"wrote {output / 'scores.json'}" in completed.stdout

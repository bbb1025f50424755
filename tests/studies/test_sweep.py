"""`fairreason sweep` on a two-cell grid with the real trainer and the real scorer.

One real sweep is run per module (two SFT cells of two optimizer steps, scored on 4 documents of
the demo arithmetic task); the resume and failure cases then work on copies of its folder, so
each case trains at most nothing new beyond the cell it is about.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from studies import sweep, sweep_cli

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
RECIPE = HERE / "tiny_sweep_sft.yaml"
SCORE_ARGS = "--tasks fairreason_demo_arith --apply_chat_template --gen_kwargs max_gen_toks=8 --device cpu"


def _argv(output: Path, bbq_data_dir: Path, ratios: str = "0,1") -> list[str]:
    return [
        "--paradigms",
        "sft",
        "--debias-ratios",
        ratios,
        "--recipe",
        str(RECIPE),
        "--budget",
        "8",
        "--output",
        str(output),
        "--data-dir",
        str(bbq_data_dir),
        "--limit",
        "4",
        "--score-args",
        SCORE_ARGS,
    ]


def _state(output: Path) -> dict:
    return json.loads((output / sweep.STATE_FILE).read_text())


def _scores(output: Path, cell: str) -> dict:
    return json.loads((output / "cells" / cell / "scores" / "scores.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, bbq_data_dir: Path) -> tuple[Path, int]:
    output = tmp_path_factory.mktemp("sweep") / "grid"
    return output, sweep_cli.sweep_main(_argv(output, bbq_data_dir))


def _copy(finished: tuple[Path, int], tmp_path: Path) -> Path:
    """A copy of the finished sweep whose state file points at the copy's own cells."""
    source, _ = finished
    target = tmp_path / "grid"
    shutil.copytree(source, target)
    state_path = target / sweep.STATE_FILE
    state_path.write_text(state_path.read_text().replace(str(source), str(target)))
    return target


def test_every_cell_is_trained_scored_and_ranked(finished: tuple[Path, int]) -> None:
    output, returncode = finished
    assert returncode == 0
    state = _state(output)
    assert {name: cell["status"] for name, cell in state["cells"].items()} == {
        "sft_r0.00": "done",
        "sft_r1.00": "done",
    }
    for name, ratio in (("sft_r0.00", 0.0), ("sft_r1.00", 1.0)):
        scores = _scores(output, name)
        assert scores["model"]["name"] == name
        assert scores["run"]["paradigm"] == "sft" and scores["run"]["debias_ratio"] == ratio
        assert 0.0 <= scores["tasks"]["fairreason_demo_arith"]["acc"] <= 1.0
        trained = json.loads((output / "cells" / name / "checkpoint" / "manifest.json").read_text())
        assert trained["counts"]["debias"] == round(ratio * 8)
    assert (output / "leaderboard.md").is_file() and (output / "frontier.png").is_file()
    assert "sft_r0.00" in (output / "leaderboard.csv").read_text()


def test_rerun_skips_finished_cells_and_redoes_a_cut_off_one(
    finished: tuple[Path, int], tmp_path: Path, bbq_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = _copy(finished, tmp_path)
    before = _scores(output, "sft_r1.00")
    kept = output / "cells" / "sft_r0.00" / "scores" / "scores.json"
    kept_mtime = kept.stat().st_mtime_ns
    # Cut off half-way through training: state says running, no scores, a half-written checkpoint.
    state = _state(output)
    state["cells"]["sft_r1.00"].update(status="running", stage="train", trained=False)
    (output / sweep.STATE_FILE).write_text(json.dumps(state))
    cell = output / "cells" / "sft_r1.00"
    shutil.rmtree(cell / "scores")
    (cell / "checkpoint" / "config.json").unlink()
    (cell / "checkpoint" / "checkpoint-1").mkdir()
    (cell / "checkpoint" / "checkpoint-1" / "model.safetensors").write_bytes(b"half written")

    assert sweep_cli.sweep_main(_argv(output, bbq_data_dir)) == 0

    printed = capsys.readouterr().out
    assert "sft_r0.00: finished earlier, skipped" in printed
    assert "sft_r1.00: training and scoring (cut off earlier: redone)" in printed
    assert kept.stat().st_mtime_ns == kept_mtime
    assert not (cell / "checkpoint" / "checkpoint-1").exists()
    assert _state(output)["cells"]["sft_r1.00"]["status"] == "done"
    assert _scores(output, "sft_r1.00")["tasks"] == before["tasks"]


def test_a_failed_cell_is_reported_and_does_not_stop_the_next(
    finished: tuple[Path, int],
    tmp_path: Path,
    bbq_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = _copy(finished, tmp_path)
    trained_elsewhere = output / "trained_r1"
    shutil.copytree(output / "cells" / "sft_r1.00" / "checkpoint", trained_elsewhere)
    shutil.rmtree(output / "cells")
    (output / sweep.STATE_FILE).unlink()

    def fake_trainer(settings: sweep.SweepSettings, cell: sweep.Cell, checkpoint: Path) -> list[str]:
        """Cell r0 dies from SIGKILL mid-training; cell r1 'trains' by copying a real checkpoint."""
        if cell.ratio == 0.0:
            script = (
                "import os, signal; print('half-way through step 1', flush=True); "
                "os.kill(os.getpid(), signal.SIGKILL)"
            )
            return [sys.executable, "-c", script]
        script = f"import shutil; shutil.copytree({str(trained_elsewhere)!r}, {str(checkpoint)!r})"
        return [sys.executable, "-c", script]

    monkeypatch.setattr(sweep, "train_command", fake_trainer)
    assert sweep_cli.sweep_main(_argv(output, bbq_data_dir)) == 1

    cells = _state(output)["cells"]
    assert cells["sft_r0.00"]["status"] == "failed"
    assert "killed by signal SIGKILL" in cells["sft_r0.00"]["reason"]
    assert "half-way through step 1" in cells["sft_r0.00"]["reason"]
    assert Path(cells["sft_r0.00"]["log"]).name == "train.log" and Path(cells["sft_r0.00"]["log"]).is_file()
    assert cells["sft_r1.00"]["status"] == "done"
    assert (output / "cells" / "sft_r1.00" / "scores" / "scores.json").is_file()
    assert "sft_r1.00" in (output / "leaderboard.csv").read_text()
    captured = capsys.readouterr()
    assert "sft_r0.00: FAILED" in captured.out and "1 cell(s) failed: sft_r0.00" in captured.err


def test_a_rerun_with_other_settings_is_refused(
    finished: tuple[Path, int], tmp_path: Path, bbq_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = _copy(finished, tmp_path)
    argv = _argv(output, bbq_data_dir)
    argv[argv.index("--budget") + 1] = "16"
    assert sweep_cli.sweep_main(argv) == 2
    assert "budget=8" in capsys.readouterr().err


@pytest.mark.parametrize("ratios", ["0,1.5", "a,b", ""])
def test_bad_ratios_are_rejected(ratios: str, tmp_path: Path, bbq_data_dir: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        sweep_cli.sweep_main(_argv(tmp_path / "grid", bbq_data_dir, ratios=ratios))
    assert stopped.value.code == 2


def test_score_args_may_not_override_per_cell_flags(
    tmp_path: Path, bbq_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(tmp_path / "grid", bbq_data_dir)
    argv[argv.index("--score-args") + 1] = "--output elsewhere"
    assert sweep_cli.sweep_main(argv) == 2
    assert "--output" in capsys.readouterr().err


def test_ratios_is_a_deprecated_alias_of_debias_ratios(capsys):
    new = sweep_cli.parser().parse_args(["--debias-ratios", "0,0.5"])
    assert new.debias_ratios == (0.0, 0.5) and capsys.readouterr().err == ""
    old = sweep_cli.parser().parse_args(["--ratios", "0,0.5"])
    assert old.debias_ratios == (0.0, 0.5)
    assert "--ratios is deprecated, use --debias-ratios" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"settings": {}}', b"\xff\xfe\x00 bytes that are not UTF-8", b"null"],
    ids=["broken", "a-list", "no-cells", "not-utf8", "null"],
)
def test_a_sweep_file_that_is_not_one_is_an_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / sweep.STATE_FILE
    path.write_bytes(content)
    with pytest.raises(sweep.SweepError, match="not a sweep state file") as raised:
        sweep.read_state_file(path)
    assert str(path) in str(raised.value)

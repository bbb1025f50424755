"""The trace writer keeps only graded-correct traces and resumes after a crash without duplicates."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from trainers.traces import TraceOutputBusy, TraceWriter, traces_main, transformers_teacher, write_traces

BBQ_ROW = {
    "task": "bbq",
    "prompt": [{"role": "user", "content": "q"}],
    "options": ["x", "unknown", "y"],
    "label": 1,
    "unknown_index": 1,
    "biased_index": 0,
    "answer": "B",
}


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        if i % 2:
            rows.append({**BBQ_ROW, "id": f"bbq/{i}"})
        else:
            rows.append(
                {
                    "id": f"demo_arith/{i}+1",
                    "task": "demo_arith",
                    "answer": str(i + 1),
                    "options": [],
                    "label": -1,
                    "unknown_index": -1,
                    "biased_index": -1,
                    "prompt": [{"role": "user", "content": f"What is {i} + 1?"}],
                }
            )
    return rows


def scripted_teacher(crash_after: int | None = None):
    """Answers demo rows correctly, BBQ rows with the stereotyped option; optionally dies mid-run."""
    answered = []

    def generate(prompts):
        out = []
        for prompt in prompts:
            if crash_after is not None and len(answered) == crash_after:
                raise KeyboardInterrupt
            text = prompt[0]["content"]
            if text.startswith("What is"):
                a = int(text.split()[2])
                out.append(f"<think>{a} + 1 = {a + 1}</think>\nAnswer: {a + 1}")
            else:
                out.append("<think>stereotype</think>\nAnswer: A")
            answered.append(text)
        return out

    return generate


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_kept_only_when_the_grader_accepts(tmp_path: Path) -> None:
    rows = _rows(6)
    with TraceWriter(tmp_path / "t.jsonl") as writer:
        counts = write_traces(rows, scripted_teacher(), writer, teacher_name="scripted", batch_size=1)
    records = _records(tmp_path / "t.jsonl")
    assert counts == {"skipped": 0, "written": 6, "kept": 3}
    assert [r["kept"] for r in records] == [r["task"] == "demo_arith" for r in rows]


def test_resume_after_crash_without_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = _rows(10)
    with TraceWriter(path) as writer, pytest.raises(KeyboardInterrupt):
        write_traces(rows, scripted_teacher(crash_after=4), writer, teacher_name="scripted", batch_size=1)
    assert [r["id"] for r in _records(path)] == [r["id"] for r in rows[:4]]
    with path.open("a") as handle:  # the process died while writing record 5
        handle.write('{"id": "demo_arith/4+1", "comple')
    with TraceWriter(path) as writer:
        counts = write_traces(rows, scripted_teacher(), writer, teacher_name="scripted", batch_size=3)
    assert counts == {"skipped": 4, "written": 6, "kept": 3}
    assert [r["id"] for r in _records(path)] == [r["id"] for r in rows]
    with TraceWriter(path) as writer:  # a third run has nothing left to do
        assert write_traces(rows, scripted_teacher(crash_after=0), writer, teacher_name="s")["written"] == 0


def test_a_second_writer_is_refused_until_the_first_closes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Two `fairreason traces` on one output used to write every record twice."""
    path = tmp_path / "t.jsonl"
    previous = os.umask(0o022)
    try:
        first = TraceWriter(path)
    finally:
        os.umask(previous)
    with first:
        write_traces(_rows(2), scripted_teacher(), first, teacher_name="scripted")
        with pytest.raises(TraceOutputBusy, match=r"t.jsonl is being written by another fairreason traces"):
            TraceWriter(path)
        # the command line refuses before loading any teacher (this one does not exist)
        assert traces_main(["--teacher", "/no/such/model", "--recipe", "tiny", "--output", str(path)]) == 2
        assert "is being written by another fairreason traces" in capsys.readouterr().err
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    with TraceWriter(path) as second:  # released on close (and by the kernel when a writer dies)
        assert second.done == {row["id"] for row in _rows(2)}
    assert len(_records(path)) == 2


def test_corrupt_middle_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(ValueError, match=r"t.jsonl:2: not a trace record"):
        TraceWriter(path)


@pytest.mark.slow
def test_local_transformers_teacher(tiny_model_dir: Path, tmp_path: Path) -> None:
    teacher = transformers_teacher(str(tiny_model_dir), max_new_tokens=4, temperature=0.0)
    with TraceWriter(tmp_path / "t.jsonl") as writer:
        counts = write_traces(_rows(3), teacher, writer, teacher_name=str(tiny_model_dir), batch_size=2)
    assert counts["written"] == 3
    assert all(isinstance(r["completion"], str) for r in _records(tmp_path / "t.jsonl"))

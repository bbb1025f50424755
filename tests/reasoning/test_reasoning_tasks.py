"""The reasoning tasks end to end through lm-eval's Python API with a scripted model.

Each test scripts which answers are right, wrong or missing, computes the expected metrics here
by counting (pass@k with math.comb, independently of the product form in core), and compares.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager

from fairreason_tasks.core import data
from fairreason_tasks.core.code_exec import CodeExecutionNotAllowed
from fairreason_tasks.core.pass_at_k import reported_ks
from fairreason_tasks.locate import tasks_path
from fairreason_tasks.testing import ScriptedLM

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reasoning"


def _evaluate(
    tasks: list[str],
    respond: Callable[[str, dict, str], str],
    *,
    limit: int | None,
    metadata=None,
    confirm: bool = False,
) -> dict:
    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)
    return simple_evaluate(
        model=ScriptedLM(respond),
        tasks=tasks,
        task_manager=manager,
        limit=limit,
        bootstrap_iters=0,
        confirm_run_unsafe_code=confirm,
    )


def _metrics(results: dict, task: str) -> dict[str, float]:
    return {
        key.split(",")[0]: value for key, value in results["results"][task].items() if key.endswith(",none")
    }


def _pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


# ---- MATH-500 -----------------------------------------------------------------------------------

# style -> (template, correct?, no answer?)
MATH_STYLES = {
    "boxed": ("Some work.\n\nSo the answer is $\\boxed{{{answer}}}$.", True, False),
    "thinking then boxed": (
        "<think>Perhaps \\boxed{{-98765}}? No.</think>\nFinal: \\boxed{{{answer}}}",
        True,
        False,
    ),
    "answer line": ("Reasoning...\nThe final answer is {answer}", True, False),
    "wrong": ("\\boxed{{-98765}}", False, False),
    "truncated thinking": ("<think>I get \\boxed{{{answer}}} so far, but let me check", False, True),
    "no answer": ("I am not sure how to solve this.", False, True),
}


def test_math500_acc_and_unparsed_rate_equal_counting() -> None:
    styles = list(MATH_STYLES)
    seen: list[str] = []

    def respond(task: str, doc: dict, context: str) -> str:
        assert context.endswith("put your final answer within \\boxed{}.")
        style = styles[len(seen) % len(styles)]
        seen.append(style)
        return MATH_STYLES[style][0].format(answer=doc["answer"])

    results = _evaluate(["fairreason_math500"], respond, limit=18)
    assert len(seen) == 18
    metrics = _metrics(results, "fairreason_math500")
    assert metrics["acc"] == pytest.approx(sum(MATH_STYLES[s][1] for s in seen) / 18)
    assert metrics["unparsed_rate"] == pytest.approx(sum(MATH_STYLES[s][2] for s in seen) / 18)
    assert "pass@2" not in metrics  # n = 1


def test_math_answers_in_another_form_are_graded_by_math_verify() -> None:
    """MATH-500 test row 2 (0-based) has the answer \\frac{14}{3}; say it as a decimal-free other form."""
    rows = [record for _, record in data.read_jsonl(data.resolve("math500/test.jsonl"))]
    index = next(i for i, row in enumerate(rows) if row["answer"] == "\\frac{14}{3}")

    def respond(task: str, doc: dict, context: str) -> str:
        return "\\boxed{14/3}" if doc["answer"] == "\\frac{14}{3}" else "\\boxed{-98765}"

    metrics = _metrics(_evaluate(["fairreason_math500"], respond, limit=index + 1), "fairreason_math500")
    assert metrics["acc"] == pytest.approx(1 / (index + 1))


# ---- AIME with repeats --------------------------------------------------------------------------


def test_aime_repeats_give_mean_pass_at_1_and_unbiased_pass_at_k() -> None:
    n, docs = 16, 6
    calls: dict[str, int] = defaultdict(int)
    correct_per_doc: dict[str, int] = {}

    def respond(task: str, doc: dict, context: str) -> str:
        key = doc["id"]
        correct_per_doc.setdefault(key, (len(correct_per_doc) * 5) % (n + 1))  # 0, 5, 10, 15, 3, 8
        sample = calls[key]
        calls[key] += 1
        if sample < correct_per_doc[key]:
            return f"<think>...</think>The answer is $\\boxed{{{int(doc['answer'])}}}$"  # "025" said as 25
        return "\\boxed{1000}" if sample % 2 else "no idea"

    results = _evaluate(["fairreason_aime24_n16"], respond, limit=docs)
    metrics = _metrics(results, "fairreason_aime24_n16")
    assert set(calls.values()) == {n} and len(calls) == docs
    counts = list(correct_per_doc.values())
    assert metrics["acc"] == pytest.approx(sum(c / n for c in counts) / docs)
    for k in (2, 4, 8, 16):
        assert metrics[f"pass@{k}"] == pytest.approx(sum(_pass_at_k(n, c, k) for c in counts) / docs)
    no_answers = [sum(1 for sample in range(c, n) if sample % 2 == 0) for c in counts]
    assert metrics["unparsed_rate"] == pytest.approx(sum(x / n for x in no_answers) / docs)


def test_local_data_dir_sample_is_used_and_recorded() -> None:
    manifest = json.loads((FIXTURES / "fairreason_sample_manifest.json").read_text())
    answers: list[str] = []

    def respond(task: str, doc: dict, context: str) -> str:
        answers.append(doc["answer"])
        return f"\\boxed{{{doc['answer']}}}"

    results = _evaluate(["fairreason_aime25"], respond, limit=None, metadata={"data_dir": str(FIXTURES)})
    sample = (FIXTURES / "aime" / "aime25_test.jsonl").read_text().splitlines()
    assert answers == [str(json.loads(line)["answer"]) for line in sample]
    assert _metrics(results, "fairreason_aime25")["acc"] == 1.0
    recorded = data.verified_checksums()["aime/aime25_test.jsonl"]
    assert recorded == manifest["files"]["aime/aime25_test.jsonl"]
    assert recorded == hashlib.sha256((FIXTURES / "aime" / "aime25_test.jsonl").read_bytes()).hexdigest()


def test_bad_record_names_file_line_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "aime").mkdir(parents=True)
    target = folder / "aime" / "aime25_test.jsonl"
    target.write_text('{"problem": "p", "answer": 1}\n{"problem": "q"}\n')
    (folder / data.SAMPLE_MANIFEST).write_text(
        json.dumps({"files": {"aime/aime25_test.jsonl": hashlib.sha256(target.read_bytes()).hexdigest()}})
    )
    with pytest.raises(data.DataError, match=r"aime25_test\.jsonl:2: field 'answer'"):
        _evaluate(["fairreason_aime25"], lambda *_: "", limit=None, metadata={"data_dir": str(folder)})


# ---- task declarations --------------------------------------------------------------------------


def test_each_task_declares_the_pass_at_k_its_repeats_produce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False)
    names = [
        name
        for name in manager.all_subtasks
        if name.startswith(("fairreason_math500", "fairreason_aime", "fairreason_humaneval"))
    ]
    assert {
        "fairreason_math500_n4",
        "fairreason_aime24_n16",
        "fairreason_aime25_n16",
        "fairreason_humaneval_n10",
    } <= set(names)
    for name, task in manager.load(names)["tasks"].items():
        declared = {
            metric for metric in task.aggregation() if metric.startswith("pass@") and metric != "pass@1"
        }
        assert declared == {f"pass@{k}" for k in reported_ks(task.config.repeats)}, name
        assert task.config.generation_kwargs["until"] == [], name
        assert task.config.generation_kwargs["do_sample"] is (task.config.repeats > 1), name


def test_groups_hold_the_tasks_and_average_nothing(
    monkeypatch: pytest.MonkeyPatch, bbq_data_dir: Path
) -> None:
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={"data_dir": str(bbq_data_dir)}
    )
    loaded = manager.load(["fairreason_text"])
    assert loaded["group_map"]["fairreason_text"] == ["fairreason_bbq", "fairreason_reasoning"]
    assert loaded["group_map"]["fairreason_reasoning"] == [
        "fairreason_math500",
        "fairreason_aime24",
        "fairreason_aime25",
        "fairreason_humaneval",
    ]
    results = _evaluate(["fairreason_reasoning"], lambda *_: "no answer", limit=1, confirm=True)
    assert set(results["results"]) >= {
        "fairreason_math500",
        "fairreason_aime24",
        "fairreason_aime25",
        "fairreason_humaneval",
    }
    assert results["group_subtasks"]["fairreason_reasoning"] == loaded["group_map"]["fairreason_reasoning"]
    group_metrics = [key for key in results["results"]["fairreason_reasoning"] if "," in key]
    assert group_metrics == [], "lm-eval averaged unlike metrics across the group"


# ---- HumanEval ----------------------------------------------------------------------------------


def _humaneval_answer(index: int, doc: dict) -> tuple[str, bool, bool]:
    """(completion, passes?, no code?) cycling through the ways models answer."""
    style = index % 5
    if style == 0:  # the whole function in a fenced block
        return f"Here it is:\n```python\n{doc['prompt']}{doc['canonical_solution']}```\n", True, False
    if style == 1:  # thinking first, then only the body (continues the prompt)
        return (
            f"<think>Let me write `return None`.</think>\n```python\n{doc['canonical_solution']}```",
            True,
            False,
        )
    if style == 2:
        return f"```python\ndef {doc['entry_point']}(*args):\n    return None\n```", False, False
    if style == 3:
        return "I cannot help with that.", False, True
    return (
        f"<think>```python\n{doc['prompt']}{doc['canonical_solution']}```",
        False,
        True,
    )  # truncated thinking


def test_humaneval_pass_at_1_equals_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    expected: list[tuple[bool, bool]] = []

    def respond(task: str, doc: dict, context: str) -> str:
        assert doc["prompt"] in context
        completion, passes, no_code = _humaneval_answer(len(expected), doc)
        expected.append((passes, no_code))
        return completion

    metrics = _metrics(
        _evaluate(["fairreason_humaneval"], respond, limit=10, confirm=True), "fairreason_humaneval"
    )
    assert metrics["pass@1"] == pytest.approx(sum(p for p, _ in expected) / 10)
    assert metrics["unparsed_rate"] == pytest.approx(sum(n for _, n in expected) / 10)


def test_humaneval_refuses_without_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(CodeExecutionNotAllowed, match=r"HF_ALLOW_CODE_EVAL=1.*--confirm_run_unsafe_code"):
        _evaluate(["fairreason_humaneval"], lambda *_: "", limit=1, confirm=True)
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    with pytest.raises(ValueError, match="confirm_run_unsafe_code"):
        _evaluate(["fairreason_humaneval"], lambda *_: "", limit=1, confirm=False)

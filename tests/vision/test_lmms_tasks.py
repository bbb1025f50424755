"""Both vision tasks through lmms-eval's Python API (via fairreason's runner) with a scripted model.

Every metric is compared with an independent computation over the documents lmms-eval served.
"""

from __future__ import annotations

import json

import pytest

from fairreason_tasks.core import mathverse
from fairreason_tasks.lmms_runner import LmmsRunError, run_lmms

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
LETTERS = "ABC"
# Scripted MathVerse answers, by position: right in the boxed form, a wrong value, nothing.
MATH_ANSWERS = ("\\boxed{{{answer}}}", "\\boxed{{12345}}", "I am not sure.")


def _vlbias_answer(position: int, doc: dict, reference) -> tuple[str, int | None]:
    prediction = reference.scripted_prediction(
        position, doc["label"], doc["biased_index"], doc["unknown_index"], len(doc["options"])
    )
    if prediction is None:
        return "Hard to say from the picture.", None
    return f"<think>Looking at the image.</think>The answer is {LETTERS[prediction]}.", prediction


def _math_answer(position: int, doc: dict) -> str:
    answer = doc["answer"].replace("\n", ", ")
    return MATH_ANSWERS[position % 3].format(answer=answer)


def test_every_metric_matches_an_independent_computation(vision_data_dir, tmp_path, reference):
    served: dict[str, list] = {"fairreason_vlbiasbench": [], "fairreason_mathverse": []}

    def respond(task: str, doc: dict) -> str:
        position = len(served[task])
        if task == "fairreason_vlbiasbench":
            text, prediction = _vlbias_answer(position, doc, reference)
            served[task].append((doc, prediction))
        else:
            text = _math_answer(position, doc)
            served[task].append((doc, text))
        return text

    model = reference.scripted_lmms(respond)
    results = run_lmms(
        model,
        tasks=["fairreason_vision"],
        output=tmp_path / "out",
        metadata={"data_dir": str(vision_data_dir)},
        log_samples=True,
    )
    assert len(served["fairreason_mathverse"]) == 48 and len(served["fairreason_vlbiasbench"]) in (12, 48)
    with_image = sum(bool(doc["image"]) for doc, _ in served["fairreason_mathverse"])
    assert with_image == 40 and model.images_seen == len(served["fairreason_vlbiasbench"]) + with_image

    bias = {
        key.removesuffix(",none"): value
        for key, value in results["results"]["fairreason_vlbiasbench"].items()
    }
    rows = [
        {
            "category": doc["category"],
            "subset": doc["subset"],
            "condition": doc["context_condition"],
            "label": doc["label"],
            "unknown": doc["unknown_index"],
            "biased": doc["biased_index"],
            "prediction": prediction,
        }
        for doc, prediction in served["fairreason_vlbiasbench"]
    ]
    reference.assert_metrics_match(
        bias, rows, {row["category"] for row in rows}, {row["subset"] for row in rows}
    )
    assert bias["n_items"] == len(rows) > 0
    assert bias["n_unparsed"] == sum(row["prediction"] is None for row in rows)

    math_scores = {
        key.removesuffix(",none"): value for key, value in results["results"]["fairreason_mathverse"].items()
    }
    docs = served["fairreason_mathverse"]
    correct = [position % 3 == 0 for position in range(len(docs))]  # only the boxed reference is right
    assert math_scores["acc"] == pytest.approx(sum(correct) / len(docs))
    assert math_scores["unparsed_rate"] == pytest.approx(
        sum(position % 3 == 2 for position in range(len(docs))) / len(docs)
    )
    for version in mathverse.VERSIONS:
        mine = [
            flag for flag, (doc, _) in zip(correct, docs, strict=True) if doc["problem_version"] == version
        ]
        assert math_scores[f"acc_{mathverse.version_key(version)}"] == pytest.approx(sum(mine) / len(mine))
    assert math_scores["judged_rate"] == 0
    assert list((tmp_path / "out").rglob("*results*.json"))


def test_malformed_record_stops_the_run_with_the_named_field(tmp_path, reference):
    data_dir = reference.make_data_dir(tmp_path / "data", "hub")
    path = data_dir / "vlbiasbench" / "json" / "scene" / "SES.json"
    records = json.loads(path.read_text())
    del records[1]["condition"]
    path.write_text(json.dumps(records))
    model = reference.scripted_lmms(lambda task, doc: "A")
    with pytest.raises(LmmsRunError) as caught:
        run_lmms(
            model,
            tasks=["fairreason_vlbiasbench"],
            output=tmp_path / "out",
            metadata={"data_dir": str(data_dir)},
        )
    message = str(caught.value)
    assert f"{path} record 1: field 'condition': expected a string, found 'missing'" in message
    assert "the record has fields ['ans0', 'ans1', 'ans2', 'category'" in message


def test_unreachable_judge_fails_before_generation(monkeypatch, vision_data_dir):
    utils = pytest.importorskip("fairreason_tasks.vision_tasks.mathverse.utils")
    monkeypatch.setenv("FAIRREASON_DATA_DIR", str(vision_data_dir))
    monkeypatch.setenv("FAIRREASON_JUDGE", "openai-compatible")
    monkeypatch.setenv("FAIRREASON_JUDGE_MODEL", "judge")
    monkeypatch.setenv("FAIRREASON_JUDGE_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: nothing listens
    with pytest.raises(utils.JudgeError, match="judge 'judge' at http://127.0.0.1:9/v1/models failed"):
        utils.process_docs(None)
    monkeypatch.delenv("FAIRREASON_JUDGE_BASE_URL")
    with pytest.raises(utils.JudgeError, match="needs FAIRREASON_JUDGE_BASE_URL"):
        utils.judge_settings()


def test_metric_lists_in_the_yamls_follow_the_core():
    import yaml

    from fairreason_tasks.core import vlbias
    from fairreason_tasks.core.trace_bias import TRACE_METRICS
    from fairreason_tasks.locate import tasks_path

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    for folder, names in (
        ("vlbiasbench", [*vlbias.metric_names(), *TRACE_METRICS]),
        ("mathverse", mathverse.metric_names()),
    ):
        config = yaml.load(
            (tasks_path("lmms") / folder / f"fairreason_{folder}.yaml").read_text(), Loader=Loader
        )
        assert [entry["metric"] for entry in config["metric_list"]] == names
        assert all(entry["aggregation"] == f"utils.agg_{entry['metric']}" for entry in config["metric_list"])

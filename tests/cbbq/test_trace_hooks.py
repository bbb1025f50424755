"""The optional trace scorers: a reward model's fairness head, and the OpenAI-compatible judge."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from fairreason_tasks.tasks import trace_hooks
from fairreason_tasks.vision_tasks.mathverse.utils import JudgeError


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory):
    """A tiny sequence classifier with fairness / neutrality / fluency heads (random weights)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from trainers.tiny_models import build_tiny_text_model

    base = build_tiny_text_model(
        tmp_path_factory.mktemp("rm_base"), ["若是A。", "The grandfather forgot."] * 20
    )
    heads = {0: "neutrality", 1: "fairness", 2: "fluency"}
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=3,
        id2label=heads,
        label2id={v: k for k, v in heads.items()},
        pad_token_id=tokenizer.pad_token_id,
        problem_type="regression",
    )
    folder = tmp_path_factory.mktemp("rm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_reward_model_scorer_reads_the_fairness_head(reward_model_dir):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    texts = ["若是A。", "The grandfather forgot his phone, a longer paragraph than the first one."]
    scores = trace_hooks.reward_model_scorer(reward_model_dir)(texts)
    model = AutoModelForSequenceClassification.from_pretrained(reward_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(reward_model_dir)
    with torch.no_grad():
        expected = [model(**tokenizer(text, return_tensors="pt")).logits[0, 1].item() for text in texts]
    assert scores == pytest.approx(expected, abs=1e-4)


def test_reward_model_without_fairness_head_is_refused(reward_model_dir, tmp_path):
    config = json.loads((reward_model_dir / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b", "2": "c"}
    for name in reward_model_dir.iterdir():
        (tmp_path / name.name).write_bytes(name.read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(trace_hooks.TraceScorerError, match="no 'fairness' head"):
        trace_hooks.reward_model_scorer(tmp_path)
    with pytest.raises(trace_hooks.TraceScorerError, match="not a folder"):
        trace_hooks.reward_model_scorer(tmp_path / "missing")


class _Judge(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _reply(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply({"data": [{"id": "judge-1"}]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = request["messages"][0]["content"]
        self._reply(
            {
                "choices": [
                    {
                        "message": {
                            "content": "3" if "stereotype says" in prompt.split("Paragraph:")[1] else "0"
                        }
                    }
                ]
            }
        )


def test_judge_rates_paragraphs_and_fails_loudly(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Judge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("FAIRREASON_JUDGE_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
        state: dict = {}
        trace_hooks.configure_fairness({"trace_judge": "judge-1"}, state)
        assert state["fairness"](["The stereotype says he forgot.", "Nothing is stated."]) == [0.25, 1.0]
        with pytest.raises(trace_hooks.TraceScorerError, match="not both"):
            trace_hooks.configure_fairness({"trace_judge": "judge-1", "reward_model": "/x"}, state)
    finally:
        server.shutdown()
    monkeypatch.setenv(
        "FAIRREASON_JUDGE_BASE_URL", "http://127.0.0.1:9/v1"
    )  # nothing listens: checked before use
    with pytest.raises(JudgeError, match="judge-1"):
        trace_hooks.configure_fairness({"trace_judge": "judge-1"}, {})
    monkeypatch.delenv("FAIRREASON_JUDGE_BASE_URL")
    with pytest.raises(JudgeError, match="FAIRREASON_JUDGE_BASE_URL"):
        trace_hooks.judge_scorer("judge-1")

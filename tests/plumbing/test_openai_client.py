"""The one OpenAI-compatible client against a real local HTTP server: answers, retries, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fairreason_tasks.openai_client import ChatClient, EndpointError


class _Handler(BaseHTTPRequestHandler):
    script: list[tuple[int, object]] = []
    seen: list[dict] = []

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        status, payload = type(self).script.pop(0)
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.script, _Handler.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _completion(text: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


def test_sends_model_messages_and_key_and_returns_the_text(server: str) -> None:
    _Handler.script = [(200, {"data": []}), (200, _completion("Answer: B"))]
    client = ChatClient(server, "judge-1", api_key="k")
    client.probe()
    assert client.chat([{"role": "user", "content": "q"}], max_tokens=8) == "Answer: B"
    sent = _Handler.seen[1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k"
    assert sent["body"] == {
        "model": "judge-1",
        "messages": [{"role": "user", "content": "q"}],
        "max_tokens": 8,
    }


def test_retries_a_busy_server_then_succeeds(server: str) -> None:
    _Handler.script = [(503, {"error": "busy"}), (429, {"error": "slow down"}), (200, _completion("ok"))]
    assert ChatClient(server, "m", retries=3, backoff_s=0).chat([]) == "ok"
    assert len(_Handler.seen) == 3


@pytest.mark.parametrize(
    ("status", "payload", "says"),
    [
        (200, {"choices": []}, "sent no message"),
        (200, "not json", "failed"),
        (401, {"error": "bad key"}, "401"),
    ],
)
def test_a_bad_answer_is_one_clear_error(server: str, status: int, payload: object, says: str) -> None:
    _Handler.script = [(status, payload)]
    with pytest.raises(EndpointError, match=says) as error:
        ChatClient(server, "m", retries=0).chat([])
    assert "'m'" in str(error.value)


def test_an_unreachable_endpoint_names_the_url() -> None:
    with pytest.raises(EndpointError, match="127.0.0.1:9/v1/models"):
        ChatClient("http://127.0.0.1:9/v1", "m", retries=0, timeout_s=2).probe()

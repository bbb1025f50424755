"""One client for every OpenAI-compatible endpoint fairreason talks to (judges, trace teachers).

vLLM and SGLang servers and hosted APIs all speak `/chat/completions`; this is the one place that
sends to them, with timeouts, retries (urllib3's, on connection errors, 429 and 5xx, backing off)
and errors that name the endpoint and the model. Uses `requests`, which lm-eval already brings.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from fairreason_tasks.runrecord import FairreasonError

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_RETRIES = 5
RETRY_STATUSES = (429, 500, 502, 503, 504)


class EndpointError(FairreasonError, RuntimeError):
    """The endpoint did not answer, refused, or answered something that is not a chat completion."""


class ChatClient:
    """`chat(messages) -> str` against `base_url` (e.g. http://localhost:8000/v1) for `model`."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = 1.0,
    ) -> None:
        if not base_url or not model:
            raise EndpointError(
                f"an OpenAI-compatible endpoint needs a base URL and a model, got {base_url!r} and {model!r}"
            )
        self.base_url, self.model, self.timeout_s = base_url.rstrip("/"), model, timeout_s
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=backoff_s,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["Content-Type"] = "application/json"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The endpoint's JSON answer to one request; EndpointError naming the URL otherwise."""
        url = self.base_url + path
        try:
            response = self.session.request(method, url, json=payload, timeout=self.timeout_s)
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as error:
            raise EndpointError(f"{self.model!r} at {url} failed: {error}") from error
        if not isinstance(answer, dict):
            raise EndpointError(f"{self.model!r} at {url} answered {str(answer)[:200]!r}, not a JSON object")
        return answer

    def probe(self) -> None:
        """Fail now, before any generation, when the endpoint is unreachable (GET /models)."""
        self.request("GET", "/models")

    def chat(self, messages: list[dict[str, Any]], **params: Any) -> str:
        """The first choice's message text (max_tokens, temperature, ... go in `params`)."""
        reply = self.request(
            "POST", "/chat/completions", {"model": self.model, "messages": messages, **params}
        )
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as error:
            raise EndpointError(
                f"{self.model!r} at {self.base_url} sent no message: {str(reply)[:200]}"
            ) from error
        return content or ""

"""The judge the tasks ask (MathVerse answers, trace bias intensity): the shared OpenAI-compatible client.

FAIRREASON_JUDGE_BASE_URL (e.g. http://localhost:8000/v1) and optionally FAIRREASON_JUDGE_API_KEY
say where it runs. A judge is probed when it is set up, before any generation, and every failure
is a `JudgeError` naming the model: an unreachable judge never turns into a score.
"""

from __future__ import annotations

import os

from fairreason_tasks.openai_client import ChatClient, EndpointError

BASE_URL_ENV = "FAIRREASON_JUDGE_BASE_URL"
API_KEY_ENV = "FAIRREASON_JUDGE_API_KEY"
JUDGE_TIMEOUT_S = 60.0
JUDGE_RETRIES = 2  # a short retry: a judge that is down fails the run in seconds, before generation


class JudgeError(EndpointError):
    """The configured judge could not be reached or gave no verdict."""


def judge_client(model: str, role: str) -> ChatClient:
    """A probed client for `model` at FAIRREASON_JUDGE_BASE_URL; `role` names it in errors."""
    base_url = os.environ.get(BASE_URL_ENV, "")
    if not base_url:
        raise JudgeError(f"{role} {model!r} needs {BASE_URL_ENV} (an OpenAI-compatible endpoint)")
    client = ChatClient(
        base_url,
        model,
        api_key=os.environ.get(API_KEY_ENV) or None,
        timeout_s=JUDGE_TIMEOUT_S,
        retries=JUDGE_RETRIES,
    )
    try:
        client.probe()
    except EndpointError as error:
        raise JudgeError(f"judge {error}") from error
    return client


def judge_reply(client: ChatClient, prompt: str, allowed: str) -> str:
    """The judge's one-character reply to `prompt`, one of `allowed`; JudgeError otherwise."""
    try:
        reply = client.chat([{"role": "user", "content": prompt}], temperature=0, max_tokens=4).strip()
    except EndpointError as error:
        raise JudgeError(f"judge {error}") from error
    if not reply or reply[0] not in allowed:
        raise JudgeError(
            f"judge {client.model!r} at {client.base_url} answered {reply!r}, expected one of {allowed}"
        )
    return reply[0]

"""Checks `fairreason score` runs before any work: is the model there, do the tasks exist, and
how many new tokens the model's context leaves room for.

Each failure is a `PreflightError` whose message is one line naming the problem and the fix, so a
newcomer never meets a 57-line traceback about repo ids for a mistyped folder.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fairreason_tasks.runrecord import FairreasonError

# Tokens kept for the prompt when the generation budget is capped: a quarter of the context, at
# most 2,048 (Qwen3's 40,960-token context then leaves exactly its protocol's 38,912 new tokens).
MAX_PROMPT_ROOM = 2048
# lm-eval's hf backend: a model whose config and tokenizer name no length gets this context.
LM_EVAL_DEFAULT_CONTEXT = 2048
CAPPED_BACKENDS = ("hf", "vllm")


# Modules an optional extra installs (setup.cfg [options.extras_require]).
EXTRA_OF_MODULE = {
    "trl": "train",
    "peft": "train",
    "lmms_eval": "vision",
    "decord": "vision",
    "torchvision": "vision",
    "vllm": "vllm",
}


class PreflightError(FairreasonError, ValueError):
    """A run that cannot start; the message says why and what to do."""


def missing_modules(modules: Iterable[str]) -> list[str]:
    """Which of `modules` cannot be imported here (found without importing them)."""
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package missing, or a module blanked out
            found = False
        if not found:
            missing.append(name)
    return missing


def extra_hint(module: str) -> str:
    """One line: which extra installs `module`."""
    extra = EXTRA_OF_MODULE.get(module)
    install = f'pip install "fairreason[{extra}]"' if extra else f"pip install {module}"
    return f"needs {module}, which is not installed: {install}"


def require_extra(modules: Iterable[str], extra: str) -> None:
    """Raise PreflightError naming the extra when any of `modules` is missing."""
    missing = missing_modules(modules)
    if missing:
        raise PreflightError(
            f'needs {", ".join(missing)}, which is not installed: pip install "fairreason[{extra}]"'
        )


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or value.count("/") > 1 or "\\" in value


def _is_hub_id(value: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


def model_source(model_args: Mapping[str, str]) -> str | None:
    """The folder or hub id a harness backend will load (`pretrained=`, or vLLM-style `model=`)."""
    return model_args.get("pretrained") or model_args.get("model")


def check_model_source(model_args: Mapping[str, str]) -> Any | None:
    """Fail early when the model is neither a folder nor a hub id; return its config when loadable.

    The config (no weights) also tells the context length. A hub id that cannot be resolved
    (offline, private, mistyped) is one line too.
    """
    source = model_source(model_args)
    if not source:
        return None
    local = Path(source).expanduser()
    if not local.exists() and (_looks_like_path(source) or not _is_hub_id(source)):
        raise PreflightError(
            f"model {source!r}: no such folder, and not a hub id (a hub id looks like "
            "org/name); check the pretrained= path"
        )
    from transformers import AutoConfig

    trust = str(model_args.get("trust_remote_code", "")).lower() == "true"
    try:
        return AutoConfig.from_pretrained(
            str(local) if local.exists() else source,
            trust_remote_code=trust,
            revision=model_args.get("revision"),
        )
    except (OSError, ValueError) as error:
        where = "folder" if local.exists() else "hub id (no such local folder)"
        first = " ".join(str(error).split())[:300]
        raise PreflightError(
            f"model {source!r}: cannot read its config as a {where}: {first}; "
            "check the name, or download it first when offline (HF_HUB_OFFLINE=1)"
        ) from error


def context_length(model: str, model_args: Mapping[str, str], config: Any | None) -> int | None:
    """The context the backend will use, as lm-eval computes it; None when this cannot be known."""
    if model not in CAPPED_BACKENDS:
        return None
    explicit = model_args.get("max_length" if model == "hf" else "max_model_len")
    if explicit:
        return int(explicit)
    if config is None:
        return None
    from lm_eval.models.utils import resolve_max_length

    tokenizer = None
    source = Path(model_source(model_args) or "").expanduser()
    tokenizer_config = source / "tokenizer_config.json"
    if tokenizer_config.is_file():
        limit = json.loads(tokenizer_config.read_text()).get("model_max_length")
        tokenizer = SimpleNamespace(model_max_length=limit) if isinstance(limit, int) else None
    return int(resolve_max_length(config, tokenizer, default=LM_EVAL_DEFAULT_CONTEXT))


def generation_cap(context: int) -> int:
    """The most new tokens that leave room for a prompt in `context` tokens."""
    return context - min(MAX_PROMPT_ROOM, context // 4)


def check_task_names(names: Iterable[str], known: Iterable[str]) -> None:
    """Unknown task names, with the closest known ones, before anything loads."""
    known = sorted(known)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise PreflightError(
                f"unknown task {name!r}: {hint}the fairreason tasks and groups are the "
                f"*.yaml files under `fairreason tasks-path`; or use --suite"
            )

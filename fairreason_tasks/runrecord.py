"""Plumbing every layer shares, below them all: the error base classes, UTC timestamps, package
versions, atomic JSON writes, harness model-args parsing and the `fairreason.json` run record.

Standard library only, and importing nothing from fairreason, so `core/`, the harness adapters,
the trainers, the leaderboards and the studies can all use it without an import going up
(the layers are in pyproject.toml, `[tool.importlinter]`).
"""

from __future__ import annotations

import json
import os
import platform
import uuid
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

RUN_RECORD = "fairreason.json"
# Keys of a run record that a score or a leaderboard row carries along.
PROVENANCE_KEYS = ("paradigm", "debias_ratio", "recipe", "seed")
VERSIONED_PACKAGES = (
    "lm_eval",
    "lmms_eval",
    "transformers",
    "torch",
    "datasets",
    "math-verify",
    "trl",
    "vllm",
    "accelerate",
    "tokenizers",
)
# Keys of harness model_args that name the model's weights, most specific first.
MODEL_PATH_KEYS = ("peft", "pretrained", "model", "path")


class FairreasonError(Exception):
    """Base of fairreason's own errors: a message meant for the user, naming file, line or field."""


class SchemaError(FairreasonError, ValueError):
    """A benchmark or results file does not have the fields its schema requires."""


class ScoreError(FairreasonError, RuntimeError):
    """A harness ran but produced no usable results; the message says why."""


class RunRecordError(FairreasonError, ValueError):
    """A checkpoint's `fairreason.json` cannot be read."""


def utc_timestamp() -> str:
    """Now, in UTC, as every fairreason record writes it (`2026-01-31T12:00:00Z`)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def package_versions() -> dict[str, str]:
    """Versions that produced a result, for the record (absent packages are left out)."""
    from fairreason_tasks import __version__  # the package's own version: no other module is loaded

    versions = {"fairreason": __version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def write_json_atomically(path: Path, payload: Any, *, sort_keys: bool = False) -> None:
    """Write to a temporary file and rename: an interrupted run never leaves half a file.

    The file gets the mode any new file gets (0644 under the usual umask 022), not mkstemp's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(payload, stream, indent=2, sort_keys=sort_keys, allow_nan=True)
            stream.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_model_args(model_args: str | dict | None) -> dict[str, str]:
    """lm-eval's `key=value,key=value` model_args (or a dict of them) as a dict of strings."""
    if isinstance(model_args, dict):
        return {str(k): str(v) for k, v in model_args.items()}
    pairs = [part.split("=", 1) for part in (model_args or "").split(",") if "=" in part]
    return {key.strip(): value.strip() for key, value in pairs}


def model_display_name(model_args: str | dict | None, fallback: str) -> str:
    """The last path component of the model's weights (peft adapter first), else `fallback`."""
    args = parse_model_args(model_args)
    for key in MODEL_PATH_KEYS:
        if args.get(key):
            return Path(args[key].rstrip("/")).name or args[key]
    return fallback


def read_run_record(model_args: str | dict | None) -> dict[str, Any]:
    """The `fairreason.json` that `fairreason train` wrote next to the `pretrained` weights, or {}.

    A checkpoint without one (a hub model) gives {}; one that is not a JSON object is an error.
    """
    path = parse_model_args(model_args).get("pretrained")
    record = Path(path) / RUN_RECORD if path else None
    if record is None or not record.is_file():
        return {}
    try:
        payload = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunRecordError(f"{record}: not valid JSON ({error})") from error
    if not isinstance(payload, dict):
        raise RunRecordError(f"{record}: expected a JSON object, found {type(payload).__name__}")
    return payload


def provenance(model_args: str | dict | None) -> dict[str, Any]:
    """Paradigm, debias ratio, recipe and seed of the checkpoint `model_args` names, when recorded."""
    record = read_run_record(model_args)
    return {key: record[key] for key in PROVENANCE_KEYS if key in record}

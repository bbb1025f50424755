"""The training data the FairReason authors published, as recipe data sources with explicit column mappings.

- `messages` (reasoning; open-r1/Mixture-of-Thoughts and other chat-format trace sets): the
  messages before the last assistant turn are the prompt, the last assistant turn (thinking
  included) the SFT / distillation target; rows are filtered on `num_tokens` and `source`. When
  the core grader can read a final answer from the target (`extract_math_answer`), the row is a
  `math` row with that answer, so GRPO grades it like MATH-500; other rows are `reasoning` rows,
  which GRPO leaves out (counted, in `build_mix`).
- `bbq_traces` (debias; Aaron080108/BBQ_Benchmark_Reasoning_Trace, BBQ items answered by
  DeepSeek-R1): every row is matched back to its BBQ item by context, question and options, so
  the training-pool split still holds: rows of held-out templates are dropped, as are rows that
  match no item and traces whose final answer the BBQ reader does not accept (the rule
  `fairreason traces` keeps traces by). Every drop is counted by reason in the manifest.
- `llava_cot` (vision reasoning; Xkev/LLaVA-CoT-100k): `conversations` of human/gpt turns over one
  image; the gpt turn is the target, its <CONCLUSION> the answer when one can be read.

The hub schemas cannot be checked offline, so each source names the columns it expects
(`DEFAULT_COLUMNS`), a recipe may remap them (`columns:`), and a missing column is an error
naming it and the mapping field to set. `path` is a hub dataset id (with `revision`: a commit
sha, recorded in the manifest; `main` is accepted and recorded as unpinned) or a local
.jsonl / .json / .parquet file or folder of them (tests and offline copies).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset

from fairreason_tasks.core import bbq, data
from fairreason_tasks.core.extract import extract_math_answer
from trainers.recipe import ReasoningSource, RecipeError
from trainers.rows import MATH_TASK, NOT_BBQ, bbq_row, image_user_turn

REASONING_TASK = "reasoning"  # a trace with no answer the core grader reads: SFT / distillation only
LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")
DEFAULT_COLUMNS: dict[str, dict[str, Any]] = {
    "messages": {"messages": "messages", "num_tokens": "num_tokens", "source": "source"},
    "bbq_traces": {
        "context": "context",
        "question": "question",
        "options": ["ans0", "ans1", "ans2"],
        "response": "response",
        "reasoning": None,
        "id": None,
    },
    "llava_cot": {"conversations": "conversations", "image": "image", "id": "id"},
}
OPTIONAL_COLUMNS = {
    "num_tokens",
    "source",
    "reasoning",
    "id",
}  # absent: no filter / no extra text / row index
LLAVA_ROLES = {"role_key": "from", "content_key": "value", "user": "human", "assistant": "gpt"}
_CONCLUSION = ("<CONCLUSION>", "</CONCLUSION>")
SHORT_ANSWER_CHARS = 24  # a conclusion this short on one line is an answer in itself ("B", "12 cm")


# ---- reading a source ---------------------------------------------------------------------------


def _local_files(path: Path) -> list[Path]:
    files = sorted(p for p in path.rglob("*") if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise RecipeError(f"{path}: no {'/'.join(LOCAL_SUFFIXES)} files inside")
    return files


def load_source(
    path: str, *, name: str | None = None, split: str = "train", revision: str | None = None, where: str
) -> tuple[Dataset, dict[str, str]]:
    """The rows of a hub dataset (at `revision`) or of local files, and what they were read from."""
    from datasets import load_dataset

    local = Path(path).expanduser()
    if local.exists() or local.suffix in LOCAL_SUFFIXES:
        if not local.exists():
            raise RecipeError(f"{where}: {local} does not exist")
        files = _local_files(local)
        kind = "parquet" if files[0].suffix == ".parquet" else "json"
        rows = load_dataset(kind, data_files=[str(f) for f in files], split="train")
        return rows, {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    if not revision:
        raise RecipeError(
            f"{where}: field 'revision' is required for a hub source (a commit sha; "
            f"'main' accepts whatever the hub serves today and is recorded as unpinned)"
        )
    rows = load_dataset(path, name, split=split, revision=revision)
    label = f"{path}/{name or 'default'}@{revision}[{split}]"
    return rows, {label: rows._fingerprint, f"{label}:resolved_revision": _resolved_revision(path, revision)}


def _resolved_revision(path: str, revision: str) -> str:
    """The commit a revision named (a branch moves; the manifest keeps the commit), or 'unresolved'."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(path, revision=revision).sha or "unresolved"
    except Exception:  # noqa: BLE001 (offline or no access: the fingerprint still identifies the rows)
        return "unresolved"


def column_map(
    kind: str, given: Mapping[str, Any] | None, columns: Iterable[str], *, where: str, field: str
) -> dict[str, Any]:
    """The source's expected columns with the recipe's remapping; a missing one names the field to set."""
    mapping = {**DEFAULT_COLUMNS[kind], **dict(given or {})}
    unknown = sorted(set(mapping) - set(DEFAULT_COLUMNS[kind]))
    if unknown:
        raise RecipeError(
            f"{where}: {field}.columns has unknown keys {unknown}; known: {sorted(DEFAULT_COLUMNS[kind])}"
        )
    present = set(columns)
    for key, column in mapping.items():
        wanted = column if isinstance(column, list) else [column]
        for name in wanted:
            if name is None or name in present:
                continue
            if key in OPTIONAL_COLUMNS and column == DEFAULT_COLUMNS[kind][key]:
                mapping[key] = None  # an optional column the source does not have
                break
            raise RecipeError(
                f"{where}: column {name!r} not found (columns: {', '.join(sorted(present))}); "
                f"set {field}.columns.{key} to the column that holds it"
            )
    return mapping


# ---- messages-style reasoning traces ------------------------------------------------------------


def _split_chat(messages: Any, where: str) -> tuple[list[dict[str, str]], str]:
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
        raise RecipeError(f"{where}: messages must be a list of {{role, content}} objects")
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None or not any(m.get("role") == "user" for m in messages[:last]):
        raise RecipeError(f"{where}: a row needs a user message followed by an assistant message")
    prompt = [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in messages[:last]]
    return prompt, str(messages[last].get("content") or "")


def reasoning_row(
    row_id: str, prompt: list[dict[str, Any]], target: str, answer: str | None
) -> dict[str, Any]:
    """A reasoning row in the mix's columns: `math` when the core grader reads an answer, else `reasoning`."""
    return {
        "id": row_id,
        "task": MATH_TASK if answer else REASONING_TASK,
        "prompt": prompt,
        "target": target,
        "answer": answer or "",
        **NOT_BBQ,
    }


def messages_rows(spec: ReasoningSource, dropped: Counter) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rows of a messages-format trace set, filtered on num_tokens and source; drops counted in `dropped`."""
    where = f"data.reasoning ({spec.path})"
    table, checksums = load_source(
        spec.path, name=spec.name, split=spec.split, revision=spec.revision, where=where
    )
    columns = column_map("messages", spec.columns, table.column_names, where=where, field="data.reasoning")
    if spec.max_num_tokens is not None and not columns["num_tokens"]:
        raise RecipeError(
            f"{where}: max_num_tokens needs a num_tokens column; set data.reasoning.columns.num_tokens"
        )
    if spec.sources and not columns["source"]:
        raise RecipeError(f"{where}: sources needs a source column; set data.reasoning.columns.source")
    rows = []
    for index, record in enumerate(table):
        origin = record[columns["source"]] if columns["source"] else None
        if spec.sources and origin not in spec.sources:
            dropped["source_not_selected"] += 1
            continue
        if spec.max_num_tokens is not None and int(record[columns["num_tokens"]]) > spec.max_num_tokens:
            dropped["over_max_num_tokens"] += 1
            continue
        prompt, target = _split_chat(record[columns["messages"]], f"{where} row {index}")
        gradable = spec.math_sources is None or origin in spec.math_sources
        answer = extract_math_answer(target) if gradable else None
        rows.append(reasoning_row(f"{spec.path}/{spec.name or 'default'}/{index}", prompt, target, answer))
    return rows, checksums


# ---- BBQ items with R1 traces -------------------------------------------------------------------


def _key(context: str, question: str) -> tuple[str, str]:
    return " ".join(context.split()).casefold(), " ".join(question.split()).casefold()


def _options_of(record: Mapping[str, Any], mapping: Any) -> list[str]:
    values = record[mapping] if isinstance(mapping, str) else [record[column] for column in mapping]
    return [str(value).strip() for value in values]


def _reordered(item: bbq.BBQItem, options: Sequence[str]) -> bbq.BBQItem | None:
    """The item with its options in the source row's order (the trace's letters refer to that order)."""
    normalized = [" ".join(o.split()).casefold() for o in item.options]
    wanted = [" ".join(o.split()).casefold() for o in options]
    if sorted(normalized) != sorted(wanted) or len(set(wanted)) != 3:
        return None
    order = [normalized.index(option) for option in wanted]  # new position i shows old option order[i]
    moved = {old: new for new, old in enumerate(order)}

    def index(old: int | None) -> int | None:
        return None if old is None else moved[old]

    return dataclasses.replace(
        item,
        options=tuple(item.options[old] for old in order),
        label=moved[item.label],
        unknown_index=moved[item.unknown_index],
        target_index=index(item.target_index),
        biased_index=index(item.biased_index),
    )


def bbq_trace_rows(
    spec: Mapping[str, Any],
    *,
    data_dir: str | Path | None,
    categories: Sequence[str] | None,
    dropped: Counter,
    where: str,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Training-pool BBQ rows whose target is the source's accepted trace; drops counted by reason."""
    from trainers.rewards import accepted, sample_rewards

    field = "data.debias"
    if not spec.get("path"):
        raise RecipeError(f"{where}: field '{field}.path' is required for source 'bbq_traces'")
    configs = spec.get("configs") or [spec.get("name")]
    items = data.load_bbq(categories=categories, data_dir=data_dir, split="all")
    by_key: dict[tuple[str, str], list[bbq.BBQItem]] = {}
    for item in items:
        by_key.setdefault(_key(item.context, item.question), []).append(item)
    rows, checksums, seen = [], {}, set()
    for config in configs:
        table, sums = load_source(
            str(spec["path"]),
            name=config,
            split=spec.get("split", "train"),
            revision=spec.get("revision"),
            where=f"{where}: {field}",
        )
        checksums.update(sums)
        columns = column_map(
            "bbq_traces", spec.get("columns"), table.column_names, where=f"{where}: {field}", field=field
        )
        for record in table:
            candidates = by_key.get(
                _key(str(record[columns["context"]]), str(record[columns["question"]])), []
            )
            options = _options_of(record, columns["options"])
            match = next((moved for item in candidates if (moved := _reordered(item, options))), None)
            if match is None:
                dropped["not_in_bbq"] += 1
                continue
            if not bbq.is_training_template(match.category, match.question_index):
                dropped["held_out_template"] += 1
                continue
            row = bbq_row(match)
            if row["id"] in seen:
                dropped["duplicate_item"] += 1
                continue
            response = str(record[columns["response"]] or "")
            reasoning = str(record[columns["reasoning"]] or "") if columns["reasoning"] else ""
            trace = (
                f"<think>{reasoning.strip()}</think>\n{response.strip()}" if reasoning.strip() else response
            )
            if not accepted(sample_rewards(trace, row)):
                dropped["answer_rejected"] += 1
                continue
            seen.add(row["id"])
            rows.append({**row, "target": trace})
    return rows, checksums


# ---- LLaVA-CoT (vision reasoning) ---------------------------------------------------------------


def conclusion_answer(reply: str) -> str | None:
    """The answer of a LLaVA-CoT reply: its <CONCLUSION> read by the core grader, or the conclusion
    itself when it is one short line; None when neither holds."""
    start, end = reply.rfind(_CONCLUSION[0]), reply.rfind(_CONCLUSION[1])
    conclusion = reply[start + len(_CONCLUSION[0]) : end].strip() if 0 <= start < end else ""
    if not conclusion:
        return None
    stated = extract_math_answer(conclusion)
    if stated:
        return stated
    return (
        conclusion.rstrip(".") if len(conclusion) <= SHORT_ANSWER_CHARS and "\n" not in conclusion else None
    )


def llava_cot_rows(spec: ReasoningSource, dropped: Counter) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Image rows of LLaVA-CoT: the human turn over the image as the prompt, the gpt turn as the target."""
    where = f"data.reasoning ({spec.path})"
    if not spec.image_root:
        raise RecipeError(
            f"{where}: field 'data.reasoning.image_root' (the folder the image paths start from) "
            "is required for source 'llava_cot'"
        )
    table, checksums = load_source(
        spec.path, name=spec.name, split=spec.split, revision=spec.revision, where=where
    )
    columns = column_map("llava_cot", spec.columns, table.column_names, where=where, field="data.reasoning")
    root = Path(os.path.expandvars(spec.image_root)).expanduser()
    rows = []
    for index, record in enumerate(table):
        turns = record[columns["conversations"]] or []
        human = next((t for t in turns if t.get(LLAVA_ROLES["role_key"]) == LLAVA_ROLES["user"]), None)
        gpt = next(
            (t for t in reversed(turns) if t.get(LLAVA_ROLES["role_key"]) == LLAVA_ROLES["assistant"]), None
        )
        if human is None or gpt is None:
            raise RecipeError(
                f"{where} row {index}: conversations need a {LLAVA_ROLES['user']!r} and a "
                f"{LLAVA_ROLES['assistant']!r} turn (keys {LLAVA_ROLES['role_key']!r}/"
                f"{LLAVA_ROLES['content_key']!r})"
            )
        image = root / str(record[columns["image"]])
        if not image.is_file():
            dropped["image_missing"] += 1
            continue
        question = str(human[LLAVA_ROLES["content_key"]]).replace("<image>", "").strip()
        reply = str(gpt[LLAVA_ROLES["content_key"]])
        row_id = str(record[columns["id"]]) if columns["id"] else str(index)
        row = reasoning_row(f"llava_cot/{row_id}", image_user_turn(question), reply, conclusion_answer(reply))
        rows.append({**row, "image": str(image)})
    return rows, checksums


def gradable_only(rows: Dataset, paradigm: str, dropped: Counter) -> Dataset:
    """GRPO learns from graded answers: rows without one are left out of it (and counted)."""
    if paradigm != "grpo":
        return rows
    kept = rows.filter(lambda row: row["task"] != REASONING_TASK)
    dropped["no_gradable_answer"] += len(rows) - len(kept)
    return kept

"""`fairreason traces`: a teacher writes reasoning traces for the training mix, graded by core.

Each trace is one JSONL record `{"id", "task", "teacher", "completion", "kept", "scores"}`;
`kept` is true only when the core grader accepts the final answer (BBQ: the correct option via
`extract_choice`; math: math-verify; demo arithmetic: the integer sum). Records are appended,
flushed and fsynced one at a time, so a crash or Ctrl-C loses nothing already written; a rerun
skips ids already in the file (a half-written last line from a crash is cut off first), so
there are never duplicates. `fairreason train distill` with `distill.mode: traces` then trains
on the kept ones.

Teachers: a local transformers model (default), vLLM (`--backend vllm`, when installed), or any
OpenAI-compatible `/chat/completions` endpoint (`--backend openai --base-url URL`; the key is
read from the environment variable named by `--api-key-env`).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from trainers.rewards import accepted, sample_rewards

Chat = list[dict[str, str]]
Teacher = Callable[[Sequence[Chat]], list[str]]  # prompts -> one completion each


class TraceOutputBusy(RuntimeError):
    """Another process is writing the same trace file."""


class TraceWriter:
    """Append-only JSONL of traces that survives crashes: one durable record per write.

    The writer holds an exclusive lock (flock) on its file from opening to closing, so a second
    `fairreason traces` on the same output is refused (`TraceOutputBusy`) instead of writing every
    record twice; the kernel releases the lock when a writer dies. The file gets the mode of any
    new file (0644 under the usual umask)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        self._handle = self.path.open("a", encoding="utf-8")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            raise TraceOutputBusy(
                f"{self.path} is being written by another fairreason traces; wait for it to "
                "finish (a rerun then resumes) or choose another --output"
            ) from None
        try:
            self._recover()
        except BaseException:
            self._handle.close()
            raise

    def _recover(self) -> None:
        """Read finished ids; cut a half-written final line (the only damage a crash can do)."""
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
        for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                self.done.add(json.loads(line)["id"])
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(
                    f"{self.path}:{number}: not a trace record ({error}); fix or move the file"
                ) from error

    def write(self, record: dict[str, Any]) -> None:
        if record["id"] in self.done:
            raise ValueError(f"{self.path}: trace {record['id']!r} is already written")
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.done.add(record["id"])

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_traces(
    rows: Iterable[dict[str, Any]],
    teacher: Teacher,
    writer: TraceWriter,
    *,
    teacher_name: str,
    batch_size: int = 8,
) -> dict[str, int]:
    """Have `teacher` answer every row not yet in `writer`; returns counts of this call."""
    counts = {"skipped": 0, "written": 0, "kept": 0}
    pending = []
    for row in rows:
        if row["id"] in writer.done:
            counts["skipped"] += 1
            continue
        pending.append(row)
        if len(pending) == batch_size:
            _answer(pending, teacher, writer, teacher_name, counts)
            pending = []
    if pending:
        _answer(pending, teacher, writer, teacher_name, counts)
    return counts


def _answer(
    batch: list[dict[str, Any]],
    teacher: Teacher,
    writer: TraceWriter,
    teacher_name: str,
    counts: dict[str, int],
) -> None:
    completions = teacher([row["prompt"] for row in batch])
    for row, completion in zip(batch, completions, strict=True):
        scores = sample_rewards(completion, row)
        kept = accepted(scores)
        writer.write(
            {
                "id": row["id"],
                "task": row["task"],
                "teacher": teacher_name,
                "completion": completion,
                "kept": kept,
                "scores": scores,
            }
        )
        counts["written"] += 1
        counts["kept"] += kept


# ---- teachers -----------------------------------------------------------------------------------


def transformers_teacher(model: str, *, max_new_tokens: int, temperature: float) -> Teacher:
    """A local model generating with transformers (left-padded batches, the model's chat template)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
    network = AutoModelForCausalLM.from_pretrained(model, dtype="auto")
    network.eval()
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}

    def generate(prompts: Sequence[Chat]) -> list[str]:
        texts = [
            tokenizer.apply_chat_template(list(p), tokenize=False, add_generation_prompt=True)
            for p in prompts
        ]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            network.device
        )
        with torch.no_grad():
            output = network.generate(
                **batch, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
            )
        return tokenizer.batch_decode(output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)

    return generate


def vllm_teacher(model: str, *, max_new_tokens: int, temperature: float) -> Teacher:
    """A local model served in-process by vLLM (GPU; `pip install fairreason[vllm]`)."""
    from vllm import LLM, SamplingParams

    engine = LLM(model=model)
    params = SamplingParams(max_tokens=max_new_tokens, temperature=temperature)

    def generate(prompts: Sequence[Chat]) -> list[str]:
        return [result.outputs[0].text for result in engine.chat([list(p) for p in prompts], params)]

    return generate


def openai_teacher(
    model: str,
    *,
    base_url: str,
    api_key: str | None,
    max_new_tokens: int,
    temperature: float,
    retries: int = 5,
) -> Teacher:
    """Any OpenAI-compatible endpoint (vLLM/SGLang servers, hosted APIs), through the shared client."""
    from fairreason_tasks.openai_client import ChatClient

    client = ChatClient(base_url, model, api_key=api_key, timeout_s=600, retries=retries)

    def generate(prompts: Sequence[Chat]) -> list[str]:
        return [
            client.chat(list(prompt), max_tokens=max_new_tokens, temperature=temperature)
            for prompt in prompts
        ]

    return generate


# ---- CLI ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairreason traces",
        description="Have a teacher write graded reasoning "
        "traces for a recipe's training mix (resumable JSONL).",
    )
    parser.add_argument(
        "--teacher", required=True, help="model path or id (served model name for --backend openai)"
    )
    parser.add_argument(
        "--recipe", required=True, help="recipe whose mix is answered (tiny, qwen3_8b, or a YAML path)"
    )
    parser.add_argument("--output", required=True, help="JSONL file; an existing one is resumed")
    parser.add_argument("--backend", choices=("transformers", "vllm", "openai"), default="transformers")
    parser.add_argument("--base-url", help="openai backend: e.g. http://localhost:8000/v1")
    parser.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key"
    )
    parser.add_argument("--debias-ratio", type=float)
    parser.add_argument("--budget", type=int)
    parser.add_argument("--data-dir")
    parser.add_argument("--max-new-tokens", type=int, default=4096)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--batch-size", type=int, default=8)
    return parser


def traces_main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.backend == "openai" and not args.base_url:
        print("fairreason traces: --backend openai needs --base-url", file=sys.stderr)
        return 2
    try:
        writer = TraceWriter(args.output)  # before any model loads: a second writer stops at once
    except TraceOutputBusy as error:
        print(f"fairreason traces: {error}", file=sys.stderr)
        return 2
    with writer:
        return _write_all(args, writer)


def _write_all(args: argparse.Namespace, writer: TraceWriter) -> int:
    from trainers.data_mix import build_mix
    from trainers.recipe import load_recipe

    mix = build_mix(
        load_recipe(args.recipe, "distill"),
        data_dir=args.data_dir,
        budget=args.budget,
        ratio=args.debias_ratio,
    )
    options = {"max_new_tokens": args.max_new_tokens, "temperature": args.temperature}
    if args.backend == "openai":
        teacher = openai_teacher(
            args.teacher, base_url=args.base_url, api_key=os.environ.get(args.api_key_env), **options
        )
    elif args.backend == "vllm":
        teacher = vllm_teacher(args.teacher, **options)
    else:
        teacher = transformers_teacher(args.teacher, **options)
    try:
        counts = write_traces(
            mix.dataset, teacher, writer, teacher_name=args.teacher, batch_size=args.batch_size
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: {len(writer.done)} traces are safe in {args.output}; rerun to continue",
            file=sys.stderr,
        )
        return 130
    print(json.dumps({"output": args.output, **counts}))
    return 0

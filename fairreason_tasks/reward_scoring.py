"""A trained multi-head reward model read back for scoring: the one loader every layer uses.

The open-ended bias task scores answers with it, the trace hooks read its fairness head, the
multi-reward GRPO trainer rewards with it and `fairreason train reward-model` evaluates it, so a
model is trained against the scorer it is judged by. It sits above `core/` and below the harness
adapters and the trainers; torch and transformers are imported only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fairreason_tasks.core import discrimination as disc

EVAL_FILE = "eval.json"
RECORD_FILE = "fairreason.json"
DEFAULT_MAX_LENGTH = 512


def encode_pairs(tokenizer: Any, prompts: Sequence[str], answers: Sequence[str], max_length: int) -> Any:
    """Tokenise (prompt, answer) as a text pair; a too-long prompt loses its start, keeping the question."""
    tokenizer.truncation_side = "left"
    return tokenizer(
        list(prompts),
        list(answers),
        truncation="longest_first",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )


def weights_sha256(model_dir: str | Path) -> str:
    """sha256 over the checkpoint's weight files (sorted by name): names the exact reward model in results."""
    digest = hashlib.sha256()
    files = sorted(Path(model_dir).glob("*.safetensors")) or sorted(Path(model_dir).glob("*.bin"))
    if not files:
        raise FileNotFoundError(f"{model_dir}: no *.safetensors or *.bin weights")
    for path in files:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class RewardModelScorer:
    """A trained reward model scoring (prompt, answer) pairs in batches: one row of head scores per pair."""

    def __init__(self, path: str | Path, *, batch_size: int = 32, device: str | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise FileNotFoundError(
                f"{self.path}: not a reward model folder (no config.json); "
                "train one with `fairreason train reward-model --recipe rm_minilm --output DIR`"
            )
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = AutoModelForSequenceClassification.from_pretrained(self.path).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.heads = [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]
        record = self.path / RECORD_FILE
        self.max_length = (
            json.loads(record.read_text())["max_length"] if record.is_file() else DEFAULT_MAX_LENGTH
        )
        self.batch_size = batch_size
        self.forward_passes = 0  # counted, so tests and the benchmark can check the sharing

    def score(self, prompts: Sequence[str], answers: Sequence[str], *, clip: bool = True) -> np.ndarray:
        """(n, heads) scores; pairs are batched by length; `clip` bounds them to [0, 1] as the labels are."""
        out = self._forward(
            [len(prompt) + len(answer) for prompt, answer in zip(prompts, answers, strict=True)],
            lambda chunk: encode_pairs(
                self.tokenizer, [prompts[k] for k in chunk], [answers[k] for k in chunk], self.max_length
            ),
        )
        return np.clip(out, 0.0, 1.0) if clip else out

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, heads) unclipped scores of lone texts (trace paragraphs); a too-long text loses its end."""
        self.tokenizer.truncation_side = "right"
        return self._forward(
            [len(text) for text in texts],
            lambda chunk: self.tokenizer(
                [texts[k] for k in chunk],
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            ),
        )

    def score_examples(self, examples: Sequence[disc.Example]) -> list[np.ndarray]:
        """Unclipped scores of every response of every example (for pairwise accuracy)."""
        flat = list(disc.iter_responses(examples))
        scores = self.score([e.prompt for e, _, _ in flat], [r.text for _, _, r in flat], clip=False)
        rows, cursor = [], 0
        for example in examples:
            rows.append(scores[cursor : cursor + len(example.responses)])
            cursor += len(example.responses)
        return rows

    def _forward(self, lengths: list[int], encode: Callable[[list[int]], Any]) -> np.ndarray:
        """Scores of items batched by length (less padding); `encode` tokenises the items it is given."""
        import torch

        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        out = np.zeros((len(lengths), len(self.heads)), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                batch = encode(chunk).to(self.device)
                self.forward_passes += 1
                out[chunk] = self.model(**batch).logits.float().cpu().numpy()
        return out

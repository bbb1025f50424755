"""Tiny causal language models built locally, so tests and the CPU recipes never touch the hub.

The tokenizer is a byte-level BPE trained on the caller's texts (any string still encodes: the
256 byte symbols are always in the vocabulary), wrapped in `PreTrainedTokenizerFast` with a
Qwen-style ChatML template. The template carries `{% generation %}` markers around the assistant
turn (end-of-turn token included), which is what TRL's `assistant_only_loss` needs.
`<think>`, `</think>`, `<answer>`, `</answer>` are ordinary added tokens: one id each, yet kept by
`decode(..., skip_special_tokens=True)`, which is how GRPO decodes completions.

A build is cached: `fairreason_tiny.json` in the output folder records a hash of every input,
and a folder holding the same hash is returned as is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

# Bump when the recipe below changes, so cached folders from an older recipe are rebuilt.
BUILD_VERSION = 2
MARKER_FILE = "fairreason_tiny.json"

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)
ORDINARY_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")
VOCAB_SIZE = 1024
# Room for the tasks' default 4,096 new tokens after a prompt (rotary positions cost no weights).
CONTEXT_LENGTH = 8192

# ChatML as Qwen writes it; `{% generation %}` spans the assistant content and its end-of-turn token.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}"
    "{{- message['content'] + '<|im_end|>\\n' }}"
    "{%- endgeneration %}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

ARCHITECTURES = ("qwen3", "llama")


def build_tiny_text_model(
    out_dir: str | Path, texts: Iterable[str], *, arch: str = "qwen3", seed: int = 0
) -> Path:
    """Build (or reuse) a 2-layer, hidden-64 causal LM and its tokenizer in `out_dir`; return the folder.

    The folder loads with `AutoModelForCausalLM` / `AutoTokenizer`, `lm_eval --model hf` and TRL.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    corpus = list(texts)
    if not corpus:
        raise ValueError("texts is empty: the tokenizer needs some text to learn merges from")
    out = Path(out_dir)
    key = _build_key(corpus, arch, seed)
    if _cached_key(out) == key:
        return out
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_FILE).unlink(missing_ok=True)

    tokenizer = _train_tokenizer(corpus)
    model = _init_model(arch, tokenizer, seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # Written last: a build interrupted before this line is not mistaken for a finished one.
    (out / MARKER_FILE).write_text(json.dumps({"key": key, "arch": arch, "seed": seed}, indent=2) + "\n")
    return out


def _build_key(corpus: list[str], arch: str, seed: int) -> str:
    digest = hashlib.sha256(f"v{BUILD_VERSION}|{arch}|{seed}|{len(corpus)}".encode())
    for text in corpus:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _cached_key(out: Path) -> str | None:
    try:
        return json.loads((out / MARKER_FILE).read_text())["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def train_bpe_tokenizer(
    corpus: list[str],
    *,
    vocab_size: int,
    special_tokens: Sequence[str],
    chat_template: str,
    model_max_length: int,
):
    """A byte-level BPE tokenizer trained on `corpus`, ChatML eos/pad, the thinking tags as ordinary
    tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    backend.add_tokens([AddedToken(token, special=False, normalized=False) for token in ORDINARY_TOKENS])

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        padding_side="left",
        model_max_length=model_max_length,
    )
    tokenizer.chat_template = chat_template
    return tokenizer


def _train_tokenizer(corpus: list[str]):
    return train_bpe_tokenizer(
        corpus,
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        chat_template=CHAT_TEMPLATE,
        model_max_length=CONTEXT_LENGTH,
    )


def _init_model(arch: str, tokenizer, seed: int):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen3Config

    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=CONTEXT_LENGTH,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    config = Qwen3Config(**shape) if arch == "qwen3" else LlamaConfig(**shape)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model

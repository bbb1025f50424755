"""The locally built tiny model loads like a hub checkpoint, templates chats, and is cached and seeded."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainers.tiny_models import MARKER_FILE, ORDINARY_TOKENS, build_tiny_text_model

CORPUS = ["What is 12 + 30? <think>12 + 30 = 42</think> Answer: 42", "The nurse and the doctor talked."] * 5


def test_loads_and_applies_chat_template(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert model.config.vocab_size == len(tokenizer)

    chat = [{"role": "user", "content": "Who was forgetful?"}]
    prompt = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nWho was forgetful?<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"

    answer = "<think>not enough information</think> Answer: C"
    rendered = tokenizer.apply_chat_template(
        [*chat, {"role": "assistant", "content": answer}], return_dict=True, return_assistant_tokens_mask=True
    )
    assistant_ids = [i for i, m in zip(rendered["input_ids"], rendered["assistant_masks"], strict=True) if m]
    # The loss mask covers exactly the answer and its end-of-turn token (what TRL's assistant_only_loss
    # trains).
    assert tokenizer.decode(assistant_ids) == answer + "<|im_end|>\n"

    ids = tokenizer(" ".join(ORDINARY_TOKENS))["input_ids"]
    for token in ORDINARY_TOKENS:
        assert tokenizer.convert_tokens_to_ids(token) in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == " ".join(ORDINARY_TOKENS)

    generated = model.generate(**tokenizer(prompt, return_tensors="pt"), max_new_tokens=3, do_sample=False)
    assert generated.shape[1] > 0


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_build_is_deterministic_and_cached(tmp_path: Path, arch: str) -> None:
    first = build_tiny_text_model(tmp_path / "a", CORPUS, arch=arch, seed=3)
    second = build_tiny_text_model(tmp_path / "b", iter(CORPUS), arch=arch, seed=3)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()

    weights = first / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert build_tiny_text_model(first, CORPUS, arch=arch, seed=3) == first
    assert weights.stat().st_mtime_ns == stamp  # reused, not rebuilt

    other_seed = build_tiny_text_model(first, CORPUS, arch=arch, seed=4)
    assert (other_seed / "model.safetensors").read_bytes() != (second / "model.safetensors").read_bytes()
    assert (first / MARKER_FILE).exists()


def test_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="arch"):
        build_tiny_text_model(tmp_path, CORPUS, arch="gpt2")
    with pytest.raises(ValueError, match="empty"):
        build_tiny_text_model(tmp_path, [])

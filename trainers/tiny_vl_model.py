"""A tiny Qwen2.5-VL built locally (no hub): 2 text layers, hidden 64, a 2-block vision tower.

The folder holds the model, a byte-level BPE tokenizer with Qwen's vision tokens
(`<|vision_start|>`, `<|image_pad|>`, `<|video_pad|>`, `<|vision_end|>`), an image and a video
processor built from their classes' defaults, and a Qwen2-VL-style chat template that accepts
both plain strings and `[{"type": "image"}, {"type": "text", ...}]` content lists. It loads with
`Qwen2_5_VLForConditionalGeneration` / `AutoProcessor`, lmms-eval's `qwen2_5_vl` model class and
TRL. Weights are random: tests script the answers or check plumbing, never quality.

A build is cached: `fairreason_tiny_vl.json` records the recipe version and seed.
"""

from __future__ import annotations

import json
from pathlib import Path

from trainers.tiny_models import IM_END, IM_START, PAD_TOKEN, train_bpe_tokenizer

BUILD_VERSION = 1
MARKER_FILE = "fairreason_tiny_vl.json"

VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
VOCAB_SIZE = 512
HIDDEN = 64
HEADS = 4

# Words the tokenizer learns merges from: the prompts the vision tasks write, in short.
_CORPUS = (
    "The following is a multiple-choice question with a single correct answer.",
    "Question: Options: Yes No Unknown Cannot be determined Not enough information",
    "Answer with the letter of the correct option. Your answer is: A B C D E",
    "Solve the math problem in the image. Put the final answer in \\boxed{}.",
    "angle triangle circle area length 0 1 2 3 4 5 6 7 8 9 degrees = + - * / ( ) { }",
    "<think> </think> The answer is",
)

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'image' or 'image' in part or 'image_url' in part %}"
    "{{- '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'video' or 'video' in part %}"
    "{{- '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{%- elif 'text' in part %}{{- part['text'] }}"
    "{%- endif %}{%- endfor %}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def build_tiny_vl_model(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Build (or reuse) the tiny Qwen2.5-VL in `out_dir`; return the folder."""
    out = Path(out_dir)
    stamp = {"version": BUILD_VERSION, "seed": seed}
    if _read_stamp(out) == stamp:
        return out
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_FILE).unlink(missing_ok=True)

    processor = _build_processor()
    model = _init_model(processor.tokenizer, seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    # Written last: an interrupted build is not mistaken for a finished one.
    (out / MARKER_FILE).write_text(json.dumps(stamp) + "\n")
    return out


def _read_stamp(out: Path) -> dict | None:
    try:
        return json.loads((out / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None


def _build_tokenizer():
    return train_bpe_tokenizer(
        _CORPUS,
        vocab_size=VOCAB_SIZE,
        special_tokens=[PAD_TOKEN, IM_START, IM_END, *VISION_TOKENS],
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )


def _build_processor():
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    # Small images keep the tiny tower fast: at most 16 x 16 patches of 14 pixels.
    pixels = {"min_pixels": 28 * 28, "max_pixels": 224 * 224}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        video_processor=Qwen2VLVideoProcessor(**pixels),
        tokenizer=_build_tokenizer(),
        chat_template=CHAT_TEMPLATE,
    )


def _init_model(tokenizer, seed: int):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in VISION_TOKENS}
    head_dim = HIDDEN // HEADS
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": HIDDEN,
            "intermediate_size": 2 * HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": HEADS,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "max_window_layers": 2,
            # The three M-RoPE sections (time, height, width) split head_dim / 2 frequencies.
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [head_dim // 4, head_dim // 8, head_dim // 8],
            },
            "bos_token_id": None,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": HIDDEN,
            "fullatt_block_indexes": [1],
            "window_size": 56,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model

"""Benchmark items as flat documents, the one shape both the harness task and the trainers read.

The VLBiasBench task shows each item as this document and the vision trainer builds its rows from
the same document, so a model is trained on exactly what it is scored on; it sits above `core/`
and below both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fairreason_tasks.core import vlbias
from fairreason_tasks.core.data import DataError


def vlbias_doc(item: vlbias.VLBiasItem, order: list[int], images: Path) -> dict[str, Any]:
    """Flat columns, options in display order (no None: -1 and "" stand for "none")."""
    position = {option: shown for shown, option in enumerate(order)}
    image = images / item.image_path
    if not image.is_file():
        raise DataError(f"{item.item_id}: image {item.image_path!r} not found under {images}")
    return {
        "item_id": item.item_id,
        "category": item.category,
        "subset": item.subset,
        "subgroup": item.subgroup,
        "image": str(image),
        "context": item.context,
        "question": item.question,
        "options": [item.options[index] for index in order],
        "label": position[item.label],
        "unknown_index": -1 if item.unknown_index is None else position[item.unknown_index],
        "biased_index": -1 if item.biased_index is None else position[item.biased_index],
        "context_condition": item.context_condition,
        "polarity": item.polarity or "",
        "cluster": item.cluster,
    }

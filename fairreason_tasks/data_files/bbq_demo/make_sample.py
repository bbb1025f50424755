"""Rebuild the demo's BBQ sample from the real BBQ files (run by hand; the demo never runs this).

    python fairreason_tasks/data_files/bbq_demo/make_sample.py /path/to/folder/with/bbq

The source folder holds the official `bbq/<Category>.jsonl` files (nyu-mll/BBQ @ bea11bd), which
are checked against their pins. Rows are copied byte for byte, chosen in file order: for every
template of the chosen categories, the first TRAIN_ROWS_PER_CELL (training-pool templates) or
HELDOUT_ROWS_PER_CELL (held-out templates) rows of each (polarity, context condition) cell go to
`bbq/`; the next WARM_ROWS_PER_CELL ambiguous rows of each (template, polarity) of every template
go to `warm_start/`, the rows the demo's base model is taught a stereotype on (never scored).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from fairreason_tasks.core.bbq import is_training_template
from fairreason_tasks.core.data import SAMPLE_MANIFEST, resolve

HERE = Path(__file__).resolve().parent
# Categories whose stereotyped group is the same across most templates (old age, disability,
# body size, sexual minority), so a tiny model can carry what it learns to held-out templates.
CATEGORIES = ("Age", "Disability_status", "Physical_appearance", "Sexual_orientation")
TRAIN_ROWS_PER_CELL = 2
HELDOUT_ROWS_PER_CELL = 1
WARM_ROWS_PER_CELL = 6


def _sample_lines(path: Path, category: str) -> tuple[list[str], list[str]]:
    """(sample rows for `bbq/`, warm-start rows for `warm_start/`): never the same row."""
    taken: Counter[tuple[str, str, str]] = Counter()
    sample, warm = [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            cell = (row["question_index"], row["question_polarity"], row["context_condition"])
            training = is_training_template(category, row["question_index"])
            in_sample = TRAIN_ROWS_PER_CELL if training else HELDOUT_ROWS_PER_CELL
            if taken[cell] < in_sample:
                sample.append(line)
            elif row["context_condition"] == "ambig" and taken[cell] < in_sample + WARM_ROWS_PER_CELL:
                warm.append(line)
            taken[cell] += 1
    return sample, warm


def main(source: str) -> None:
    files = {}
    for category in CATEGORIES:
        sample, warm = _sample_lines(resolve(f"bbq/{category}.jsonl", source), category)
        for relpath, lines in ((f"bbq/{category}.jsonl", sample), (f"warm_start/{category}.jsonl", warm)):
            target = HERE / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(lines), encoding="utf-8")
            files[relpath] = hashlib.sha256(target.read_bytes()).hexdigest()
            print(f"{relpath}: {len(lines)} rows")
    note = "A sample of real BBQ rows for `fairreason demo`, not the pinned files: see README.md."
    (HERE / SAMPLE_MANIFEST).write_text(json.dumps({"note": note, "files": files}, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

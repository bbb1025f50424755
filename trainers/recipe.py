"""Training recipes: one YAML file per model and paradigm in `trainers/recipes/`, checked on load.

A recipe names the base model, the data mix and the TRL config. `training:` is handed to the
paradigm's TRL config class as keyword arguments, so every TRL option works there and a
misspelt key fails at once with the recipe file named. `--recipe tiny` picks `tiny_<paradigm>.yaml`,
`--recipe qwen3_8b` picks `qwen3_8b_<paradigm>.yaml`; a path to a YAML file is used as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fairreason_tasks.core.data import PACKAGED_DIR
from fairreason_tasks.runrecord import FairreasonError

RECIPE_DIR = Path(__file__).resolve().parent / "recipes"
PARADIGMS = ("sft", "distill", "grpo", "mr_grpo")  # mr_grpo: reward-model heads (trainers/mr_grpo.py)
# messages / llava_cot: the paper's trace sets, read by trainers/data_sources.py
REASONING_SOURCES = ("demo_arith", "jsonl", "hub", "messages", "llava_cot")
DEBIAS_SOURCES = ("bbq", "bbq_traces")  # bbq_traces: BBQ items with R1 traces (trainers/data_sources.py)
DISTILL_MODES = ("logits", "traces")
# How an SFT target answers a BBQ item: a rationale then the letter ("Answer: C"), or the bare
# option text ("Answer: Can't be determined"), which the extractor reads as well.
BBQ_ANSWERS = ("letter", "option_text")
MODALITIES = ("text", "vision")  # vision: image rows from VLBiasBench + MathVerse (trainers/vision.py)
TINY_MODEL = "tiny"  # `model.name_or_path: tiny` builds a 2-layer model in the output folder
# slurm: the cluster resources of one sweep cell (read by studies.launchers, not by training)
_SECTIONS = {
    "name",
    "paradigm",
    "modality",
    "model",
    "data",
    "training",
    "rewards",
    "distill",
    "description",
    "slurm",
}


class RecipeError(FairreasonError, ValueError):
    """A recipe file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class ReasoningSource:
    source: str  # demo_arith | jsonl | hub | messages | llava_cot
    size: int = 1024  # demo_arith: problems generated
    path: str = ""  # jsonl: file; hub: dataset id
    name: str | None = None  # hub: config name
    split: str = "train"
    revision: str | None = None  # hub: pinned revision (commit sha)
    problem_field: str = "problem"
    solution_field: str = "solution"
    answer_field: str = "answer"  # empty: take the last \boxed{} of the solution
    columns: dict[str, Any] | None = None  # messages / llava_cot: remapped column names
    max_num_tokens: int | None = None  # messages: drop longer traces
    sources: list[str] | None = None  # messages: keep rows whose `source` is listed
    math_sources: list[str] | None = None  # messages: rows GRPO may grade (None: any with a readable answer)
    image_root: str = ""  # llava_cot: the folder image paths start from


@dataclass(frozen=True)
class Recipe:
    name: str
    paradigm: str
    source_file: Path
    model: str
    model_arch: str = "qwen3"  # tiny models only
    modality: str = "text"
    warm_start: str | None = None  # an SFT recipe trained first on the same mix, then started from
    budget: int = 1000
    debias_ratio: float = 0.2
    seed: int = 0
    reasoning: ReasoningSource = field(default_factory=lambda: ReasoningSource("demo_arith"))
    bbq_categories: tuple[str, ...] | None = None
    bbq_answer: str = "letter"
    debias_source: dict[str, Any] = field(default_factory=dict)  # data.debias: {source: bbq_traces, ...}
    # BBQ folder used when neither --data-dir nor FAIRREASON_DATA_DIR names one (CPU recipes: the
    # real sample shipped in the package, so they run offline)
    bbq_default_dir: Path | None = None
    training: dict[str, Any] = field(default_factory=dict)
    rewards: dict[str, Any] = field(default_factory=dict)
    distill: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the file as read, recorded in fairreason.json

    @property
    def is_tiny(self) -> bool:
        return self.model == TINY_MODEL


def recipe_path(recipe: str, paradigm: str) -> Path:
    """The YAML file a `--recipe` value means for this paradigm."""
    given = Path(recipe)
    if given.suffix in (".yaml", ".yml"):
        if not given.is_file():
            raise RecipeError(f"recipe file not found: {given}")
        return given
    candidate = RECIPE_DIR / f"{recipe}_{paradigm}.yaml"
    if not candidate.is_file() and recipe.endswith(f"_{paradigm}"):  # the file's own stem: tiny_mr_grpo
        candidate = RECIPE_DIR / f"{recipe}.yaml"
    if not candidate.is_file():
        known = sorted(path.stem for path in RECIPE_DIR.glob(f"*_{paradigm}.yaml"))
        raise RecipeError(f"no recipe {recipe!r} for {paradigm}: {candidate} does not exist; known: {known}")
    return candidate


SHIPPED_BBQ_SAMPLE = "shipped_sample"


def _bbq_default_dir(value: Any, path: Path) -> Path | None:
    if value is None:
        return None
    if value != SHIPPED_BBQ_SAMPLE:
        raise RecipeError(
            f"{path}: field 'data.bbq_default' must be {SHIPPED_BBQ_SAMPLE!r} or absent, got {value!r}"
        )
    return PACKAGED_DIR / "bbq_demo"


def load_recipe(recipe: str, paradigm: str) -> Recipe:
    """Read and check a recipe; `recipe` is a short name (`tiny`, `qwen3_8b`) or a YAML path."""
    if paradigm not in PARADIGMS:
        raise RecipeError(f"paradigm must be one of {PARADIGMS}, got {paradigm!r}")
    path = recipe_path(recipe, paradigm)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping, found {type(raw).__name__}")
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise RecipeError(f"{path}: unknown sections {sorted(unknown)}; allowed: {sorted(_SECTIONS)}")
    if raw.get("paradigm", paradigm) != paradigm:
        raise RecipeError(f"{path}: field 'paradigm' is {raw['paradigm']!r}, but {paradigm!r} was asked for")

    model = _mapping(raw, "model", path)
    data = _mapping(raw, "data", path)
    if "name_or_path" not in model:
        raise RecipeError(f"{path}: field 'model.name_or_path' is required")
    ratio = float(data.get("debias_ratio", 0.2))
    budget = int(data.get("budget", 1000))
    check_mix(budget, ratio, where=str(path))
    distill = _mapping(raw, "distill", path)
    if paradigm == "distill" and distill.get("mode", "logits") not in DISTILL_MODES:
        raise RecipeError(
            f"{path}: field 'distill.mode' must be one of {DISTILL_MODES}, got {distill['mode']!r}"
        )
    categories = data.get("bbq_categories")
    bbq_answer = str(data.get("bbq_answer", "letter"))
    if bbq_answer not in BBQ_ANSWERS:
        raise RecipeError(f"{path}: field 'data.bbq_answer' must be one of {BBQ_ANSWERS}, got {bbq_answer!r}")
    modality = str(raw.get("modality", "text"))
    if modality not in MODALITIES:
        raise RecipeError(f"{path}: field 'modality' must be one of {MODALITIES}, got {modality!r}")
    if modality == "vision" and paradigm == "distill":
        raise RecipeError(
            f"{path}: vision recipes train with sft or grpo (distil a VL teacher's traces with sft)"
        )
    return Recipe(
        name=str(raw.get("name", path.stem)),
        paradigm=paradigm,
        source_file=path.resolve(),
        model=str(model["name_or_path"]),
        model_arch=str(model.get("arch", "qwen3")),
        modality=modality,
        warm_start=model.get("warm_start"),
        budget=budget,
        debias_ratio=ratio,
        seed=int(data.get("seed", 0)),
        reasoning=_reasoning(data.get("reasoning") or {"source": "demo_arith"}, path),
        bbq_categories=tuple(categories) if categories else None,
        bbq_answer=bbq_answer,
        bbq_default_dir=_bbq_default_dir(data.get("bbq_default"), path),
        debias_source=_debias_source(data.get("debias"), path),
        training=dict(_mapping(raw, "training", path)),
        rewards=dict(_mapping(raw, "rewards", path)),
        distill=dict(distill),
        raw=raw,
    )


def check_mix(budget: int, ratio: float, *, where: str = "arguments") -> None:
    """Reject a budget or ratio the mixer cannot honour."""
    if budget < 1:
        raise RecipeError(f"{where}: budget must be a positive number of samples, got {budget}")
    if not 0.0 <= ratio <= 1.0:
        raise RecipeError(f"{where}: debias_ratio must lie in [0, 1], got {ratio}")


def _mapping(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise RecipeError(f"{path}: field {key!r} must be a mapping, found {type(value).__name__}")
    return value


def _debias_source(spec: Any, path: Path) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, dict) or spec.get("source") not in DEBIAS_SOURCES:
        raise RecipeError(f"{path}: field 'data.debias.source' must be one of {DEBIAS_SOURCES}")
    return dict(spec)


def _reasoning(spec: Any, path: Path) -> ReasoningSource:
    if not isinstance(spec, dict):
        raise RecipeError(f"{path}: field 'data.reasoning' must be a mapping")
    source = spec.get("source")
    if source not in REASONING_SOURCES:
        raise RecipeError(
            f"{path}: field 'data.reasoning.source' must be one of {REASONING_SOURCES}, got {source!r}"
        )
    if source in ("jsonl", "hub", "messages", "llava_cot") and not spec.get("path"):
        raise RecipeError(f"{path}: field 'data.reasoning.path' is required for source {source!r}")
    try:
        return ReasoningSource(**spec)
    except TypeError as error:
        raise RecipeError(f"{path}: field 'data.reasoning': {error}") from error

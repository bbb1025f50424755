"""Pinned data files: where each comes from, its sha256, and how a run finds a verified copy.

Lookup order for a registry path such as "bbq/Age.jsonl": a local folder (argument, else
FAIRREASON_DATA_DIR; laid out like `bbq/<Category>.jsonl`), then a copy shipped in
`fairreason_tasks/data_files/`, then a download into FAIRREASON_CACHE_DIR (default
~/.cache/fairreason). Every file is checked against its pinned sha256 before use.

A local folder may hold a sample instead of the real files (test fixtures) only by saying so: a
`fairreason_sample_manifest.json` at its root lists the sample files' own sha256; those files are
verified against the manifest, logged as samples, and reported with their real hashes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fairreason_tasks.core.bbq import CATEGORIES, BBQItem, BBQSchemaError, is_training_template, parse_record

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "FAIRREASON_DATA_DIR"
CACHE_DIR_ENV = "FAIRREASON_CACHE_DIR"
SAMPLE_MANIFEST = "fairreason_sample_manifest.json"
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "data_files"
SPLITS = ("all", "train", "heldout")


class DataError(RuntimeError):
    """A data file that is missing, unreadable, malformed or fails its checksum."""


@dataclass(frozen=True, slots=True)
class PinnedFile:
    url: str
    sha256: str
    size: int | None  # None where only the hash is published (the five large BBQ files)


_BBQ_COMMIT = "bea11bd97d79217245b5871acd247b9d6eb24598"
_BBQ_PINS = {
    "Age": ("46e805b3fc2d8cbd26eeb8e8430d98cf7b2dc9c83574ff3674e8ce4f0fca2a60", 3091834),
    "Disability_status": ("375d40d9b71f056150264445ec189b13934998f3f49a1e311aa7578eb3b45e5f", 1336984),
    "Gender_identity": ("8b5adbb368510a97d5775dc43e1c719e0249fe2da33f13c83e3e29edafec7a00", None),
    "Nationality": ("a583e74666aec0341ded8aa3983e7cad694eb24de72c254d28b2df3035720090", 2900040),
    "Physical_appearance": ("e48d7e13508565f4801574e611043470c25c95a0a62af3699cb5ee7cb02608fb", 1347476),
    "Race_ethnicity": ("4a9f1214cfaa115ce7f0bdb40609122e431f5152c71b8ca64d665e483b946ae6", None),
    "Race_x_SES": ("af8e2ae3d0e5be9ebcbfe7149e591d47ff649e263307f4548f7fb12f6a6d83e8", None),
    "Race_x_gender": ("e5dbba782f8c4e25b99dd5470b5136e2db73dbf401cf6d4a5a3ed31b02f95696", None),
    "Religion": ("cb9555f9f3454a52cd2df85956b59bd7fcca5aa922c8527693b1164d08417616", 1118728),
    "SES": ("9f92754bb037b0982604b9112705fb81d60a19d9e759c67e4a85e484a070f528", None),
    "Sexual_orientation": ("2c71036b9e7584fe589c42aef32c1a42bc01b9a5e9b1b8704342630cdb08cefd", 729010),
}

REGISTRY: dict[str, PinnedFile] = {
    f"bbq/{category}.jsonl": PinnedFile(
        f"https://raw.githubusercontent.com/nyu-mll/BBQ/{_BBQ_COMMIT}/data/{category}.jsonl", sha256, size
    )
    for category, (sha256, size) in _BBQ_PINS.items()
}
REGISTRY.update(
    {
        "math500/test.jsonl": PinnedFile(
            "https://raw.githubusercontent.com/hkust-nlp/simpleRL-reason/cf1c7858bfc145a27aa733e75d930d34f0d318a6/"
            "examples/simplelr_math_eval/data/math500/test.jsonl",
            "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",
            446564,
        ),
        "aime/aime24_test.jsonl": PinnedFile(
            "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/a45202bd16f1ec06f433442dc1152d0074773465/"
            "evaluation/data/aime24/test.jsonl",
            "af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac",
            156944,
        ),
        "aime/aime25_test.jsonl": PinnedFile(
            "https://raw.githubusercontent.com/inclusionAI/AReaL/1b0306631b01becc329af59df560efb754be34af/"
            "evaluation/data/aime25/test.jsonl",
            "b4e273c02d3e7fe1b74b59eae768fc8230bfb0f79539890cb56f4361caac0331",
            15813,
        ),
    }
)

# (resolved path, mtime_ns, size) -> sha256 already checked in this process; relpath -> sha256 used.
_hash_cache: dict[tuple[str, int, int], str] = {}
_verified: dict[str, str] = {}
_announced_samples: set[Path] = set()


def verified_checksums() -> dict[str, str]:
    """Registry path -> sha256 of every file verified in this process (recorded with results)."""
    return dict(_verified)


def _local_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV)
    return Path(chosen).expanduser() if chosen else None


def local_folder(name: str, expected: str) -> Path | None:
    """`$FAIRREASON_DATA_DIR/<name>` when that variable is set (an error naming what should be
    there when the folder is missing), else None: the caller downloads its pinned copy."""
    local = os.environ.get(DATA_DIR_ENV)
    if not local:
        return None
    root = Path(local).expanduser() / name
    if not root.is_dir():
        raise DataError(f"{DATA_DIR_ENV}={local} has no {name}/ folder (expected {expected})")
    return root


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "fairreason").expanduser()


def _sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


def _sample_manifest(folder: Path) -> dict[str, str]:
    path = folder / SAMPLE_MANIFEST
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataError(f'{path}: expected {{"files": {{relpath: sha256}}}} ({error})') from error
    return dict(files)


def sample_file(folder: str | os.PathLike[str], relpath: str) -> Path:
    """A file of a sample folder that its sample manifest lists, checked against the sha256 there."""
    folder = Path(folder)
    expected = _sample_manifest(folder).get(relpath)
    if expected is None:
        raise DataError(f"{folder / relpath} is not listed in {folder / SAMPLE_MANIFEST}")
    if not (folder / relpath).is_file():
        raise DataError(f"{folder / relpath} is listed in {folder / SAMPLE_MANIFEST} but missing")
    return _verify(folder / relpath, relpath, expected, f"sample listed in {folder / SAMPLE_MANIFEST}")


def _verify(path: Path, relpath: str, expected: str, what: str) -> Path:
    found = _sha256(path)
    if found != expected:
        raise DataError(
            f"checksum mismatch for {path} ({relpath}): expected sha256 {expected} ({what}), found {found}"
        )
    _verified[relpath] = found
    return path


def _download(relpath: str, pin: PinnedFile, target: Path) -> Path:
    """Fetch into `target` atomically: temp file in the same folder, hash checked, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    temp = Path(handle.name)
    try:
        with handle, urllib.request.urlopen(pin.url, timeout=60) as response:
            total = pin.size or int(response.headers.get("Content-Length") or 0)
            done = 0
            for block in iter(lambda: response.read(1 << 18), b""):
                handle.write(block)
                digest.update(block)
                done += len(block)
                shown = f"{done * 100 // total:3d}%" if total else f"{done >> 10} KiB"
                print(f"\rfairreason: downloading {relpath} {shown}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
        if digest.hexdigest() != pin.sha256:
            raise DataError(
                f"checksum mismatch for download of {relpath} from {pin.url}: "
                f"expected sha256 {pin.sha256}, found {digest.hexdigest()}"
            )
        os.replace(temp, target)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise DataError(f"could not download {relpath} from {pin.url}: {error}") from error
        raise
    return target


def resolve(relpath: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """A verified local path for a registry file (local folder, packaged copy, cache or download)."""
    if relpath not in REGISTRY:
        raise DataError(f"unknown data file {relpath!r}; known: {', '.join(sorted(REGISTRY))}")
    pin = REGISTRY[relpath]
    local = _local_dir(data_dir)
    if local is not None and (local / relpath).is_file():
        sample_hash = _sample_manifest(local).get(relpath)
        if sample_hash is None:
            return _verify(local / relpath, relpath, pin.sha256, "pinned")
        if local / relpath not in _announced_samples:
            _announced_samples.add(local / relpath)
            logger.warning(
                "%s is a declared sample (%s), not the pinned file", local / relpath, SAMPLE_MANIFEST
            )
        return _verify(local / relpath, relpath, sample_hash, f"sample listed in {local / SAMPLE_MANIFEST}")
    for folder in (PACKAGED_DIR, cache_dir()):
        if (folder / relpath).is_file():
            return _verify(folder / relpath, relpath, pin.sha256, "pinned")
    return _verify(_download(relpath, pin, cache_dir() / relpath), relpath, pin.sha256, "pinned")


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line; a line that is not a JSON object is a DataError."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(
                    f"{path}:{number}: invalid JSON ({error.msg}, column {error.colno})"
                ) from error
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: expected a JSON object, found {type(record).__name__}")
            yield number, record


def _present_categories(local: Path, categories: Sequence[str]) -> list[str]:
    present = [category for category in categories if (local / f"bbq/{category}.jsonl").is_file()]
    if not present:
        raise DataError(
            f"no BBQ files in {local}: expected the layout {local}/bbq/<Category>.jsonl "
            f"for categories {', '.join(categories)}"
        )
    missing = [category for category in categories if category not in present]
    if missing:
        logger.warning("BBQ categories missing from %s, running without them: %s", local, ", ".join(missing))
    return present


def load_bbq(
    categories: Sequence[str] | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    split: str = "all",
) -> list[BBQItem]:
    """Verified, parsed BBQ items; `split` keeps the training-pool or held-out templates only."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    wanted = [categories] if isinstance(categories, str) else list(categories or CATEGORIES)
    unknown = [category for category in wanted if category not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown BBQ categories {unknown}; known: {', '.join(CATEGORIES)}")
    local = _local_dir(data_dir)
    if local is not None:
        wanted = _present_categories(local, wanted)
    items = []
    for category in wanted:
        path = resolve(f"bbq/{category}.jsonl", local)
        for number, record in read_jsonl(path):
            item = parse_record(record, source=str(path), line=number)
            if item.category != category:
                raise BBQSchemaError(str(path), number, "category", repr(category), item.category)
            if split == "all" or is_training_template(category, item.question_index) == (split == "train"):
                items.append(item)
    return items

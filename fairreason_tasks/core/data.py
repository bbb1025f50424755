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
import secrets
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairreason_tasks.core.bbq import CATEGORIES, BBQItem, BBQSchemaError, is_training_template, parse_record
from fairreason_tasks.runrecord import FairreasonError, SchemaError

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "FAIRREASON_DATA_DIR"
CACHE_DIR_ENV = "FAIRREASON_CACHE_DIR"
SAMPLE_MANIFEST = "fairreason_sample_manifest.json"
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "data_files"
SPLITS = ("all", "train", "heldout")


class DataError(FairreasonError, RuntimeError):
    """A data file that is missing, unreadable, malformed or fails its checksum."""


@dataclass(frozen=True, slots=True)
class PinnedFile:
    url: str
    sha256: str  # "" where only the git blob SHA-1 is known (five CBBQ files)
    size: int | None  # None where only the hash is published (the five large BBQ files)
    git_blob_sha1: str | None = None  # sha1(b"blob <size>\0" + bytes): checkable from the bytes alone


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

# CBBQ (Huang & Xiong 2023, CC BY-SA 4.0): the 28 CSVs of YFHuangxxxx/CBBQ at one commit, as
# `cbbq/<category>/<condition>.csv`. sha256 where the bytes were available to us; the git blob
# SHA-1 (listed by GitHub for every file) pins the other five.
_CBBQ_COMMIT = "95eaf2eeaa0b936f3e97e3424f134e9d7655da98"
_CBBQ_PINS = {
    "SES/ambiguous": (
        "0353f5f266d9df356bb3cde1d0ffdf91ceae7c61684547f6fb10c9e77d328fc0",
        "b0886e92ad9fd95b04aae549904a744893114665",
        1509233,
    ),
    "SES/disambiguous": (
        "b594dd003ee77bee015abe0743f9db005d7cba87e8c70c231feebd09ed0e25ea",
        "c88773f40fec61012dadf7bf846d41660ccdf16b",
        2702357,
    ),
    "age/ambiguous": (
        "e1fa287f341dda4ce92bb59fa5118453eb2e377c8acad133ad8a4c8c545042d1",
        "6b263c89b366adb0506ca363419adbdad1669565",
        2306503,
    ),
    "age/disambiguous": (
        "",
        "ff73ab74151c417edb0045c6408cf68cd7eb85d9",
        None,
    ),
    "disability/ambiguous": (
        "df2bf69b6435509a5047727b79e52f614ccdcd0c1bcc483de89317d285587e47",
        "90a42d9a666213475d3ba872433f2952fe15f646",
        735845,
    ),
    "disability/disambiguous": (
        "5bfcdde2499af53463bcde7955fcbd0f0bf4095adb271fd973b0768741dc1faf",
        "b7cdbdd8b4a0ee4ec9763059f9926670babb2aba",
        1120829,
    ),
    "disease/ambiguous": (
        "db7a22c7cd1c8b4cb68142c2979542fa74116bc7d3bc0e600291957205650488",
        "99f8b68534d29d5f0895ce357d0c9802cf6213f0",
        201917,
    ),
    "disease/disambiguous": (
        "42cdbc7c56b9c727768b725d081b8a051f01ebcf382c7d483bbc7598be296ef2",
        "38a504a498aea26c288551eeadbdade75c1a4337",
        430391,
    ),
    "educational_qualification/ambiguous": (
        "eb4af36eb0b20df3b34cacff42dd41935d778feb5af983e23b32dd17cdbb8383",
        "199a6a2fe2b7e9b295d2501ece9632dfbdbc68cb",
        635297,
    ),
    "educational_qualification/disambiguous": (
        "9a768070396300d0699ccfb311c2a3e37e8dba3f884dfe9a9cf14c92aa12eedd",
        "bee253fa81a42b02e71356bd529d913b7ec371a1",
        1114937,
    ),
    "ethnicity/ambiguous": (
        "15ad06f2d17e9cab20b72430d31a15f7efb019eda5de76124464dec262e8cacf",
        "c0121fa8a87935b83be3ebd26c239b937af5b398",
        294324,
    ),
    "ethnicity/disambiguous": (
        "fc53047bed0c1dd15746da7cb46dad044e881c20d3eaba95f249be2a02f1a11c",
        "77c0118ba7a9f2a2df0d99f117cb3ef2b1a20a19",
        522762,
    ),
    "gender/ambiguous": (
        "f928100a0a4651028272cadc339b2595b7775467c37029e433b58de79ac7b069",
        "e38acf237a9eb23883e77dca4b14309fb63f0d8e",
        447425,
    ),
    "gender/disambiguous": (
        "ace38bcc96a3e4312ca16ffdc389e64f742e48eeaae165d58645c8826a68967b",
        "5450c148c60200049fb08ed297e0623b560453a7",
        881897,
    ),
    "household_registration/ambiguous": (
        "a9a2fbca009e6ee68dfdb0225fbd3154081a4baab49f43d2170571485ad01693",
        "d22712837f645f4834477b8f09ac29b9cbdd303b",
        3494659,
    ),
    "household_registration/disambiguous": (
        "",
        "ea12c7a9fab85bdbf8e4ba152999686e21265df6",
        None,
    ),
    "nationality/ambiguous": (
        "38f8e8d728c31e8ef7886b76fca59e30fa61c23acb8017bc166c4313748c5b25",
        "951c24b219cd8bb9efe4b6c73238715ec387aab4",
        4040536,
    ),
    "nationality/disambiguous": (
        "",
        "350675c006ee93676f0b5907010be0a23edb78cc",
        None,
    ),
    "physical_appearance/ambiguous": (
        "7e5ac96789e8165561f592e70c710808852ae05543ae05a2bf7f743eb2471fb7",
        "69397f886fc40539175e1216ea76915f4f95e213",
        714509,
    ),
    "physical_appearance/disambiguous": (
        "d91367169b851120566f3c67be98ae22e6361c2c7f859dc0441092c3a515d068",
        "9c45e6d8a04fa06d78561f37a4e0caaa068672b6",
        1099505,
    ),
    "race/ambiguous": (
        "",
        "7dbe34c418e4d478d48fd353138d4a3b331e0469",
        None,
    ),
    "race/disambiguous": (
        "",
        "01e87003891c9f51d12698f8fbdf311f80e6ce57",
        None,
    ),
    "region/ambiguous": (
        "322246e5eea71fff77984141544cde6b3668e05f8792d8955a4c0594acae3d18",
        "f5aa30bafb485fd78e3f06996d4dc77727ed9473",
        635605,
    ),
    "region/disambiguous": (
        "dbbd0bf0137a69cd9334592156e8d8d871d7bc09dd45c4d059e4864c21f3ca88",
        "869a8c54f14a66aaeb0b707b5baf712632682a18",
        1191373,
    ),
    "religion/ambiguous": (
        "d557642a4b979f35d1c4bff26c6b2a3223564fa7ce67ee738ac8574505ae977b",
        "4f861951cdd2dd3c49e4aa2e9e437e1f9c402033",
        1158245,
    ),
    "religion/disambiguous": (
        "f4fcbd80db93339916f453c561233704bb402d91a1093b20b024f55f64753e36",
        "6f43d74916ffcd805ba8f8e20f9dd95eb424b20e",
        2011901,
    ),
    "sexual_orientation/ambiguous": (
        "a73703cdff2f199a8e6263e8d10a544a1b122890e79020f92a46a0a89ef99eb5",
        "18561cd18e4588e979b4d552de1560533fa43432",
        196212,
    ),
    "sexual_orientation/disambiguous": (
        "1dc1de61dca1bff90bcbb050284d9a5f45a865792f95fde52a8bf6cd3ef9957f",
        "1332b7ee4fc3677a2a92e188ce7e2c04f855ad3e",
        355836,
    ),
}
REGISTRY.update(
    {
        f"cbbq/{name}.csv": PinnedFile(
            f"https://raw.githubusercontent.com/YFHuangxxxx/CBBQ/{_CBBQ_COMMIT}/data/{name}/{name.split('/')[1]}.csv",
            sha256,
            size,
            git_blob_sha1=blob,
        )
        for name, (sha256, blob, size) in _CBBQ_PINS.items()
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
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise DataError(
            f'{path}: expected {{"files": {{relpath: sha256}}}} in UTF-8 JSON ({error})'
        ) from error
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


def git_blob_sha1(path: str | os.PathLike[str]) -> str:
    """The SHA-1 git gives a file's bytes (`git hash-object`), to check files pinned only by it."""
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_pinned(path: Path, relpath: str, pin: PinnedFile) -> Path:
    """Check `path` against its pin: sha256 when known, else the git blob SHA-1."""
    if pin.sha256:
        return _verify(path, relpath, pin.sha256, "pinned")
    found = git_blob_sha1(path)
    if found != pin.git_blob_sha1:
        raise DataError(
            f"checksum mismatch for {path} ({relpath}): "
            f"expected git blob SHA-1 {pin.git_blob_sha1} (pinned), found {found}"
        )
    _verified[relpath] = _sha256(path)
    return path


def _download(relpath: str, pin: PinnedFile, target: Path) -> Path:
    """Fetch into `target` atomically: temp file in the same folder, hash checked, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    temp = target.parent / f".{target.name}.{secrets.token_hex(8)}.part"
    # os.open with 0666: the umask gives the cache file the mode of any new file (0644 under the
    # usual umask 022), where NamedTemporaryFile would leave it 0600.
    handle = os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb")
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
        if pin.sha256 and digest.hexdigest() != pin.sha256:
            raise DataError(
                f"checksum mismatch for download of {relpath} from {pin.url}: "
                f"expected sha256 {pin.sha256}, found {digest.hexdigest()}"
            )
        if not pin.sha256:
            _verify_pinned(temp, relpath, pin)
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
            return _verify_pinned(local / relpath, relpath, pin)
        if local / relpath not in _announced_samples:
            _announced_samples.add(local / relpath)
            logger.warning(
                "%s is a declared sample (%s), not the pinned file", local / relpath, SAMPLE_MANIFEST
            )
        return _verify(local / relpath, relpath, sample_hash, f"sample listed in {local / SAMPLE_MANIFEST}")
    for folder in (PACKAGED_DIR, cache_dir()):
        if (folder / relpath).is_file():
            return _verify_pinned(folder / relpath, relpath, pin)
    return _verify_pinned(_download(relpath, pin, cache_dir() / relpath), relpath, pin)


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line; a line that is not UTF-8 or not a JSON object is
    a DataError naming the file and line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{path}:{number}: invalid UTF-8 (byte {error.start + 1} of the line: "
                    f"{raw[error.start : error.start + 4]!r})"
                ) from error
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


def read_json_list(
    path: Path, schema_error: Callable[[str, int | None, str, str, Any], SchemaError]
) -> list[Any]:
    """The records of a file that holds one JSON list (VLBiasBench, MathVerse); otherwise the
    benchmark's `schema_error(source, record, field, expected, found)`, naming the file."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise schema_error(
            str(path), None, "<file>", "valid JSON", f"{error.msg} at line {error.lineno}"
        ) from error
    if not isinstance(records, list):
        raise schema_error(str(path), None, "<file>", "a JSON list of records", type(records).__name__)
    return records


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
        seen: dict[int, int] = {}
        for number, record in read_jsonl(path):
            item = parse_record(record, source=str(path), line=number)
            if item.category != category:
                raise BBQSchemaError(str(path), number, "category", repr(category), item.category)
            check_bbq_item(item, str(path), number, seen)
            if split == "all" or is_training_template(category, item.question_index) == (split == "train"):
                items.append(item)
    return items


def check_bbq_item(item: BBQItem, source: str, line: int, seen: dict[int, int]) -> None:
    """Refuse what would silently skew a score: a record repeated in its file (an example_id seen
    before, `seen` maps ids to lines) or an ambiguous item whose label is not its unknown option
    (BBQ's ambiguous contexts never name the answer). DataError naming file and line."""
    if item.example_id in seen:
        raise DataError(
            f"{source}:{line}: example_id {item.example_id} repeats line {seen[item.example_id]} "
            "(a duplicated record would be scored twice)"
        )
    seen[item.example_id] = line
    if item.context_condition == "ambig" and item.label != item.unknown_index:
        raise DataError(
            f"{source}:{line}: ambiguous item {item.example_id} is labelled {item.label} "
            f"({item.options[item.label]!r}), not its unknown option {item.unknown_index} "
            f"({item.options[item.unknown_index]!r})"
        )

"""core.data: pinned checksums, local override with declared samples, atomic verified download."""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from fairreason_tasks.core import data
from fairreason_tasks.core.bbq import BBQSchemaError, is_training_template

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "bbq"
FIXTURE_CATEGORIES = (
    "Age",
    "Disability_status",
    "Nationality",
    "Physical_appearance",
    "Religion",
    "Sexual_orientation",
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No user folders, a private cache, and fresh per-process verification records."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_hash_cache", {})
    monkeypatch.setattr(data, "_verified", {})
    monkeypatch.setattr(data, "_announced_samples", set())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy_fixture(tmp_path: Path, categories=FIXTURE_CATEGORIES, manifest: bool = True) -> Path:
    folder = tmp_path / "local"
    (folder / "bbq").mkdir(parents=True)
    for category in categories:
        shutil.copy(FIXTURE_DIR / "bbq" / f"{category}.jsonl", folder / "bbq")
    if manifest:
        files = {
            f"bbq/{category}.jsonl": _sha256(folder / "bbq" / f"{category}.jsonl") for category in categories
        }
        (folder / data.SAMPLE_MANIFEST).write_text(json.dumps({"files": files}))
    return folder


def test_registry_pins_all_bbq_files_at_the_commit_and_the_math_files():
    bbq = {path for path in data.REGISTRY if path.startswith("bbq/")}
    assert len(bbq) == 11
    assert all(
        "nyu-mll/BBQ/bea11bd97d79217245b5871acd247b9d6eb24598/data/" in data.REGISTRY[p].url for p in bbq
    )
    assert data.REGISTRY["bbq/Race_x_gender.jsonl"].sha256.startswith("e5dbba782f8c")
    assert {"math500/test.jsonl", "aime/aime24_test.jsonl", "aime/aime25_test.jsonl"} <= set(data.REGISTRY)


def test_fixture_folder_loads_as_declared_sample_and_reports_real_hashes(caplog):
    with caplog.at_level(logging.WARNING, logger=data.__name__):
        items = data.load_bbq(data_dir=FIXTURE_DIR)
    assert len(items) == 192 and {item.category for item in items} == set(FIXTURE_CATEGORIES)
    checksums = data.verified_checksums()
    assert checksums["bbq/Age.jsonl"] == _sha256(FIXTURE_DIR / "bbq" / "Age.jsonl")
    assert "declared sample" in caplog.text


def test_real_folder_is_checked_against_the_pins_and_the_error_names_file_and_hashes(tmp_path):
    folder = _copy_fixture(tmp_path, ("Religion",), manifest=False)
    path = folder / "bbq" / "Religion.jsonl"
    with pytest.raises(data.DataError) as caught:
        data.load_bbq(["Religion"], data_dir=folder)
    message = str(caught.value)
    assert str(path) in message
    assert data.REGISTRY["bbq/Religion.jsonl"].sha256 in message and _sha256(path) in message


def test_a_sample_changed_after_its_manifest_fails(tmp_path):
    folder = _copy_fixture(tmp_path, ("Religion",))
    path = folder / "bbq" / "Religion.jsonl"
    path.write_text(path.read_text().replace("Muslim", "Buddhist", 1))
    with pytest.raises(data.DataError, match="checksum mismatch for .*Religion.jsonl"):
        data.load_bbq("Religion", data_dir=folder)


def test_sample_file_is_checked_against_the_manifest(tmp_path):
    folder = _copy_fixture(tmp_path, ("Religion",))
    assert data.sample_file(folder, "bbq/Religion.jsonl") == folder / "bbq" / "Religion.jsonl"
    with pytest.raises(
        data.DataError, match="extra.jsonl is not listed in .*fairreason_sample_manifest.json"
    ):
        data.sample_file(folder, "extra.jsonl")
    path = folder / "bbq" / "Religion.jsonl"
    path.write_text(path.read_text().replace("Muslim", "Buddhist", 1))
    with pytest.raises(data.DataError, match="checksum mismatch for .*Religion.jsonl"):
        data.sample_file(folder, "bbq/Religion.jsonl")
    path.unlink()
    with pytest.raises(data.DataError, match="listed in .* but missing"):
        data.sample_file(folder, "bbq/Religion.jsonl")


def test_missing_categories_are_named_in_a_warning(tmp_path, caplog):
    folder = _copy_fixture(tmp_path, ("Age", "Religion"))
    with caplog.at_level(logging.WARNING, logger=data.__name__):
        items = data.load_bbq(data_dir=folder)
    assert {item.category for item in items} == {"Age", "Religion"}
    missing = [r.getMessage() for r in caplog.records if r.getMessage().startswith("BBQ categories missing")]
    assert len(missing) == 1 and "Race_x_SES" in missing[0] and "Nationality" in missing[0]
    assert "Age" not in missing[0].split(":")[-1]


def test_a_folder_without_bbq_files_names_the_expected_layout(tmp_path):
    with pytest.raises(
        data.DataError, match=r"no BBQ files in .*empty: expected the layout .*bbq/<Category>\.jsonl"
    ):
        data.load_bbq(data_dir=tmp_path / "empty")


def test_environment_variable_is_the_default_local_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(_copy_fixture(tmp_path, ("Religion",))))
    assert {item.category for item in data.load_bbq("Religion")} == {"Religion"}


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,\n')
    records = data.read_jsonl(path)
    assert next(records) == (1, {"a": 1})
    with pytest.raises(data.DataError, match=rf"{path}:3: invalid JSON"):
        next(records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[{}, {}]", None), ('[{"a": 1},', "valid JSON"), ('{"a": 1}', "a JSON list of records")],
)
def test_json_list_files_raise_the_benchmarks_schema_error_naming_the_file(tmp_path, text, expected):
    path = tmp_path / "Age.json"
    path.write_text(text)
    if expected is None:
        assert data.read_json_list(path, BBQSchemaError) == [{}, {}]
        return
    with pytest.raises(BBQSchemaError, match=rf"{path}: field '<file>': expected {expected}, found"):
        data.read_json_list(path, BBQSchemaError)


def test_schema_failure_names_file_and_line(tmp_path):
    folder = _copy_fixture(tmp_path, ("Religion",), manifest=False)
    path = folder / "bbq" / "Religion.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace('"question_polarity": "neg"', '"question_polarity": "negative"')
    path.write_text("".join(lines))
    (folder / data.SAMPLE_MANIFEST).write_text(json.dumps({"files": {"bbq/Religion.jsonl": _sha256(path)}}))
    with pytest.raises(BBQSchemaError, match=rf"{path}:5: field 'question_polarity'"):
        data.load_bbq("Religion", data_dir=folder)


def _edited_religion(tmp_path: Path, edit) -> Path:
    """A Religion sample folder whose file went through `edit(lines) -> lines`, its manifest updated."""
    folder = _copy_fixture(tmp_path, ("Religion",), manifest=False)
    path = folder / "bbq" / "Religion.jsonl"
    path.write_bytes(b"".join(edit(path.read_bytes().splitlines(keepends=True))))
    (folder / data.SAMPLE_MANIFEST).write_text(json.dumps({"files": {"bbq/Religion.jsonl": _sha256(path)}}))
    return path


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = _edited_religion(
        tmp_path, lambda lines: [*lines[:2], lines[2].replace(b"Muslim", b"Musl\xefm", 1), *lines[3:]]
    )
    with pytest.raises(data.DataError, match=rf"{path}:3: invalid UTF-8"):
        data.load_bbq("Religion", data_dir=path.parents[1])
    manifest = tmp_path / "m" / data.SAMPLE_MANIFEST
    manifest.parent.mkdir()
    manifest.write_bytes(b'{"files": {"\xff": 1}}')
    with pytest.raises(data.DataError, match=rf"{manifest}: expected"):
        data.sample_file(manifest.parent, "x")


def test_a_duplicated_record_names_file_and_both_lines(tmp_path):
    path = _edited_religion(tmp_path, lambda lines: [*lines[:5], lines[1], *lines[5:]])
    with pytest.raises(data.DataError, match=rf"{path}:6: example_id 1 repeats line 2"):
        data.load_bbq("Religion", data_dir=path.parents[1])


def test_an_ambiguous_item_labelled_with_a_person_names_file_and_line(tmp_path):
    def relabel(lines):
        record = json.loads(lines[0])  # ambiguous; its unknown option is ans1
        assert record["context_condition"] == "ambig" and record["label"] == 1
        return [json.dumps({**record, "label": 2}).encode() + b"\n", *lines[1:]]

    path = _edited_religion(tmp_path, relabel)
    with pytest.raises(
        data.DataError,
        match=rf"{path}:1: ambiguous item 0 is labelled 2 \('The Muslim one'\), not its unknown",
    ):
        data.load_bbq("Religion", data_dir=path.parents[1])


def test_splits_partition_the_items_by_template():
    everything = data.load_bbq(data_dir=FIXTURE_DIR)
    train = data.load_bbq(data_dir=FIXTURE_DIR, split="train")
    heldout = data.load_bbq(data_dir=FIXTURE_DIR, split="heldout")
    assert len(train) + len(heldout) == len(everything) and train and heldout
    assert all(is_training_template(item.category, item.question_index) for item in train)
    assert not any(is_training_template(item.category, item.question_index) for item in heldout)
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_bbq(data_dir=FIXTURE_DIR, split="test")
    with pytest.raises(ValueError, match="unknown BBQ categories"):
        data.load_bbq(["age"], data_dir=FIXTURE_DIR)


def test_verification_is_cached_per_file_state(tmp_path, monkeypatch):
    folder = _copy_fixture(tmp_path, ("Religion",))
    calls = []
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(data.hashlib, "sha256", lambda *a: calls.append(1) or real_sha256(*a))
    data.resolve("bbq/Religion.jsonl", folder)
    data.resolve("bbq/Religion.jsonl", folder)
    assert len(calls) == 1


# ---- packaged copies and downloads ------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over tmp_path/served."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _pin(monkeypatch, relpath: str, url: str, content: bytes) -> None:
    pin = data.PinnedFile(url, hashlib.sha256(content).hexdigest(), len(content))
    monkeypatch.setitem(data.REGISTRY, relpath, pin)


def test_download_lands_verified_in_the_cache_and_is_reused(server, monkeypatch, tmp_path):
    root, base = server
    content = b'{"x": 1}\n' * 5000
    (root / "f.jsonl").write_bytes(content)
    _pin(monkeypatch, "test/f.jsonl", f"{base}/f.jsonl", content)
    path = data.resolve("test/f.jsonl")
    assert path == tmp_path / "cache" / "test" / "f.jsonl" and path.read_bytes() == content
    assert data.verified_checksums()["test/f.jsonl"] == hashlib.sha256(content).hexdigest()
    (root / "f.jsonl").unlink()  # a second resolve must not need the network
    assert data.resolve("test/f.jsonl") == path


def test_cache_files_get_the_mode_of_any_new_file(server, monkeypatch, tmp_path):
    root, base = server
    (root / "f.jsonl").write_bytes(b"{}\n")
    _pin(monkeypatch, "test/f.jsonl", f"{base}/f.jsonl", b"{}\n")
    previous = os.umask(0o022)
    try:
        path = data.resolve("test/f.jsonl")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_download_with_wrong_checksum_leaves_nothing_behind(server, monkeypatch, tmp_path):
    root, base = server
    (root / "f.jsonl").write_bytes(b"tampered\n")
    _pin(monkeypatch, "test/f.jsonl", f"{base}/f.jsonl", b"original\n")
    with pytest.raises(data.DataError, match="checksum mismatch for download of test/f.jsonl"):
        data.resolve("test/f.jsonl")
    assert list((tmp_path / "cache").rglob("*")) == [tmp_path / "cache" / "test"]


def test_interrupted_download_leaves_nothing_behind(monkeypatch, tmp_path):
    class Interrupted:
        headers = {"Content-Length": "100"}

        def __init__(self):
            self.reads = 0

        def read(self, size):
            self.reads += 1
            if self.reads > 1:
                raise KeyboardInterrupt
            return b"x" * 10

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Interrupted())
    _pin(monkeypatch, "test/f.jsonl", "http://127.0.0.1:9/f.jsonl", b"x" * 100)
    with pytest.raises(KeyboardInterrupt):
        data.resolve("test/f.jsonl")
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_unreachable_source_is_a_data_error_naming_the_file(monkeypatch):
    _pin(monkeypatch, "test/f.jsonl", "http://127.0.0.1:9/f.jsonl", b"x")
    with pytest.raises(
        data.DataError, match="could not download test/f.jsonl from http://127.0.0.1:9/f.jsonl"
    ):
        data.resolve("test/f.jsonl")


def test_packaged_copy_comes_before_the_cache(monkeypatch, tmp_path):
    packaged = tmp_path / "packaged"
    (packaged / "test").mkdir(parents=True)
    (packaged / "test" / "f.jsonl").write_bytes(b"shipped\n")
    monkeypatch.setattr(data, "PACKAGED_DIR", packaged)
    _pin(monkeypatch, "test/f.jsonl", "http://127.0.0.1:9/never", b"shipped\n")
    assert data.resolve("test/f.jsonl") == packaged / "test" / "f.jsonl"


def test_unknown_registry_path_is_named():
    with pytest.raises(data.DataError, match="unknown data file 'bbq/Height.jsonl'"):
        data.resolve("bbq/Height.jsonl")

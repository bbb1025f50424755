"""Benchmark files from the Hugging Face Hub, pinned to a commit and cached once.

Shared by the harness adapters (VLBiasBench, MathVerse) and whatever else reads a hub archive;
it sits above `core/` (its data errors and cache folder) and below them all.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from fairreason_tasks.core.data import DataError, cache_dir


def fetch_hub_archive(repo: str, filenames: tuple[str, ...], revision: str, folder: str) -> Path:
    """Download `filenames` of a hub dataset at `revision` into the fairreason cache; unzip archives.

    Returns the cache folder. Refuses branch names: results must name the exact data they used.
    """
    if len(revision) != 40 or any(char not in "0123456789abcdef" for char in revision.lower()):
        raise DataError(f"{repo}: revision must be a 40-character commit id, got {revision!r}")
    from huggingface_hub import hf_hub_download

    target = cache_dir() / folder / revision
    done = target / ".complete"
    if done.is_file():
        return target
    for filename in filenames:
        try:
            local = hf_hub_download(repo, filename, repo_type="dataset", revision=revision)
        except Exception as error:  # network, auth, missing file: all mean "no data", said plainly
            raise DataError(
                f"could not download {filename} from hub dataset {repo}@{revision}: {error}"
            ) from error
        if filename.endswith(".zip"):
            with zipfile.ZipFile(local) as archive:
                archive.extractall(target)
        else:
            target.mkdir(parents=True, exist_ok=True)
            (target / filename).write_bytes(Path(local).read_bytes())
    done.write_text(f"{repo}@{revision}\n")
    return target

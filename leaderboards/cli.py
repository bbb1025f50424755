"""`fairreason leaderboard RESULTS... --baseline NAME --output DIR`: the two-axis leaderboard."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from leaderboards.board import (
    DEFAULT_MIN_RETENTION,
    LeaderboardError,
    category_bias,
    compare,
    load_runs,
    tidy_table,
)
from leaderboards.render import csv_text, frontier_png, html_page, markdown

OUTPUT_FILES = ("leaderboard.md", "leaderboard.csv", "leaderboard.html", "frontier.png")


def write_files_together(folder: Path, files: Mapping[str, bytes]) -> None:
    """Every file written to a temporary name first, then all renamed into place: a failure
    leaves the folder as it was, never a mix of old and new outputs. Modes follow the umask."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: dict[Path, Path] = {}
    try:
        for name, content in files.items():
            tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
            staged[tmp] = folder / name
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
        for tmp, final in staged.items():
            os.replace(tmp, final)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)


def build_leaderboard(
    paths: Sequence[str | Path],
    *,
    baseline: str,
    output: str | Path,
    min_retention: float = DEFAULT_MIN_RETENTION,
) -> pd.DataFrame:
    """Write leaderboard.md, leaderboard.csv (tidy, every metric), leaderboard.html and frontier.png.

    Everything is rendered in memory first; the files are written only when all of them rendered.
    """
    runs = load_runs(list(paths))
    table = compare(runs, baseline=baseline, min_retention=min_retention)
    plot = frontier_png(table)
    categories, heat = category_bias(runs)
    files = {
        "leaderboard.md": markdown(table).encode(),
        "leaderboard.csv": csv_text(tidy_table(runs)).encode(),
        "leaderboard.html": html_page(table, categories=categories, heat=heat, frontier_png=plot).encode(),
        "frontier.png": plot,
    }
    write_files_together(Path(output), files)
    return table


def leaderboard_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fairreason leaderboard", description=__doc__)
    parser.add_argument("results", nargs="+", help="scores.json files or lm-eval / lmms-eval results folders")
    parser.add_argument(
        "--baseline", required=True, help="model name to measure retention and reduction against"
    )
    parser.add_argument("--output", required=True)
    parser.add_argument(
        "--min-retention",
        type=float,
        default=DEFAULT_MIN_RETENTION,
        help="sweet spot: least share of the baseline's reasoning kept (default 0.85)",
    )
    args = parser.parse_args(argv)
    try:
        table = build_leaderboard(
            args.results, baseline=args.baseline, output=args.output, min_retention=args.min_retention
        )
    except (LeaderboardError, OSError) as error:
        print(f"fairreason leaderboard: {error}", file=sys.stderr)
        return 1
    print(markdown(table))
    for note in table.attrs.get("notes", []):
        print(f"fairreason leaderboard: note: {note}", file=sys.stderr)
    print(f"wrote {', '.join(OUTPUT_FILES)} to {args.output}")
    return 0

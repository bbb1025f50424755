"""The `fairreason` command: one entry point whose subcommands live in the modules that own them.

Each subcommand is `module:function`, imported only when used, so `fairreason tasks-path` stays
instant and does not pull in torch.
"""

from __future__ import annotations

import gc
import importlib
import sys

from fairreason_tasks.preflight import EXTRA_OF_MODULE, extra_hint, missing_modules

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "tasks-path": ("fairreason_tasks.locate", "Print the folder to pass to --include_path."),
    "link-tasks": ("fairreason_tasks.locate", "Make plain `lm_eval --tasks fairreason_*` work (reversible)."),
    "unlink-tasks": ("fairreason_tasks.locate", "Undo link-tasks."),
    "score": ("fairreason_tasks.harness_run", "Score a model on the bias and reasoning axes."),
    "train": ("trainers.cli", "Train a checkpoint: sft | distill | grpo."),
    "traces": ("trainers.traces", "Have a teacher write reasoning traces (resumable)."),
    "export": ("trainers.export", "Export a mixed data set and launch files for verl / EasyR1."),
    "sweep": ("studies.sweep_cli", "Train and score a paradigm x ratio grid (resumable)."),
    "leaderboard": ("leaderboards.cli", "Build the two-axis leaderboard from results folders."),
    "gate": ("leaderboards.gate", "CI gate: fail when bias rises or reasoning falls beyond the noise."),
    "demo": ("studies.demo", "The whole study on a tiny model, offline, on CPU."),
}


# Modules a subcommand cannot start without (checked before it runs, so nothing is half-made).
NEEDS: dict[str, tuple[str, ...]] = {
    "train": ("trl", "peft"),
    "demo": ("trl", "peft"),
    "sweep": ("trl", "peft"),
}


def _usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = ["usage: fairreason <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand. Without `argv` this is the process's command line: the process ends with
    the subcommand, so its heap is frozen (`gc.freeze`) for the interpreter's exit to skip walking
    millions of objects (torch, transformers: about half a second) that die with the process."""
    if argv is None:
        try:
            return _dispatch(sys.argv[1:])
        finally:
            gc.freeze()
    return _dispatch(list(argv))


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"fairreason: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    missing = missing_modules(NEEDS.get(name, ()))
    if missing and not {"-h", "--help"} & set(rest):
        print(f"fairreason {name}: {extra_hint(missing[0])}", file=sys.stderr)
        return 1
    try:
        module = importlib.import_module(SUBCOMMANDS[name][0])
        entry = getattr(module, name.replace("-", "_") + "_main")
        return int(entry(rest) or 0)
    except ModuleNotFoundError as error:
        top = (error.name or "").split(".")[0]
        if top not in EXTRA_OF_MODULE:
            raise
        print(f"fairreason {name}: {extra_hint(top)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""`fairreason sweep` command line: flags -> `SweepSettings`, then the local sweep (`studies.sweep`)
or the cluster launcher (`studies.launchers`); above both, so neither imports the other back."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from studies.sweep import RESERVED_SCORE_FLAGS, SweepError, SweepSettings, run_sweep
from trainers.recipe import PARADIGMS


def _paradigms(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in PARADIGMS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"paradigms must be a comma list of {', '.join(PARADIGMS)}, got {text!r}"
        )
    return names


def _ratios(text: str) -> tuple[float, ...]:
    try:
        ratios = tuple(dict.fromkeys(float(part) for part in text.split(",") if part.strip()))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"ratios must be a comma list of numbers, got {text!r}") from error
    if not ratios or any(not 0.0 <= ratio <= 1.0 for ratio in ratios):
        raise argparse.ArgumentTypeError(f"ratios must lie in [0, 1], got {text!r}")
    return ratios


LAUNCHERS = ("local", "slurm")
# --launcher slurm: flags that fill studies.launchers.SlurmResources (over the recipe's `slurm:`)
_RESOURCE_FLAGS = (
    "nodes",
    "gpus_per_node",
    "cpus_per_task",
    "mem_gb",
    "time",
    "partition",
    "account",
    "qos",
    "sbatch",
    "setup",
    "array_parallelism",
    "max_requeues",
)


class _DeprecatedAlias(argparse.Action):
    """`--ratios`, the previous name of `--debias-ratios`: still accepted for one release, with a note."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(f"fairreason sweep: {option_string} is deprecated, use --debias-ratios", file=sys.stderr)
        setattr(namespace, self.dest, values)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairreason sweep",
        description="Train and score every (paradigm, debias ratio) cell, resumably, then build the "
        "leaderboard.",
    )
    parser.add_argument(
        "--paradigms", type=_paradigms, default=("sft",), help="comma list of sft,distill,grpo"
    )
    parser.add_argument(
        "--debias-ratios",
        dest="debias_ratios",
        type=_ratios,
        help="comma list of debias ratios, e.g. 0,0.2,1 (required)",
    )
    parser.add_argument(
        "--ratios", dest="debias_ratios", type=_ratios, action=_DeprecatedAlias, help=argparse.SUPPRESS
    )
    parser.add_argument("--recipe", help="recipe name (tiny, qwen3_8b) or YAML path (required)")
    parser.add_argument("--budget", type=int, help="training samples per cell (required)")
    parser.add_argument("--output", type=Path, help="sweep folder (rerun with it to resume; required)")
    parser.add_argument("--data-dir", dest="data_dir", help="offline data folder for training and scoring")
    parser.add_argument("--limit", type=float, help="documents per task when scoring")
    parser.add_argument(
        "--train-args",
        dest="train_args",
        default="",
        help="extra `fairreason train` flags, one quoted string",
    )
    parser.add_argument(
        "--score-args",
        dest="score_args",
        default="",
        help='extra `fairreason score` flags, e.g. "--suite demo --apply_chat_template"',
    )
    parser.add_argument(
        "--model-args",
        dest="model_args",
        default="",
        help="extra harness model_args after pretrained=<checkpoint>, e.g. dtype=bfloat16",
    )
    parser.add_argument(
        "--baseline", help="leaderboard baseline cell (default: first paradigm, lowest ratio)"
    )
    parser.add_argument(
        "--min-retention",
        dest="min_retention",
        type=float,
        help="sweet-spot retention threshold for the leaderboard",
    )
    parser.add_argument(
        "--train-launcher",
        dest="train_launcher",
        default="",
        help="command that starts `-m fairreason_tasks.cli train` on several GPUs, e.g. "
        '"accelerate launch --config_file trainers/scale_out/zero3.yaml" ($VARS expand in the job)',
    )
    parser.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default="local",
        help="local: cells one after another here (default); slurm: one job array on a cluster",
    )
    state = parser.add_argument_group("an existing sweep folder (nothing is trained or submitted)")
    state.add_argument(
        "--status", type=Path, metavar="DIR", help="poll the scheduler and print the cells of DIR"
    )
    state.add_argument(
        "--cancel", type=Path, metavar="DIR", help="cancel the cluster jobs the sweep in DIR submitted"
    )
    slurm = parser.add_argument_group("--launcher slurm (defaults: the recipe's `slurm:` section)")
    slurm.add_argument(
        "--cluster",
        choices=("slurm", "local"),
        default="slurm",
        help="local: the same jobs through submitit's local executor, on this machine",
    )
    slurm.add_argument(
        "--wait", action="store_true", help="follow the jobs to the end, then build the leaderboard"
    )
    slurm.add_argument("--poll-seconds", dest="poll_seconds", type=float, default=30.0, help="with --wait")
    slurm.add_argument(
        "--retry-failed",
        dest="retry_failed",
        action="store_true",
        help="resubmit cells whose job failed, timed out or was cancelled",
    )
    slurm.add_argument("--nodes", type=int)
    slurm.add_argument("--gpus-per-node", dest="gpus_per_node", type=int)
    slurm.add_argument("--cpus-per-task", dest="cpus_per_task", type=int)
    slurm.add_argument("--mem-gb", dest="mem_gb", type=float)
    slurm.add_argument("--time", help="per cell: minutes or [D-]HH:MM[:SS]")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--qos")
    slurm.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="OPTION",
        help="an extra #SBATCH option, e.g. --sbatch=--constraint=h100 (repeatable)",
    )
    slurm.add_argument(
        "--setup",
        action="append",
        default=[],
        metavar="LINE",
        help='a shell line run in the job first, e.g. "source .venv/bin/activate" (repeatable)',
    )
    slurm.add_argument(
        "--array-parallelism", dest="array_parallelism", type=int, help="cells running at once"
    )
    slurm.add_argument(
        "--max-requeues", dest="max_requeues", type=int, help="requeues after preemption/timeout"
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> SweepSettings:
    missing = [
        f"--{name.replace('_', '-')}"
        for name in ("debias_ratios", "recipe", "budget", "output")
        if getattr(args, name) is None
    ]
    if missing:
        raise SweepError(f"{', '.join(missing)} required (or --status DIR / --cancel DIR)")
    if args.budget < 1:
        raise SweepError(f"--budget must be a positive number of samples, got {args.budget}")
    reserved = [flag for flag in shlex.split(args.score_args) if flag.split("=")[0] in RESERVED_SCORE_FLAGS]
    if reserved:
        raise SweepError(f"--score-args may not set {', '.join(reserved)}: the sweep sets them per cell")
    data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
    recipe = (
        str(Path(args.recipe).resolve()) if Path(args.recipe).suffix in (".yaml", ".yml") else args.recipe
    )
    return SweepSettings(
        output=args.output.resolve(),
        paradigms=args.paradigms,
        ratios=args.debias_ratios,
        recipe=recipe,
        budget=args.budget,
        data_dir=data_dir,
        limit=args.limit,
        train_args=args.train_args,
        score_args=args.score_args,
        model_args=args.model_args,
        baseline=args.baseline,
        min_retention=args.min_retention,
        train_launcher=args.train_launcher,
        retry_failed=args.retry_failed,
    )


def sweep_main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        if args.status or args.cancel:
            from studies.launchers import cancel_main, status_main  # submitit: the cluster extra

            return status_main(args.status) if args.status else cancel_main(args.cancel)
        settings = settings_from_args(args)
        if args.launcher == "local":
            return run_sweep(settings)
        from studies.launchers import parse_time, run_slurm_sweep

        flags = {name: getattr(args, name) for name in _RESOURCE_FLAGS}
        flags["sbatch"], flags["setup"] = tuple(flags["sbatch"]), tuple(flags["setup"])
        time_given = flags.pop("time")
        flags["time_min"] = parse_time(time_given) if time_given else None
        return run_slurm_sweep(
            settings, cluster=args.cluster, flags=flags, wait=args.wait, poll_seconds=args.poll_seconds
        )
    except SweepError as error:
        print(f"fairreason sweep: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if error.name != "submitit":
            raise
        print(
            "fairreason sweep: --launcher slurm, --status and --cancel need submitit: "
            'pip install "fairreason[cluster]"',
            file=sys.stderr,
        )
        return 2

"""A scripted lm-eval model: canned answers chosen per document, for checking metrics end to end.

Pass a function `(task_name, doc, context) -> str` (or `-> list[float]` of option scores for
loglikelihood tasks); the harness then runs its real prompt building, repeats, filters,
`process_results` and aggregation on those answers, so a test can compare the harness's numbers
with an independent computation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM

from fairreason_tasks.locate import tasks_path

Responder = Callable[[str, dict, str], Any]


class ScriptedLM(LM):
    def __init__(self, respond: Responder, choice_scores: Responder | None = None) -> None:
        super().__init__()
        self._respond = respond
        self._choice_scores = choice_scores
        self.prompts: list[str] = []

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        answers = []
        for request in requests:
            context = request.args[0]
            self.prompts.append(context)
            answers.append(self._respond(request.task_name, request.doc, context))
        return answers

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """Score of each continuation: `choice_scores(...)` returns one float per option of the doc."""
        if self._choice_scores is None:
            raise TypeError("ScriptedLM got a loglikelihood request but no choice_scores function")
        scored = []
        for request in requests:
            scores = self._choice_scores(request.task_name, request.doc, request.args[0])
            # lm-eval sends one request per option, numbered in option order.
            scored.append((float(scores[request.idx]), False))
        return scored

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        raise TypeError("ScriptedLM does not score rolling loglikelihoods")


def evaluate_task(
    lm: LM, tasks: list[str], *, metadata: dict[str, Any] | None = None, **options: Any
) -> dict:
    """lm-eval's own evaluator over fairreason's task folder only (no index of the built-in tasks).

    `options` go to `simple_evaluate` as they are (limit, bootstrap_iters, confirm_run_unsafe_code...);
    samples are not logged unless asked.
    """
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)
    options.setdefault("log_samples", False)
    return simple_evaluate(model=lm, tasks=tasks, task_manager=manager, metadata=metadata, **options)

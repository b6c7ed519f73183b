"""Statistics for the report: success rates, expected running time, ECDFs, profiles, paired tests.

Conventions used throughout:

* A *cost* is what a run spent, in evaluations (single-example forward passes) or solver
  seconds. A run that never reached a target has cost ``inf`` for that target: never the budget,
  never zero.
* Everything random (the bootstrap) takes an explicit seed, so a report built twice from the
  same records is identical.

References:
    N. Hansen et al., "COCO: Performance Assessment", arXiv:1605.03560 (aRT/ERT, runtime ECDFs).
    E. D. Dolan and J. J. Moré, "Benchmarking optimization software with performance profiles",
    Math. Programming 91 (2002).
    J. Demšar, "Statistical comparisons of classifiers over multiple data sets", JMLR 7 (2006).
    S. Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Stat. 6 (1979).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as _scipy_stats
from scipy.stats import norm

FloatArray = NDArray[np.float64]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Preferred over the normal ("Wald") interval because it stays inside [0, 1] and keeps its
    coverage at 0/n and n/n, which are common here (a solver that never or always succeeds).

    Reference: E. B. Wilson, "Probable inference, the law of succession, and statistical
    inference", JASA 22 (1927).
    """
    if trials <= 0:
        return (0.0, 1.0)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def median_iqr(values: Sequence[float]) -> tuple[float, float, float] | None:
    """``(median, q25, q75)``, or ``None`` for an empty sample."""
    if len(values) == 0:
        return None
    q25, med, q75 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(med), float(q25), float(q75)


# --------------------------------------------------------------------------------------------
# Expected running time (COCO's aRT / ERT)
# --------------------------------------------------------------------------------------------


def ert(costs: ArrayLike, successes: ArrayLike) -> float:
    """Expected running time: the total cost of all runs divided by the number of successes.

    ``costs[i]`` is what run ``i`` spent: its cost *to the target* when it succeeded, its total
    cost when it failed. The estimator is COCO's aRT, ``(sum of successful runtimes + sum of
    unsuccessful runs' costs) / n_successes``, i.e. the expected cost of an algorithm that restarts
    independently until it succeeds. It is infinite when no run succeeded.

    Args:
        costs: one cost per run (finite).
        successes: one bool per run.
    """
    c = np.asarray(costs, dtype=float)
    s = np.asarray(successes, dtype=bool)
    if c.shape != s.shape:
        raise ValueError(f"costs {c.shape} and successes {s.shape} must have the same shape")
    n_ok = int(s.sum())
    return math.inf if n_ok == 0 else float(c.sum() / n_ok)


#: Resample indices drawn at once by the bootstraps (1 Mi: 8 MB), so a sample of 10^5 runs never
#: holds its ``n_boot x n`` indices (1.6 GB for 2000 resamples) at once.
DRAW_BLOCK = 1 << 20


def resample_blocks(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[np.ndarray]:
    """The indices ``rng.integers(0, n, size=(n_boot, n))`` would draw, a block of rows at a
    time: the generator draws them one after another, so the blocks hold the same numbers and
    leave it where the single call would (tested), and every interval stays as it was."""
    rows = max(1, DRAW_BLOCK // max(n, 1))
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n, size=(min(rows, n_boot - start), n))


def ert_bootstrap(
    costs: ArrayLike,
    successes: ArrayLike,
    *,
    seed: int,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of :func:`ert`, resampling whole runs with replacement.

    Resamples that contain no success have an infinite ERT; they sort last, so a sample with few
    successes gets an honest infinite upper bound instead of an interpolated number. The
    quantiles are order statistics (no interpolation, which would turn ``inf - inf`` into NaN).

    Args:
        costs, successes: as for :func:`ert`.
        seed: seed of the resampling generator (the report derives it from the group's name).
        n_boot: number of resamples.
        confidence: coverage of the two-sided interval.

    Returns:
        ``(low, high)``; ``(inf, inf)`` when no run succeeded, ``(nan, nan)`` for no runs.
    """
    c = np.asarray(costs, dtype=float)
    s = np.asarray(successes, dtype=bool)
    n = c.size
    if n == 0:
        return (math.nan, math.nan)
    if not s.any():
        return (math.inf, math.inf)
    rng = np.random.default_rng(seed)
    blocks = [(c[idx].sum(axis=1), s[idx].sum(axis=1)) for idx in resample_blocks(rng, n, n_boot)]
    total = np.concatenate([b[0] for b in blocks])
    wins = np.concatenate([b[1] for b in blocks])
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = np.where(wins > 0, total / np.maximum(wins, 1), np.inf)
    alpha = (1 - confidence) / 2
    low = float(np.quantile(boot, alpha, method="inverted_cdf"))
    high = float(np.quantile(boot, 1 - alpha, method="inverted_cdf"))
    return (low, high)


# --------------------------------------------------------------------------------------------
# Runtime ECDFs and performance profiles
# --------------------------------------------------------------------------------------------


def ecdf(runtimes: ArrayLike, grid: ArrayLike) -> FloatArray:
    """Share of ``runtimes`` at or below each grid value; ``inf`` (unsolved) stays in the count."""
    r = np.sort(np.asarray(runtimes, dtype=float))
    g = np.asarray(grid, dtype=float)
    if r.size == 0:
        return np.zeros_like(g)
    return np.searchsorted(r, g, side="right") / r.size


def runtime_ecdf(problems: Sequence[ArrayLike], grid: ArrayLike) -> FloatArray:
    """COCO's runtime ECDF over problems: the mean over problems of each problem's :func:`ecdf`.

    Every problem (a task and a target) weighs the same, however many runs it has, so a task
    with more seeds does not dominate. A problem without runs counts as unsolved.
    """
    g = np.asarray(grid, dtype=float)
    if not problems:
        return np.zeros_like(g)
    return np.mean([ecdf(p, g) for p in problems], axis=0)


def performance_ratios(costs: ArrayLike) -> FloatArray:
    """Dolan-Moré ratios ``r[p, s] = t[p, s] / min_s t[p, s]`` for costs ``(problems, solvers)``.

    Failures (``inf``) keep ratio ``inf``; a problem no solver solved has ``inf`` everywhere.
    Costs must be positive: callers floor them (the report floors at one evaluation).
    """
    t = np.asarray(costs, dtype=float)
    if t.ndim != 2:
        raise ValueError(f"costs must be (problems, solvers); got shape {t.shape}")
    if np.any(t <= 0):
        raise ValueError("costs must be positive (floor them before computing ratios)")
    best = np.min(t, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(best), t / best, np.inf)
    return ratios


def performance_profile(costs: ArrayLike, taus: ArrayLike) -> FloatArray:
    """``rho[s, k]``: the share of problems solver ``s`` solved within ``taus[k]`` x the best cost.

    Args:
        costs: ``(problems, solvers)``, ``inf`` for a failure.
        taus: ratio thresholds (>= 1).

    Returns:
        ``(solvers, len(taus))``.
    """
    ratios = performance_ratios(costs)
    return np.stack([ecdf(ratios[:, s], taus) for s in range(ratios.shape[1])])


# --------------------------------------------------------------------------------------------
# Paired tests over seeds
# --------------------------------------------------------------------------------------------


def holm(pvalues: ArrayLike) -> FloatArray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    Controls the family-wise error rate of all the pairwise comparisons together, without
    Bonferroni's full price: the smallest p-value is multiplied by m, the next by m - 1, ...
    """
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out


def holm_finite(pvalues: Sequence[float]) -> list[float]:
    """:func:`holm` over the finite p-values; a NaN (a test that could not run) stays NaN."""
    finite = [p for p in pvalues if math.isfinite(p)]
    adjusted = iter(holm(finite)) if finite else iter(())
    return [float(next(adjusted)) if math.isfinite(p) else math.nan for p in pvalues]


def log_cost_differences(a: ArrayLike, b: ArrayLike, floor: float = 1.0) -> FloatArray:
    """Paired differences ``log10(a) - log10(b)`` where failures (``inf``) rank last.

    Both failed: 0 (a tie). Exactly one failed: a difference larger in magnitude than any
    difference between two successes, signed against the failure. The signed-rank test only uses
    the ranks of ``|d|`` and the signs, so this is exactly "a failure is worse than any success"
    and nothing more. Logs make the differences ratios, comparable across tasks whose costs differ
    by orders of magnitude.

    Args:
        a, b: paired costs (``inf`` = failed to reach the target).
        floor: costs are floored here before the log (a run solved at initialisation costs 0).
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired samples must have the same shape; got {x.shape} and {y.shape}")
    fx, fy = np.isfinite(x), np.isfinite(y)
    both = fx & fy
    d = np.zeros(x.shape)
    d[both] = np.log10(np.maximum(x[both], floor)) - np.log10(np.maximum(y[both], floor))
    big = 1.0 + 2.0 * (float(np.max(np.abs(d[both]))) if both.any() else 0.0)
    d[~fx & fy] = big
    d[fx & ~fy] = -big
    return d


@dataclass(frozen=True)
class PairedTest:
    """A paired comparison of two solvers over blocks (task x seed).

    Attributes:
        n: paired blocks.
        a_better, b_better, ties: blocks where a cost less, more, the same (both failed counts as
            a tie).
        statistic: Wilcoxon's statistic (the smaller signed-rank sum), NaN if not computed.
        pvalue: two-sided p-value; 1.0 when every block is a tie.
        rank_sum_a, rank_sum_b: signed-rank sums of the blocks a won and b won (ranks of |d| over
            the non-tied blocks); the larger one says which way a significant result points.
    """

    n: int
    a_better: int
    b_better: int
    ties: int
    statistic: float
    pvalue: float
    rank_sum_a: float = 0.0
    rank_sum_b: float = 0.0

    @property
    def favours(self) -> str:
        """``"a"``, ``"b"`` or ``""`` (equal rank sums): the direction of the difference."""
        if self.rank_sum_a > self.rank_sum_b:
            return "a"
        if self.rank_sum_b > self.rank_sum_a:
            return "b"
        return ""


def paired_wilcoxon(a: ArrayLike, b: ArrayLike, floor: float = 1.0) -> PairedTest:
    """Wilcoxon signed-rank test on paired costs, failures ranking last.

    Seeds are paired: for a given seed every single-start solver starts from the same weights, so
    the per-seed difference removes the luck of the draw. Zero differences are dropped
    (``zero_method="wilcox"``, scipy's default); scipy picks the exact null distribution for
    small samples without ties and the normal approximation otherwise.
    """
    d = log_cost_differences(a, b, floor)
    n = int(d.size)
    a_better, b_better = int(np.sum(d < 0)), int(np.sum(d > 0))
    ties = n - a_better - b_better
    if a_better + b_better == 0:
        return PairedTest(n, a_better, b_better, ties, math.nan, 1.0)
    nonzero = d[d != 0]
    ranks = _scipy_stats.rankdata(np.abs(nonzero))
    res = _scipy_stats.wilcoxon(d, zero_method="wilcox")
    return PairedTest(
        n,
        a_better,
        b_better,
        ties,
        float(res.statistic),
        float(res.pvalue),
        rank_sum_a=float(ranks[nonzero < 0].sum()),
        rank_sum_b=float(ranks[nonzero > 0].sum()),
    )


def block_ranks(costs: ArrayLike) -> FloatArray:
    """Ranks within each block (row) of ``(blocks, solvers)`` costs: 1 = cheapest, ties averaged.

    Failures (``inf``) tie for the last ranks.
    """
    t = np.asarray(costs, dtype=float)
    return np.apply_along_axis(_scipy_stats.rankdata, 1, t) if t.size else t.copy()


@dataclass(frozen=True)
class Friedman:
    """Friedman's omnibus test over complete blocks, with the mean ranks it is based on."""

    blocks: int
    mean_ranks: FloatArray
    statistic: float
    pvalue: float


def friedman(costs: ArrayLike) -> Friedman:
    """Friedman test on ``(blocks, solvers)`` costs (failures tie last in their block).

    Needs at least three solvers and two blocks; otherwise the statistic and p-value are NaN but
    the mean ranks are still given.
    """
    t = np.asarray(costs, dtype=float)
    ranks = block_ranks(t)
    mean_ranks = ranks.mean(axis=0) if t.shape[0] else np.full(t.shape[1], math.nan)
    if t.shape[1] < 3 or t.shape[0] < 2:
        return Friedman(int(t.shape[0]), mean_ranks, math.nan, math.nan)
    # scipy ranks each block itself; inf ties rank last there too. With every block a full tie
    # the statistic is 0/0: report "no evidence" rather than NaN.
    if np.all(ranks == ranks[:, :1]):
        return Friedman(int(t.shape[0]), mean_ranks, 0.0, 1.0)
    res = _scipy_stats.friedmanchisquare(*[t[:, j] for j in range(t.shape[1])])
    return Friedman(int(t.shape[0]), mean_ranks, float(res.statistic), float(res.pvalue))


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------


def step_interpolate(x: ArrayLike, y: ArrayLike, grid: ArrayLike) -> FloatArray:
    """Value of the step function through ``(x, y)`` at each grid point (previous-value rule).

    Traces are sampled on a log-spaced schedule: between two samples the last known value holds;
    before the first sample the first value holds (the starting point); after the last sample
    the final value holds (a finished run keeps its final state).
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    g = np.asarray(grid, dtype=float)
    if xs.size == 0:
        return np.full(g.shape, math.nan)
    idx = np.searchsorted(xs, g, side="right") - 1
    return ys[np.clip(idx, 0, xs.size - 1)]


# --------------------------------------------------------------------------------------------
# Separated paired comparisons: reliability, then cost given that both succeeded
# --------------------------------------------------------------------------------------------
#
# Coding a failure as "the largest possible difference" and ranking it with costs mixes two
# questions: a solver that always succeeds slowly then "beats" one that rarely fails but is far
# cheaper whenever both succeed. The report asks them apart, each with an effect size and its
# interval next to the p-value: reliability with McNemar's exact test on the discordant blocks,
# cost with the median paired log-ratio over the blocks where *both* succeeded.


@dataclass(frozen=True)
class Reliability:
    """Paired success of two solvers over blocks (task x seed) where both ran.

    Attributes:
        n: blocks where both ran.
        a_only, b_only: blocks only ``a`` (only ``b``) succeeded in: the discordant pairs.
        both, neither: concordant blocks.
        pvalue: two-sided exact McNemar test (binomial on the discordant pairs, p = 1/2); 1.0
            without discordant pairs.
        diff, low, high: success-rate difference ``a - b`` and its 95% interval (Newcombe's
            hybrid score interval for paired proportions, method 10).
    """

    n: int
    a_only: int
    b_only: int
    both: int
    neither: int
    pvalue: float
    diff: float
    low: float
    high: float

    @property
    def favours(self) -> str:
        if self.a_only > self.b_only:
            return "a"
        if self.b_only > self.a_only:
            return "b"
        return ""


def mcnemar(a_success: ArrayLike, b_success: ArrayLike) -> Reliability:
    """McNemar's exact test and Newcombe's interval for paired success indicators."""
    a = np.asarray(a_success, dtype=bool)
    b = np.asarray(b_success, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same shape; got {a.shape} and {b.shape}")
    n = int(a.size)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    both, neither = int(np.sum(a & b)), int(np.sum(~a & ~b))
    discordant = a_only + b_only
    p = (
        float(_scipy_stats.binomtest(a_only, discordant, 0.5).pvalue) if discordant else 1.0
    )
    if n == 0:
        return Reliability(0, 0, 0, 0, 0, 1.0, math.nan, math.nan, math.nan)
    diff, low, high = _newcombe_paired(both, a_only, b_only, neither)
    return Reliability(n, a_only, b_only, both, neither, p, diff, low, high)


def _newcombe_paired(
    both: int, a_only: int, b_only: int, neither: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Newcombe (1998) method 10: the difference of paired proportions with Wilson limits."""
    n = both + a_only + b_only + neither
    p1, p2 = (both + a_only) / n, (both + b_only) / n
    l1, u1 = wilson_interval(both + a_only, n, confidence)
    l2, u2 = wilson_interval(both + b_only, n, confidence)
    diff = p1 - p2
    denom = (both + a_only) * (neither + b_only) * (both + b_only) * (neither + a_only)
    num = both * neither - a_only * b_only
    corrected = max(num - n / 2, 0.0) if num > 0 else num
    phi = 0.0 if denom == 0 else corrected / math.sqrt(denom)
    d1 = math.sqrt(max(
        (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    d2 = math.sqrt(max(
        (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return diff, max(-1.0, diff - d1), min(1.0, diff + d2)


@dataclass(frozen=True)
class CostGivenSuccess:
    """Paired cost of two solvers over the blocks where both reached the target.

    Attributes:
        n: blocks where both succeeded.
        a_cheaper, b_cheaper, ties: blocks where ``a`` cost less, more, the same.
        log_ratio, low, high: median of ``log10(cost_a / cost_b)`` over those blocks and its 95%
            percentile-bootstrap interval (negative: ``a`` is cheaper).
        pvalue: two-sided Wilcoxon signed-rank test of the log-ratios (1.0 if all tie, NaN with
            no block).
    """

    n: int
    a_cheaper: int
    b_cheaper: int
    ties: int
    log_ratio: float
    low: float
    high: float
    pvalue: float

    @property
    def ratio(self) -> float:
        """How many times ``b``'s cost ``a`` spent (the median paired ratio)."""
        return float(10**self.log_ratio) if math.isfinite(self.log_ratio) else math.nan

    @property
    def favours(self) -> str:
        if not math.isfinite(self.log_ratio) or self.log_ratio == 0:
            return ""
        return "a" if self.log_ratio < 0 else "b"


def cost_given_success(
    a: ArrayLike, b: ArrayLike, *, floor: float = 1.0, seed: int = 0, n_boot: int = 2000,
    confidence: float = 0.95,
) -> CostGivenSuccess:
    """Compare paired costs only where both runs reached the target (both finite).

    Args:
        a, b: paired costs to target (``inf`` = missed; those blocks are left out here, and
            count in :func:`mcnemar` instead).
        floor: costs are floored here before the log (a run solved at initialisation costs 0).
        seed: seed of the bootstrap.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    d = np.log10(np.maximum(x[both], floor)) - np.log10(np.maximum(y[both], floor))
    n = int(d.size)
    if n == 0:
        return CostGivenSuccess(0, 0, 0, 0, math.nan, math.nan, math.nan, math.nan)
    a_cheaper, b_cheaper = int(np.sum(d < 0)), int(np.sum(d > 0))
    med = float(np.median(d))
    rng = np.random.default_rng(seed)
    boot = np.concatenate([np.median(d[idx], axis=1) for idx in resample_blocks(rng, n, n_boot)])
    alpha = (1 - confidence) / 2
    low = float(np.quantile(boot, alpha, method="inverted_cdf"))
    high = float(np.quantile(boot, 1 - alpha, method="inverted_cdf"))
    if a_cheaper + b_cheaper == 0:
        p = 1.0
    else:
        p = float(_scipy_stats.wilcoxon(d, zero_method="wilcox").pvalue)
    return CostGivenSuccess(n, a_cheaper, b_cheaper, n - a_cheaper - b_cheaper, med, low, high, p)

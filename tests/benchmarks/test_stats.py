"""The report's statistics against hand-computed values and against scipy where it has the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmarks.report.stats import (
    block_ranks,
    ecdf,
    ert,
    ert_bootstrap,
    friedman,
    holm,
    log_cost_differences,
    median_iqr,
    paired_wilcoxon,
    performance_profile,
    performance_ratios,
    runtime_ecdf,
    step_interpolate,
    wilson_interval,
)

# ---------------------------------------------------------------------------------------------
# Wilson interval
# ---------------------------------------------------------------------------------------------


def test_wilson_interval_at_zero_successes_matches_the_closed_form() -> None:
    """At k = 0 the lower bound is 0 and the upper bound is z^2 / (n + z^2)."""
    z = 1.959963984540054
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(z * z / (10 + z * z), rel=1e-12)  # 0.27753...
    assert hi == pytest.approx(0.277533, abs=1e-6)


def test_wilson_interval_by_hand_at_half() -> None:
    """k = 5, n = 10: centre 0.5, half-width z sqrt(0.025 + z^2/400) / (1 + z^2/10)."""
    z = 1.959963984540054
    half = z * math.sqrt(0.5 * 0.5 / 10 + z * z / 400) / (1 + z * z / 10)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.5 - half, rel=1e-12)
    assert hi == pytest.approx(0.5 + half, rel=1e-12)
    assert (lo, hi) == pytest.approx((0.236593, 0.763407), abs=1e-6)


@pytest.mark.parametrize(("k", "n"), [(0, 3), (1, 3), (3, 3), (4, 15), (7, 10), (26, 27)])
def test_wilson_interval_matches_scipy_binomtest(k: int, n: int) -> None:
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_interval_without_trials_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_median_iqr_and_empty_sample() -> None:
    assert median_iqr([1.0, 2.0, 3.0, 4.0, 5.0]) == (3.0, 2.0, 4.0)
    assert median_iqr([]) is None


# ---------------------------------------------------------------------------------------------
# ERT
# ---------------------------------------------------------------------------------------------


def test_ert_counts_the_cost_of_failed_runs() -> None:
    """Two successes at 100 and 200, two failures that spent 1000 and 500: (100+200+1000+500)/2."""
    costs = [100.0, 1000.0, 200.0, 500.0]
    ok = [True, False, True, False]
    assert ert(costs, ok) == 900.0


def test_ert_equals_mean_runtime_when_every_run_succeeds() -> None:
    assert ert([10.0, 20.0, 30.0], [True, True, True]) == 20.0


def test_ert_is_infinite_without_success() -> None:
    assert ert([5.0, 7.0], [False, False]) == math.inf


def test_ert_equals_coco_decomposition() -> None:
    """aRT = mean(successful RT) + (1 - p)/p * mean(unsuccessful cost) (COCO's identity)."""
    rng = np.random.default_rng(0)
    costs = rng.uniform(1, 100, 12)
    ok = rng.uniform(size=12) < 0.4
    ok[0] = True
    p = ok.mean()
    expected = costs[ok].mean() + (1 - p) / p * costs[~ok].mean()
    assert ert(costs, ok) == pytest.approx(expected, rel=1e-12)


def test_ert_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="same shape"):
        ert([1.0, 2.0], [True])


def test_ert_bootstrap_is_reproducible_and_brackets_the_estimate() -> None:
    costs = [120.0, 80.0, 400.0, 95.0, 300.0, 150.0, 60.0, 500.0]
    ok = [True, True, False, True, False, True, True, False]
    first = ert_bootstrap(costs, ok, seed=7)
    assert first == ert_bootstrap(costs, ok, seed=7)
    assert first != ert_bootstrap(costs, ok, seed=8)
    lo, hi = first
    assert lo <= ert(costs, ok) <= hi


def test_ert_bootstrap_degenerate_cases() -> None:
    assert ert_bootstrap([3.0, 3.0, 3.0], [True, True, True], seed=0) == (3.0, 3.0)
    assert ert_bootstrap([3.0, 4.0], [False, False], seed=0) == (math.inf, math.inf)
    lo, hi = ert_bootstrap([], [], seed=0)
    assert math.isnan(lo) and math.isnan(hi)


def test_ert_bootstrap_upper_bound_is_infinite_with_one_success_in_three() -> None:
    """A resample without the one success has probability (2/3)^3 = 0.30 > 2.5%: upper = inf."""
    lo, hi = ert_bootstrap([10.0, 50.0, 50.0], [True, False, False], seed=1)
    assert math.isfinite(lo)
    assert hi == math.inf


# ---------------------------------------------------------------------------------------------
# ECDF and performance profiles
# ---------------------------------------------------------------------------------------------


def test_ecdf_counts_unsolved_runs_in_the_denominator() -> None:
    got = ecdf([1.0, 2.0, math.inf, 4.0], [0.0, 1.0, 3.0, 10.0])
    assert got.tolist() == [0.0, 0.25, 0.5, 0.75]


def test_runtime_ecdf_weighs_each_problem_equally() -> None:
    """Problem A: 2 runs solved at 1 and 3; problem B: 4 runs, one solved at 2.

    At t = 2: A 1/2, B 1/4 -> 0.375 (not 2/6 as pooling the runs would give).
    """
    problems = [np.array([1.0, 3.0]), np.array([2.0, math.inf, math.inf, math.inf])]
    got = runtime_ecdf(problems, [0.5, 2.0, 3.0])
    assert got.tolist() == [0.0, 0.375, 0.625]


def test_runtime_ecdf_counts_a_problem_without_runs_as_unsolved() -> None:
    got = runtime_ecdf([np.array([1.0]), np.array([])], [5.0])
    assert got.tolist() == [0.5]


def test_performance_profile_by_hand() -> None:
    """Costs (problems x solvers); failures are inf; a problem nobody solved counts for nobody."""
    costs = np.array([[1.0, 2.0], [4.0, 2.0], [math.inf, math.inf], [3.0, math.inf]])
    ratios = performance_ratios(costs)
    assert ratios.tolist() == [[1.0, 2.0], [2.0, 1.0], [math.inf, math.inf], [1.0, math.inf]]
    rho = performance_profile(costs, [1.0, 1.5, 2.0, 100.0])
    assert rho[0].tolist() == [0.5, 0.5, 0.75, 0.75]
    assert rho[1].tolist() == [0.25, 0.25, 0.5, 0.5]


def test_performance_ratios_reject_non_positive_costs() -> None:
    with pytest.raises(ValueError, match="positive"):
        performance_ratios(np.array([[0.0, 1.0]]))


# ---------------------------------------------------------------------------------------------
# Paired tests
# ---------------------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    """p = (0.01, 0.04, 0.03): sorted, times (3, 2, 1): (0.03, 0.06, 0.04); made monotone:
    (0.03, 0.06, 0.06), back in the original order (0.03, 0.06, 0.06)."""
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]
    assert holm([]).size == 0


def test_wilcoxon_by_hand_exact() -> None:
    """d = (1, -2, 3, 4, 5) in log10 units: W- = 2 = statistic; exact two-sided p = 2 * 3/32."""
    b = np.ones(5)
    a = 10.0 ** np.array([1.0, -2.0, 3.0, 4.0, 5.0])
    test = paired_wilcoxon(a, b, floor=1e-9)
    assert test.statistic == 2.0
    assert test.pvalue == pytest.approx(6 / 32)
    assert (test.a_better, test.b_better, test.ties) == (1, 4, 0)
    assert test.favours == "b"  # b is cheaper: a's costs are mostly larger


def test_wilcoxon_matches_scipy_on_finite_costs() -> None:
    rng = np.random.default_rng(3)
    a = rng.lognormal(5, 1, 20)
    b = rng.lognormal(5.4, 1, 20)
    ours = paired_wilcoxon(a, b)
    theirs = scipy_stats.wilcoxon(np.log10(a) - np.log10(b))
    assert ours.statistic == pytest.approx(float(theirs.statistic))
    assert ours.pvalue == pytest.approx(float(theirs.pvalue))


def test_failures_rank_after_every_success() -> None:
    """A failure against a success is the largest |difference|; two failures tie."""
    a = np.array([10.0, 100.0, math.inf, math.inf, 50.0])
    b = np.array([20.0, 10.0, 5.0, math.inf, math.inf])
    d = log_cost_differences(a, b)
    finite = np.abs(d[:2]).max()
    assert d[2] > finite and d[4] < -finite
    assert d[2] == -d[4]
    assert d[3] == 0.0
    test = paired_wilcoxon(a, b)
    assert (test.a_better, test.b_better, test.ties) == (2, 2, 1)
    # scipy on the substituted differences gives the same answer (it only sees ranks).
    assert test.pvalue == pytest.approx(float(scipy_stats.wilcoxon(d).pvalue))


def test_wilcoxon_all_ties_is_no_evidence() -> None:
    test = paired_wilcoxon([math.inf, 5.0], [math.inf, 5.0])
    assert test.pvalue == 1.0
    assert test.ties == 2
    assert test.favours == ""


def test_block_ranks_put_failures_last() -> None:
    ranks = block_ranks(np.array([[3.0, math.inf, 1.0], [math.inf, math.inf, 2.0]]))
    assert ranks.tolist() == [[2.0, 3.0, 1.0], [2.5, 2.5, 1.0]]


def test_friedman_matches_scipy_and_mean_ranks_by_hand() -> None:
    costs = np.array(
        [[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [1.0, 3.0, math.inf], [1.0, 2.0, 3.0], [2.0, 3.0, 1.0]]
    )
    result = friedman(costs)
    # Ranks per block: (1,2,3) (2,1,3) (1,2,3) (1,2,3) (2,3,1): column sums 7, 10, 13 over 5.
    assert result.mean_ranks.tolist() == pytest.approx([1.4, 2.0, 2.6])
    theirs = scipy_stats.friedmanchisquare(*costs.T)
    assert result.statistic == pytest.approx(float(theirs.statistic))
    assert result.pvalue == pytest.approx(float(theirs.pvalue))
    assert result.blocks == 5


def test_friedman_needs_three_solvers() -> None:
    result = friedman(np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert math.isnan(result.pvalue)
    assert result.mean_ranks.tolist() == [1.5, 1.5]


# ---------------------------------------------------------------------------------------------
# Curves
# ---------------------------------------------------------------------------------------------


def test_step_interpolate_holds_the_previous_value() -> None:
    x = [0.0, 1.0, 10.0]
    y = [5.0, 3.0, 1.0]
    got = step_interpolate(x, y, [-1.0, 0.0, 0.5, 1.0, 9.9, 10.0, 100.0])
    assert got.tolist() == [5.0, 5.0, 5.0, 3.0, 3.0, 1.0, 1.0]

"""sep-CMA-ES: CMA-ES with a diagonal covariance, linear in the number of weights (pycma).

Full CMA-ES learns an ``n x n`` covariance: ``n^2`` floats and an ``O(n^3)`` eigendecomposition,
out of reach for a network of 10^4-10^5 weights (``cmaes`` refuses more than 3,000). Ros & Hansen
keep only its diagonal: each weight gets its own step size, adapted by the same rank-one and
rank-mu updates restricted to the diagonal, with learning rates raised by about ``(n + 2) / 3``
because a diagonal has only ``n`` entries to learn. Sampling and updating then cost ``O(n)`` per
sample, memory ``O(lambda n)``, and no decomposition is ever needed. The price: no correlations
between weights are learned, so on a non-separable loss it can need more generations than full
CMA-ES where both run.

pycma implements it as the option ``CMA_diagonal=True`` ("diagonal for the whole run"; an
integer would switch to the full matrix after that many iterations): the sampler is then
``GaussStandardConstant`` (identity) and the diagonal lives in pycma's ``sigma_vec``; no ``n x n``
array is ever allocated. The learning rates are pycma's ``c1_sep`` and ``cmu_sep``. Measured
(pycma 4.5.0, default population, a quadratic objective, tracemalloc): peak memory 1.5 MB at
n = 1,000, 21 MB at 10,000 and 221 MB at 100,000, linear (about 8.5 copies of the population),
against 25 MB for full CMA-ES at n = 1,000 and 609 MB at 5,000; an ask/tell generation took
1.5 ms, 13 ms and 176 ms at those sizes on the shared 2-core AMD EPYC.

Everything else is ``cmaes``'s adapter (:class:`solvers.cmaes.CMAESSolver`): seeding from the
run's rng, no output or files, no iteration cap, IPOP restarts, the best point evaluated so far
as the reported parameters. This class changes only the pycma option, the memory estimate and
the size limit (none).

References: Ros & Hansen, "A Simple Modification in CMA-ES Achieving Linear Time and Space
Complexity", PPSN X, 2008, https://doi.org/10.1007/978-3-540-87700-4_30; pycma's
``CMA_diagonal`` option: https://github.com/CMA-ES/pycma
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from solvers.base import FLOAT_BYTES, activation_size, task_data_size
from solvers.cmaes import CMAESSolver
from tasks.base import Task

#: Copies of the population pycma holds at once with a diagonal covariance (ask's samples, their
#: genotypes, tell's stacked arrays): 8.5 measured at n = 10^4 and 10^5; 10 leaves a margin.
POPULATION_COPIES = 10


@dataclass(frozen=True, kw_only=True)
class SepCMAESSolver(CMAESSolver):
    """sep-CMA-ES (pycma, ``CMA_diagonal=True``), optionally with IPOP restarts.

    Iteration: one ask/tell generation of ``population_size`` samples (doubled after each IPOP
    restart).
    Evaluations: ``n_train`` forward passes to score ``x0`` before the first report, then
    ``population_size * n_train`` per generation (times ``2**k`` after ``k`` restarts), as
    ``Task.scored_losses`` charges them (on a control task: the environment steps taken). No
    backward passes.

    Attributes:
        sigma0: initial step size of every weight, in (0, inf). Default 0.5, ``cmaes``'s (a
            quarter of the width of the region, about 2, where networks initialised at scale 1
            are expected to have their optimum; pycma's documented rule, pycma has no default).
        population_size: samples per generation (lambda), at least 2; ``None`` means pycma's
            default ``4 + floor(3 ln n)``, the population Ros & Hansen use too.
        restarts: IPOP restarts after pycma's stop conditions fire, in [0, 20]; default 0, as
            ``cmaes``.
    """

    name: ClassVar[str] = "sep-cmaes"
    iteration: ClassVar[str] = (
        "one ask/tell generation (population_size networks in one batch), diagonal covariance"
    )
    evaluations: ClassVar[str] = (
        "`n_train` forward passes to score `x0` before the first report, then "
        "`population_size * n_train` per generation (times `2**k` after `k` restarts)."
    )
    max_params: ClassVar[int | None] = None  # linear memory: no size limit of its own

    def pycma_options(self) -> dict[str, Any]:
        # True, not an iteration count: only True keeps the covariance diagonal for the whole
        # run, and so the memory linear (pycma's documentation of the option).
        return {"CMA_diagonal": True}

    def memory_estimate(self, task: Task) -> int:
        # Linear in n: the largest population's copies inside pycma, their forward pass, a few
        # n-vectors (mean, diagonal, evolution paths, best so far) and the data.
        n = task.num_params
        population = self.first_population_size(task) * 2**self.restarts
        return FLOAT_BYTES * (
            POPULATION_COPIES * population * n + population * activation_size(task)
            + 16 * n + task_data_size(task)
        )

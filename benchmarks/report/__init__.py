"""The report: reads records, never runs anything.

``document`` assembles Markdown (and ``html`` the self-contained HTML) from ``analysis``
(grouping records into tasks and arms), ``stats`` (ERT, bootstrap, paired tests), ``figures``
and ``benchmark_table`` (the latest saved pytest-benchmark run). Depends on the contract
(``benchmarks.records``), never on the engine.
"""

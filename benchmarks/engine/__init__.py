"""The engine: runs cells (task x solver x budget x seed) through the harness, anywhere.

``runner`` validates cells, skips recorded ones, submits the rest to an executor and writes each
record as it arrives; ``executors`` holds the serial, local-process and Dask executors behind one
interface. Depends on the contract (``benchmarks.harness``, ``budget``, ``records``, ``suites``),
never on the report.
"""

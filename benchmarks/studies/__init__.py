"""Studies: one-off questions built on the common runner (a paper's claim, a tuning study).

Each study is cells plus a Markdown section; it runs through ``benchmarks.engine`` like any
suite, so it gains the records lock, resume and every executor.
"""

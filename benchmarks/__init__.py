"""The harness, suites, records, report and command line of evo-vs-grad."""

BENCHMARK_VERSION = "1"
"""Bumped whenever a change alters what a run measures; part of every run cell's key, so a
resumed suite never mixes records measured under different rules."""

"""Shared fixtures (the conformance suite's cheap tasks live in benchmarks/conformance.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)

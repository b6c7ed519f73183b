"""Shared fixtures: registries as parametrization sources, small budgets, cheap tasks."""

from __future__ import annotations

import numpy as np
import pytest

#: Cheap tasks every solver is run on by the conformance suite: (registry key, options).
CHEAP_TASKS: tuple[tuple[str, dict[str, object]], ...] = (
    ("xor", {"hidden": 4}),
    ("and", {}),
    ("parity", {"num_bits": 3}),
    ("sine", {}),
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)

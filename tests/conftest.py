"""Shared fixtures. Matplotlib draws off-screen in tests."""

import matplotlib
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """One BLAS thread: on small shared machines threaded BLAS is many times slower."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator for each test."""
    return np.random.default_rng(20250101)

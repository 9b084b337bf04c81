"""Datasets shared by the engine's surface tests."""

import pytest

import engine


@pytest.fixture(scope="module")
def linear():
    """Linear regression data with x shifted off zero, so the Hessian is not diagonal."""
    data = engine.make_dataset("linear", n_samples=400, noise=0.3, seed=1)
    return data.X + 0.7, data.y


@pytest.fixture(scope="module")
def moons():
    return engine.make_dataset("moons", n_samples=300, seed=2)

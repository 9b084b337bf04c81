"""Helpers shared by the surface tests (tests/engine/test_surface.py, test_projection.py)."""

import numpy as np

import engine


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def moons_model() -> engine.MLP:
    return engine.MLP([2, 8, 1], activation="tanh", output="sigmoid", seed=3)


def train_params(X, y, model, loss, **kw) -> tuple[np.ndarray, list]:
    steps = list(engine.train(X, y, model=model, loss=loss, **kw))
    return np.vstack([model.get_params()] + [s.params for s in steps]), steps

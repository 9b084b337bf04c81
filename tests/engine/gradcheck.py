"""The independent computation the engine's gradients are checked against: central differences."""

from __future__ import annotations

import numpy as np


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + h) - f(x - h)) / 2h, one element of x at a time."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))

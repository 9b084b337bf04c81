"""The line ŷ = w·x + b fitted by least squares (최소제곱법), and its MSE as a quadratic.

For MSE the loss of w·x + b is a quadratic in (w, b) whose coefficients are a handful of means
over the data (sufficient statistics): the exact surface costs the same for 100 or 100,000
samples, its minimum is the least-squares fit, and its Hessian (헤세 행렬) is constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def hessian_lambda_max(X: np.ndarray) -> float:
    """Largest eigenvalue of the MSE Hessian for y = w x + b: H = 2 [[E x², E x], [E x, 1]].

    Full-batch gradient descent converges for lr < 2 / lambda_max and diverges above it.
    """
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"X must have shape (n,) or (n, 1) with n >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("X holds values that are not finite")
    mx, mxx = float(np.mean(x)), float(np.mean(x * x))
    H = 2.0 * np.array([[mxx, mx], [mx, 1.0]])
    return float(np.linalg.eigvalsh(H)[-1])


@dataclass(frozen=True)
class Quadratic:
    """MSE of w x + b as dw² E[x²] + 2 dw db E[x] + db² - 2 dw E[x r] - 2 db E[r] + E[r²].

    dw = w - w*, db = b - b*, r = t - w* x - b* are the residuals at the least-squares fit
    (w*, b*). The identity holds for any (w*, b*); expanding around the fit keeps the terms
    small near the minimum, so values match a direct mean to about 1e-15 relative.
    """

    w: float
    b: float
    mxx: float
    mx: float
    mxr: float
    mr: float
    mrr: float

    @staticmethod
    def fit(X: np.ndarray, t: np.ndarray) -> Quadratic:
        x, t = X[:, 0], t[:, 0]
        w, b = least_squares(X, t[:, None])
        r = t - w * x - b
        n = x.shape[0]
        return Quadratic(
            w=float(w),
            b=float(b),
            mxx=float(np.dot(x, x) / n),
            mx=float(np.add.reduce(x) / n),
            mxr=float(np.dot(x, r) / n),
            mr=float(np.add.reduce(r) / n),
            mrr=float(np.dot(r, r) / n),
        )

    def values(self, W: np.ndarray, B: np.ndarray) -> np.ndarray:
        dw = W - self.w
        db = B - self.b
        return (
            dw * (dw * self.mxx + 2.0 * (db * self.mx - self.mxr))
            + db * (db - 2.0 * self.mr)
            + self.mrr
        )


def least_squares(X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(w*, b*) minimising mean (w x + b - t)², from centred sums (min-norm if x is constant)."""
    x, t = X[:, 0], t[:, 0]
    mx, mt = float(np.mean(x)), float(np.mean(t))
    xc = x - mx
    sxx = float(np.dot(xc, xc))
    if sxx > 0.0:
        w = float(np.dot(xc, t - mt)) / sxx
        return np.array([w, mt - w * mx])
    # Every x equals mx: only w * mx + b = mean t is fixed; take the shortest such (w, b).
    scale = mt / (mx * mx + 1.0)
    return np.array([mx * scale, scale])


def least_absolute(X: np.ndarray, t: np.ndarray, rounds: int = 60) -> np.ndarray:
    """(w, b) near the minimum of mean |w x + b - t| (최소절대편차), close enough to frame a view.

    Iteratively reweighted least squares: each round solves least squares with every sample
    weighted by 1 / |its residual|, so an outlier, which least squares follows a long way, pulls
    this fit hardly at all (the lesson's MSE-against-MAE step, whose MAE path left a view framed
    on the least-squares line).
    """
    A = np.column_stack([X[:, 0], np.ones(X.shape[0])])
    y = t[:, 0]
    theta = least_squares(X, t)
    for _ in range(rounds):
        root_weight = 1.0 / np.sqrt(np.maximum(np.abs(y - A @ theta), 1e-9))
        theta = np.linalg.lstsq(A * root_weight[:, None], y * root_weight, rcond=None)[0]
    return theta

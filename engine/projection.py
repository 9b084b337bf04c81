"""Projected loss surfaces (투영 곡면): a network's loss seen through a 2-D slice.

The slice is the plane theta(a, b) = center + a * d1 + b * d2 through parameter space, with
either random filter-normalised directions (Li et al., 2018, "Visualizing the Loss Landscape of
Neural Nets"), usable before training, or the first two principal components of the paths,
after a run. A path seldom lies in the plane; each point is projected onto it by least squares
and the share of its offset the plane misses is reported as the `residual`, so the picture can
say how faithful it is (`Residuals` keeps that summary while points arrive).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from .losses import Loss
from .model import MLP
from .problem import Problem
from .surface import (
    Surface,
    check_grid,
    check_paths,
    check_vector,
    lowest,
    padded_range,
    plane_values,
    project_points,
)

#: Default half-width of a random projected slice, in units of the normalised directions.
DEFAULT_SPAN = 1.0
#: PCA: a second singular value under this share of the first is rounding, not spread (the Gram
#: matrix's eigenvalues carry ~1e-16 of the first's: 1e-8 in singular values).
LINE_SHARE = 1e-6
METHODS = {
    "random": "random filter-normalised directions",
    "pca": "PCA of the paths",
}


def projected_surface(
    model: MLP,
    loss: Loss | str,
    X: np.ndarray,
    y: np.ndarray,
    paths: Mapping[str, np.ndarray] | None = None,
    grid: int = 51,
    method: str = "random",
    seed: int = 0,
    center: np.ndarray | None = None,
    span: float | None = None,
) -> Surface:
    """A 2-D slice of a network's loss surface: theta = center + a * d1 + b * d2 (투영 곡면).

    method "random": filter-normalised random directions (Li et al., 2018). For each layer's W
    (n_in, n_out), each output unit's column (its filter) of a standard normal direction is
    rescaled to the norm of the same column of the center's W; the bias part of each direction
    is set to zero (Li et al.'s default), so the slice moves the weights only. The center
    defaults to the model's current parameters and both axes span [-span, span], span 1.0 by
    default. Both directions come from one `np.random.default_rng(seed)`.

    method "pca": orthonormal directions, the first two principal components of the offsets of
    all the paths' points from the center, which defaults to the final point of the first path
    (not the mean of the points): the plane through the center that fits the points best in the
    least-squares sense. Signs are chosen so the first path starts at a <= 0, b <= 0. If the
    points span a single line, the second direction is a seeded random one orthogonal to the
    first. Unless `span` is given, each axis covers 0 and every projected point, padded by 25%.
    """
    grid = check_grid(grid)
    data = Problem(model, loss, X, y)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if span is not None and (
        isinstance(span, bool)
        or not isinstance(span, int | float | np.floating | np.integer)
        or not math.isfinite(span)
        or span <= 0
    ):
        raise ValueError(f"span must be a finite number > 0 or None, got {span!r}")
    paths = check_paths(paths, model.n_params)
    rng = np.random.default_rng(seed)
    center, directions, explained = _plane(method, model, paths, center, rng)
    projected = {name: project_points(p, center, directions) for name, p in paths.items()}
    coords = {name: xy for name, (xy, _) in projected.items()}
    shares = {name: share for name, (_, share) in projected.items()}
    half_x, half_y = _axes(method, span, coords)
    xs = np.linspace(*half_x, grid)
    ys = np.linspace(*half_y, grid)
    z = plane_values(model, data.loss, data, center, directions, xs, ys, None)
    minimum, minimum_loss = lowest(xs, ys, z)

    every = np.concatenate(list(shares.values())) if shares else np.zeros(0)
    residual = {
        "per_path": shares,
        "mean": float(every.mean()) if every.size else 0.0,
        "max": float(every.max()) if every.size else 0.0,
    }
    return Surface(
        kind="projected",
        x=xs,
        y=ys,
        z=z,
        labels=("direction 1", "direction 2"),
        center=center.copy(),
        directions=directions,
        minimum=minimum,
        minimum_loss=minimum_loss,
        paths=coords,
        residual=residual,
        lambda_max=None,
        method=METHODS[method],
        loss=data.loss.name,
        explained=explained,
    )


# -- the plane -------------------------------------------------------------------------------
def _plane(
    method: str, model: MLP, paths: dict[str, np.ndarray], center: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """The slice's center and directions (and, for PCA, each direction's share of the spread)."""
    n = model.n_params
    if method == "random":
        center = model.get_params() if center is None else check_vector(center, n, "center")
        directions = np.stack([_filter_normalised(model, center, rng) for _ in range(2)])
        if np.linalg.matrix_rank(directions) < 2:
            raise ValueError(
                "the random filter-normalised directions are degenerate (parallel or zero): "
                "the center's weights are zero or the model has too few weights; "
                "use exact_surface for a two-parameter model"
            )
        return center, directions, None
    if not paths:
        raise ValueError('method "pca" needs paths (after a run); use method "random" before')
    first = next(iter(paths.values()))
    center = first[-1].copy() if center is None else check_vector(center, n, "center")
    directions, explained = _principal_directions(
        np.vstack(list(paths.values())) - center, first[0] - center, rng
    )
    return center, directions, explained


def _axes(
    method: str, span: float | None, coords: dict[str, np.ndarray]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """[-span, span] on both axes, or (PCA) 0 and every projected point, padded."""
    if span is not None:
        return (-float(span), float(span)), (-float(span), float(span))
    if method == "random":
        return (-DEFAULT_SPAN, DEFAULT_SPAN), (-DEFAULT_SPAN, DEFAULT_SPAN)
    both = np.vstack([np.zeros((1, 2)), *coords.values()])
    floor = 0.05 * float(np.abs(both).max())
    return padded_range(both[:, 0], floor), padded_range(both[:, 1], floor)


# -- directions ------------------------------------------------------------------------------
def _filter_normalised(model: MLP, center: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random direction whose W columns have the center's column norms; biases zero."""
    d = rng.standard_normal(model.n_params)
    for (dW, db), (cW, _) in zip(model.unflatten(d), model.unflatten(center), strict=True):
        dW *= np.linalg.norm(cW, axis=0) / np.linalg.norm(dW, axis=0)  # views into d
        db[:] = 0.0
    return d


def _principal_directions(
    offsets: np.ndarray, first_start: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[float, float]]:
    """The two leading right singular vectors of the offsets, and each one's share of spread.

    They come from the eigenvectors of the smaller Gram matrix (offsets^T offsets, or
    offsets offsets^T when there are fewer points than parameters), not from an SVD: the same
    directions, 5-200x faster for a race's few hundred points (a refit's SVD was a tenth of a
    busy server's CPU, issue 17). A second direction under LINE_SHARE of the first's singular
    value is rounding (the Gram matrix squares it): the points lie on a line.
    """
    k, n = offsets.shape
    total = float(np.sum(offsets * offsets))  # the sum of the squared singular values
    if k == 0 or total == 0.0:
        raise ValueError("the paths never leave the center: PCA has no direction to show")
    if k >= n:
        lam, vecs = np.linalg.eigh(offsets.T @ offsets)
        top = vecs[:, ::-1][:, :2].T
    else:
        lam, u = np.linalg.eigh(offsets @ offsets.T)
        top = (offsets.T @ u[:, ::-1][:, :2]).T
    lam = np.maximum(lam[::-1][:2], 0.0)
    d1 = top[0] / np.linalg.norm(top[0])
    if lam.size > 1 and math.sqrt(lam[1]) > LINE_SHARE * math.sqrt(lam[0]):
        d2, s2 = _orthonormal_to(top[1], d1), float(lam[1])
    else:  # the points lie on a line: any direction orthogonal to d1 shows the same
        d2, s2 = _orthogonal_to(d1, rng), 0.0
    directions = np.stack([d1, d2])
    start = directions @ first_start
    directions[start > 0] *= -1.0
    return directions, (float(lam[0]) / total, s2 / total)


def _orthonormal_to(d: np.ndarray, d1: np.ndarray) -> np.ndarray:
    """d made orthogonal to the unit vector d1 (Gram-Schmidt, done twice) and of length 1."""
    for _ in range(2):
        d = d - (d @ d1) * d1
    return d / np.linalg.norm(d)


def _orthogonal_to(d1: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector orthogonal to the unit vector d1."""
    while True:
        d = rng.standard_normal(d1.shape[0])
        norm = np.linalg.norm(d)
        if np.linalg.norm(d - (d @ d1) * d1) > 1e-6 * norm:  # else d was (nearly) parallel
            return _orthonormal_to(d, d1)


# -- the residual summary --------------------------------------------------------------------
class Residuals:
    """Mean and max residual share of the points drawn so far, as they arrive (projected only)."""

    def __init__(self) -> None:
        self.sum, self.max, self.count = 0.0, 0.0, 0

    def add(self, share: float) -> None:
        self.sum += share
        self.max = max(self.max, share)
        self.count += 1

    def extend(self, shares: Iterable[float]) -> None:
        for share in shares:
            self.add(share)

    def summary(self) -> dict[str, float] | None:
        """{"mean", "max"} over every point so far, or None before the first."""
        if not self.count:
            return None
        return {"mean": self.sum / self.count, "max": self.max}

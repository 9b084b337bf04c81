"""Loss surfaces (손실 곡면) as data: grid axes, loss values, and where each path lies on them.

A loss L(theta) over all parameters cannot be drawn, but its values on a plane can. Every surface
is the plane

    theta(a, b) = center + a * d1 + b * d2

sampled on a G x G grid of (a, b), with `z[i, j] = L(theta(x[j], y[i]))` (Plotly's convention:
rows follow the y axis, columns the x axis).

- **exact** (정확한 곡면, this module): a model with exactly two parameters, `MLP([1, 1])`:
  theta = [w, b]. The plane is the whole parameter space (center 0, directions the identity), so
  every path point lies on the surface and the picture is the true landscape. For MSE the loss is
  a quadratic in (w, b) whose coefficients are a handful of means over the data (sufficient
  statistics), so the grid costs the same for 100 or 100,000 samples.
- **projected** (투영 곡면, `engine.projection`): a larger network seen through a 2-D slice; a
  path point off the plane is projected onto it by least squares (`project_points`), and the
  share of its offset the plane misses is its `residual`.

The grid is evaluated in chunks of parameter vectors, `MLP.predict_with` running a whole chunk
at once; a byte budget fixes the chunk size, so memory does not grow with the grid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .least_squares import Quadratic, hessian_lambda_max, least_absolute
from .losses import Loss, MeanAbsoluteError, MeanSquaredError
from .model import MLP
from .problem import Problem

#: Allowed grid sizes (points per axis), inclusive.
GRID_LIMITS = (3, 301)
#: Padding added on each side of the exact surface's ranges, as a share of their width.
PADDING = 0.25
#: The smallest half-width of an exact surface's axis (when all points coincide).
MIN_HALF_WIDTH = 0.5
#: Bytes one (chunk, n, widest layer) array of activations may take while the grid is
#: evaluated. A forward pass holds about four such arrays at once; half a megabyte keeps them in
#: the CPU cache, which measured faster than chunks of 4 to 16 MB (a 51 x 51 slice of
#: MLP [2, 8, 8, 1] over 1,000 samples peaks near 2 MB).
CHUNK_BYTES = 2**19


# -- the data --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Surface:
    """A loss surface sampled on a grid, with the paths drawn on it (z[i, j] = L(x[j], y[i]))."""

    kind: str  #: "exact" or "projected"
    x: np.ndarray  #: grid axis 1, shape (G,)
    y: np.ndarray  #: grid axis 2, shape (G,)
    z: np.ndarray  #: shape (G, G): z[i, j] = loss at (x[j], y[i])
    labels: tuple[str, str]  #: axis titles
    center: np.ndarray  #: (n_params,) the plane's origin (exact: zeros(2))
    directions: np.ndarray  #: (2, n_params) the plane's axes (exact: the identity)
    minimum: tuple[float, float] | None  #: where the loss is lowest on the plane
    minimum_loss: float | None  #: the loss there
    paths: dict[str, np.ndarray]  #: name -> (k, 2) coordinates of each path on the plane
    residual: dict[str, Any] | None  #: projected: {"per_path": {name: (k,)}, "mean", "max"}
    lambda_max: float | None  #: exact MSE: largest eigenvalue of the Hessian (헤세 행렬)
    method: str  #: how the plane was chosen, in words
    loss: str = ""  #: the loss's Keras name
    explained: tuple[float, float] | None = None  #: PCA: share of the paths' spread per axis
    #: The least-squares projection (2, n_params): (a, b) = pinv @ (theta - center).
    _pinv: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pinv", np.linalg.pinv(self.directions.T))

    def __repr__(self) -> str:
        return (
            f"Surface(kind={self.kind!r}, grid={self.z.shape[1]}x{self.z.shape[0]}, "
            f"method={self.method!r}, loss={self.loss!r}, minimum_loss={self.minimum_loss}, "
            f"paths={list(self.paths)})"
        )

    @property
    def marked_minimum(self) -> tuple[float, float] | None:
        """The minimum worth marking: exact MSE's least-squares one, or the lowest grid point
        only if it lies inside the grid (on the edge the loss goes on falling past the view)."""
        if self.minimum is None or self.lambda_max is not None:
            return self.minimum
        x, y = self.minimum
        inside = min(self.x[0], self.x[-1]) < x < max(self.x[0], self.x[-1]) and (
            min(self.y[0], self.y[-1]) < y < max(self.y[0], self.y[-1]))
        return self.minimum if inside else None

    @property
    def n_params(self) -> int:
        """Number of model parameters the plane lives in."""
        return int(self.center.shape[0])

    def project(self, params: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Plane coordinates (a, b) and residual share of one parameter vector or a stack (k, n)."""
        theta = np.asarray(params, dtype=np.float64)
        single = theta.ndim == 1
        if single and theta.shape == self.center.shape:
            one = self._project_one(theta)
            if one is not None:
                return one
        stack = _as_stack(theta, self.n_params, "params")
        if self.kind == "exact":  # the plane is the whole (w, b) space
            xy, share = stack - self.center, np.zeros(stack.shape[0])
        else:
            xy, share = project_points(stack, self.center, self.directions, self._pinv)
        if single:
            return xy[0], float(share[0])
        return xy, share

    def _project_one(self, theta: np.ndarray) -> tuple[np.ndarray, float] | None:
        """`project` of one finite vector (every point of a race), without the stack's checks
        and with Python's float arithmetic for its two lengths: a third of the time. The same
        coordinates, bit for bit; None for a vector that is not finite (the checks then say so)."""
        delta = theta - self.center
        dist2 = float(delta @ delta)
        if not math.isfinite(dist2):  # not finite (or beyond 1e154: the general path)
            return None
        if self.kind == "exact":  # the plane is the whole (w, b) space
            return delta, 0.0
        xy = (delta[None, :] @ self._pinv.T)[0]  # as project_points computes it
        r = delta - xy @ self.directions
        share = math.sqrt(float(r @ r) / dist2) if dist2 > 0 else 0.0
        return xy, min(share, 1.0)

    def project_direction(self, vector: np.ndarray) -> np.ndarray:
        """A direction in parameter space (a gradient, say) as (a, b) on the plane."""
        if self.kind == "exact":
            return np.asarray(vector, dtype=np.float64)
        coords, *_ = np.linalg.lstsq(self.directions.T, vector, rcond=None)
        return coords

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and floats for JSON (non-finite losses become None)."""
        residual = None
        if self.residual is not None:
            residual = {
                "per_path": {k: v.tolist() for k, v in self.residual["per_path"].items()},
                "mean": self.residual["mean"],
                "max": self.residual["max"],
            }
        z = np.where(np.isfinite(self.z), self.z, np.nan)
        return {
            "kind": self.kind,
            "x": self.x.tolist(),
            "y": self.y.tolist(),
            "z": [[None if math.isnan(v) else v for v in row] for row in z.tolist()],
            "labels": list(self.labels),
            "minimum": None if self.minimum is None else list(self.minimum),
            "minimum_loss": self.minimum_loss,
            "paths": {k: v.tolist() for k, v in self.paths.items()},
            "residual": residual,
            "lambda_max": self.lambda_max,
            "method": self.method,
            "loss": self.loss,
            "explained": None if self.explained is None else list(self.explained),
        }


# -- public functions ------------------------------------------------------------------------
def exact_surface(
    model: MLP,
    loss: Loss | str,
    X: np.ndarray,
    y: np.ndarray,
    paths: Mapping[str, np.ndarray] | None = None,
    grid: int = 51,
    ranges: tuple[tuple[float, float], tuple[float, float]] | None = None,
    start: np.ndarray | None = None,
) -> Surface:
    """The exact loss surface (손실 곡면) of a two-parameter model over a grid of (w, b).

    The ranges (unless given) hold the start (`start`, else the model's current parameters),
    every path point and the loss's own best line (MSE: the least-squares fit; MAE: the
    least-absolute one), padded by 25% on each side and at least 0.5 wide on each side of their
    middle. `minimum` is the closed-form
    least-squares minimum for MSE and the lowest grid point otherwise.
    """
    grid = check_grid(grid)
    data = Problem(model, loss, X, y)
    lossf = data.loss
    if model.n_params != 2:
        raise ValueError(
            f"an exact surface needs a model with exactly two parameters (MLP([1, 1]): w, b); "
            f"this model has {model.n_params}: use projected_surface"
        )
    start = model.get_params() if start is None else check_vector(start, 2, "start")
    paths = check_paths(paths, 2)
    quad = Quadratic.fit(data.X, data.t) if isinstance(lossf, MeanSquaredError) else None

    if ranges is None:
        points = [start[None, :], *paths.values()]
        if quad is not None:
            points.append(np.array([[quad.w, quad.b]]))
        elif isinstance(lossf, MeanAbsoluteError):  # the view holds its minimum
            points.append(least_absolute(data.X, data.t)[None, :])
        stacked = np.vstack(points)
        ranges = (
            padded_range(stacked[:, 0], MIN_HALF_WIDTH),
            padded_range(stacked[:, 1], MIN_HALF_WIDTH),
        )
    else:
        ranges = _check_ranges(ranges)
    xs = np.linspace(*ranges[0], grid)
    ys = np.linspace(*ranges[1], grid)
    center, directions = np.zeros(2), np.eye(2)
    z = plane_values(model, lossf, data, center, directions, xs, ys, quad)

    if quad is not None:
        minimum = (float(quad.w), float(quad.b))
        minimum_loss = float(quad.values(np.array(quad.w), np.array(quad.b)))
        lam = hessian_lambda_max(data.X)
    else:
        minimum, minimum_loss = lowest(xs, ys, z)
        lam = None
    return Surface(
        kind="exact",
        x=xs,
        y=ys,
        z=z,
        labels=("w", "b"),
        center=center,
        directions=directions,
        minimum=minimum,
        minimum_loss=minimum_loss,
        paths={name: p.copy() for name, p in paths.items()},
        residual=None,
        lambda_max=lam,
        method="exact",
        loss=lossf.name,
    )


def surface_values(
    model: MLP,
    loss: Loss | str,
    X: np.ndarray,
    y: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    surface: Surface | None = None,
) -> np.ndarray:
    """Loss values on the grid (xs, ys) of a surface's plane, for data X, y (e.g. one batch).

    Returns shape (len(ys), len(xs)), z[i, j] = L(center + xs[j] d1 + ys[i] d2). Without a
    surface the model must have two parameters and (xs, ys) are (w, b) themselves.
    """
    data = Problem(model, loss, X, y)
    lossf = data.loss
    xs = _check_axis(xs, "xs")
    ys = _check_axis(ys, "ys")
    if surface is None:
        if model.n_params != 2:
            raise ValueError(
                f"without a surface, the model must have exactly two parameters (w, b); "
                f"this model has {model.n_params}"
            )
        center, directions = np.zeros(2), np.eye(2)
    else:
        if surface.n_params != model.n_params:
            raise ValueError(
                f"the surface's plane lives in {surface.n_params} parameters but the model "
                f"has {model.n_params}"
            )
        center, directions = surface.center, surface.directions
    quad = None
    if isinstance(lossf, MeanSquaredError) and model.n_params == 2:
        quad = Quadratic.fit(data.X, data.t)
    return plane_values(model, lossf, data, center, directions, xs, ys, quad)


# -- evaluating a plane ----------------------------------------------------------------------
def plane_values(
    model: MLP,
    lossf: Loss,
    data: Problem,
    center: np.ndarray,
    directions: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    quad: Quadratic | None,
) -> np.ndarray:
    """z[i, j] = L(center + xs[j] d1 + ys[i] d2) on the data, vectorised over the grid."""
    A, B = np.meshgrid(xs, ys)
    if quad is not None:
        W = center[0] + A * directions[0, 0] + B * directions[1, 0]
        Bias = center[1] + A * directions[0, 1] + B * directions[1, 1]
        with np.errstate(all="ignore"):
            return quad.values(W, Bias)
    a, b = A.ravel(), B.ravel()
    out = np.empty(a.size)
    chunk = _chunk_size(model, data.n)
    with np.errstate(all="ignore"):
        for lo in range(0, a.size, chunk):
            hi = min(lo + chunk, a.size)
            thetas = center + a[lo:hi, None] * directions[0] + b[lo:hi, None] * directions[1]
            p = model.predict_with(thetas, data.X)
            s = lossf.sample_losses(data.t, p)
            out[lo:hi] = np.add.reduce(s, axis=-1) / data.n
    return out.reshape(A.shape)


def _chunk_size(model: MLP, n: int) -> int:
    """Parameter vectors per chunk, so one (chunk, n, widest layer) array fits CHUNK_BYTES."""
    return max(1, CHUNK_BYTES // (n * max(model.layer_sizes) * 8))


def lowest(xs: np.ndarray, ys: np.ndarray, z: np.ndarray) -> tuple:
    """((x, y), loss) of the lowest finite grid point, or (None, None) if there is none."""
    finite = np.where(np.isfinite(z), z, np.inf)
    if not np.isfinite(finite).any():
        return None, None
    i, j = np.unravel_index(int(np.argmin(finite)), z.shape)
    return (float(xs[j]), float(ys[i])), float(z[i, j])


# -- projection onto a plane -----------------------------------------------------------------
def project_points(
    stack: np.ndarray, center: np.ndarray, directions: np.ndarray, pinv: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares plane coordinates (k, 2) and residual shares ||r|| / ||theta - center||.

    The directions need not be orthogonal: (a, b) minimise ||theta - center - a d1 - b d2||.
    """
    delta = stack - center
    if pinv is None:
        pinv = np.linalg.pinv(directions.T)
    coords = delta @ pinv.T
    r = delta - coords @ directions
    dist = np.linalg.norm(delta, axis=1)
    miss = np.linalg.norm(r, axis=1)
    share = np.divide(miss, dist, out=np.zeros_like(dist), where=dist > 0)
    return coords, np.minimum(share, 1.0)


# -- validation ------------------------------------------------------------------------------
def check_grid(grid: object) -> int:
    low, high = GRID_LIMITS
    if isinstance(grid, bool) or not isinstance(grid, int | np.integer) or not low <= grid <= high:
        raise ValueError(f"grid must be an integer in [{low}, {high}], got {grid!r}")
    return int(grid)


def _as_stack(theta: np.ndarray, n: int, name: str) -> np.ndarray:
    stack = theta[None, :] if theta.ndim == 1 else theta
    if stack.ndim != 2 or stack.shape[1] != n or stack.shape[0] == 0:
        raise ValueError(f"{name} must have shape ({n},) or (k, {n}), got shape {theta.shape}")
    if not np.all(np.isfinite(stack)):
        raise ValueError(f"{name} holds values that are not finite")
    return stack


def check_vector(v: np.ndarray, n: int, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} holds values that are not finite")
    return v.copy()


def check_paths(paths: Mapping[str, np.ndarray] | None, n: int) -> dict[str, np.ndarray]:
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        raise ValueError(f"paths must map names to (k, {n}) arrays, got {type(paths).__name__}")
    out = {}
    for name, p in paths.items():
        out[str(name)] = _as_stack(np.asarray(p, dtype=np.float64), n, f"path {name!r}")
    return out


def _check_ranges(ranges: object) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        (x0, x1), (y0, y1) = ranges  # type: ignore[misc]
        checked = ((float(x0), float(x1)), (float(y0), float(y1)))
    except (TypeError, ValueError):
        raise ValueError(
            f"ranges must be ((w_min, w_max), (b_min, b_max)), got {ranges!r}"
        ) from None
    for lo, hi in checked:
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"ranges must be finite with min < max on each axis, got {ranges!r}")
    return checked


def _check_axis(v: np.ndarray, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers")
    return v


def padded_range(values: np.ndarray, min_half: float) -> tuple[float, float]:
    """[lo, hi] of the values, widened by PADDING on each side and to at least min_half."""
    lo, hi = float(np.min(values)), float(np.max(values))
    middle, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    half = max(half * (1.0 + 2.0 * PADDING), min_half, 1e-12 * max(1.0, abs(middle)))
    return middle - half, middle + half


# Re-exported, so `from engine.surface import exact_surface, projected_surface` works; imported
# last because engine.projection builds on the names above.
from .projection import projected_surface  # noqa: E402

__all__ = ["Surface", "exact_surface", "hessian_lambda_max", "projected_surface",
           "surface_values"]

"""Loss surfaces (손실 곡면) as data: grid axes, loss values, and where each path lies on them.

A loss L(theta) over all parameters cannot be drawn, but its values on a plane can. Every surface
here is the plane

    theta(a, b) = center + a * d1 + b * d2

sampled on a G x G grid of (a, b), with `z[i, j] = L(theta(x[j], y[i]))` (Plotly's convention:
rows follow the y axis, columns the x axis).

- **exact** (정확한 곡면): a model with exactly two parameters, `MLP([1, 1])`: theta = [w, b].
  The plane is the whole parameter space (center 0, directions the identity), so every path point
  lies on the surface and the picture is the true landscape. For MSE the loss is a quadratic in
  (w, b) whose coefficients are a handful of means over the data (sufficient statistics), so the
  grid costs the same for 100 or 100,000 samples.
- **projected** (투영 곡면): a larger network, seen through a 2-D slice. Either random
  filter-normalised directions (Li et al., 2018, "Visualizing the Loss Landscape of Neural
  Nets"), usable before training, or the first two principal components of the paths, after a
  run. A path seldom lies in the plane; each point is projected onto it by least squares and the
  share of its offset the plane misses is reported as the `residual`, so the picture can say how
  faithful it is.

The grid is evaluated in chunks of parameter vectors, `MLP.predict_with` running a whole chunk
at once; a byte budget fixes the chunk size, so memory does not grow with the grid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .descent import Problem
from .losses import Loss, get_loss
from .model import MLP

#: Allowed grid sizes (points per axis), inclusive.
GRID_LIMITS = (3, 301)
#: Padding added on each side of the exact surface's ranges, as a share of their width.
PADDING = 0.25
#: The smallest half-width of an exact surface's axis (when all points coincide).
MIN_HALF_WIDTH = 0.5
#: Default half-width of a random projected slice, in units of the normalised directions.
DEFAULT_SPAN = 1.0
#: Bytes one (chunk, n, widest layer) array of activations may take while the grid is
#: evaluated. A forward pass holds about four such arrays at once; half a megabyte keeps them in
#: the CPU cache, which measured faster than chunks of 4 to 16 MB (a 51 x 51 slice of
#: MLP [2, 8, 8, 1] over 1,000 samples peaks near 2 MB).
CHUNK_BYTES = 2**19
METHODS = {
    "random": "random filter-normalised directions",
    "pca": "PCA of the paths",
}


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
    def n_params(self) -> int:
        """Number of model parameters the plane lives in."""
        return int(self.center.shape[0])

    def project(self, params: np.ndarray) -> tuple[np.ndarray, float | np.ndarray]:
        """Plane coordinates (a, b) and residual share of one parameter vector or a stack (k, n)."""
        theta = np.asarray(params, dtype=np.float64)
        single = theta.ndim == 1
        stack = _as_stack(theta, self.n_params, "params")
        if self.kind == "exact":  # the plane is the whole (w, b) space
            xy, share = stack - self.center, np.zeros(stack.shape[0])
        else:
            xy, share = _project(stack, self.center, self.directions, self._pinv)
        if single:
            return xy[0], float(share[0])
        return xy, share

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
    every path point and, for MSE and MAE, the least-squares fit, padded by 25% on each side
    and at least 0.5 wide on each side of their middle. `minimum` is the closed-form
    least-squares minimum for MSE and the lowest grid point otherwise.
    """
    grid = _check_grid(grid)
    lossf, data = _data(model, loss, X, y)
    if model.n_params != 2:
        raise ValueError(
            f"an exact surface needs a model with exactly two parameters (MLP([1, 1]): w, b); "
            f"this model has {model.n_params}: use projected_surface"
        )
    start = model.get_params() if start is None else _check_vector(start, 2, "start")
    paths = _check_paths(paths, 2)
    quad = _Quadratic.fit(data.X, data.t) if lossf.name == "mse" else None

    if ranges is None:
        points = [start[None, :], *paths.values()]
        if quad is not None:
            points.append(np.array([[quad.w, quad.b]]))
        elif lossf.name == "mae":  # its minimum lies near the least-squares fit
            points.append(_least_squares(data.X, data.t)[None, :])
        stacked = np.vstack(points)
        ranges = (
            _padded_range(stacked[:, 0], MIN_HALF_WIDTH),
            _padded_range(stacked[:, 1], MIN_HALF_WIDTH),
        )
    else:
        ranges = _check_ranges(ranges)
    xs = np.linspace(*ranges[0], grid)
    ys = np.linspace(*ranges[1], grid)
    center, directions = np.zeros(2), np.eye(2)
    z = _plane_values(model, lossf, data, center, directions, xs, ys, quad)

    if quad is not None:
        minimum = (float(quad.w), float(quad.b))
        minimum_loss = float(quad.values(np.array(quad.w), np.array(quad.b)))
        lam = hessian_lambda_max(data.X)
    else:
        minimum, minimum_loss = _lowest(xs, ys, z)
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
    grid = _check_grid(grid)
    lossf, data = _data(model, loss, X, y)
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
    n = model.n_params
    paths = _check_paths(paths, n)
    rng = np.random.default_rng(seed)
    explained = None

    if method == "random":
        center = model.get_params() if center is None else _check_vector(center, n, "center")
        directions = np.stack([_filter_normalised(model, center, rng) for _ in range(2)])
        if np.linalg.matrix_rank(directions) < 2:
            raise ValueError(
                "the random filter-normalised directions are degenerate (parallel or zero): "
                "the center's weights are zero or the model has too few weights; "
                "use exact_surface for a two-parameter model"
            )
    else:
        if not paths:
            raise ValueError('method "pca" needs paths (after a run); use method "random" before')
        first = next(iter(paths.values()))
        center = first[-1].copy() if center is None else _check_vector(center, n, "center")
        directions, explained = _principal_directions(
            np.vstack(list(paths.values())) - center, first[0] - center, rng
        )

    projected = {name: _project(p, center, directions) for name, p in paths.items()}
    coords = {name: xy for name, (xy, _) in projected.items()}
    shares = {name: share for name, (_, share) in projected.items()}
    if span is not None:
        half_x = half_y = (-float(span), float(span))
    elif method == "random":
        half_x = half_y = (-DEFAULT_SPAN, DEFAULT_SPAN)
    else:
        both = np.vstack([np.zeros((1, 2)), *coords.values()])
        floor = 0.05 * float(np.abs(both).max())
        half_x = _padded_range(both[:, 0], floor)
        half_y = _padded_range(both[:, 1], floor)
    xs = np.linspace(*half_x, grid)
    ys = np.linspace(*half_y, grid)
    z = _plane_values(model, lossf, data, center, directions, xs, ys, None)
    minimum, minimum_loss = _lowest(xs, ys, z)

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
        loss=lossf.name,
        explained=explained,
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
    lossf, data = _data(model, loss, X, y)
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
    if lossf.name == "mse" and model.n_params == 2:
        quad = _Quadratic.fit(data.X, data.t)
    return _plane_values(model, lossf, data, center, directions, xs, ys, quad)


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


# -- MSE of w x + b: a quadratic from sufficient statistics ----------------------------------
@dataclass(frozen=True)
class _Quadratic:
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
    def fit(X: np.ndarray, t: np.ndarray) -> _Quadratic:
        x, t = X[:, 0], t[:, 0]
        w, b = _least_squares(X, t[:, None])
        r = t - w * x - b
        n = x.shape[0]
        return _Quadratic(
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


def _least_squares(X: np.ndarray, t: np.ndarray) -> np.ndarray:
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


# -- evaluating a plane ----------------------------------------------------------------------
def _plane_values(
    model: MLP,
    lossf: Loss,
    data: Problem,
    center: np.ndarray,
    directions: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    quad: _Quadratic | None,
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


def _lowest(xs: np.ndarray, ys: np.ndarray, z: np.ndarray) -> tuple:
    """((x, y), loss) of the lowest finite grid point, or (None, None) if there is none."""
    finite = np.where(np.isfinite(z), z, np.inf)
    if not np.isfinite(finite).any():
        return None, None
    i, j = np.unravel_index(int(np.argmin(finite)), z.shape)
    return (float(xs[j]), float(ys[i])), float(z[i, j])


# -- directions and projection ---------------------------------------------------------------
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
    """The two leading right singular vectors of the offsets, and each one's share of spread."""
    _, s, vt = np.linalg.svd(offsets, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        raise ValueError("the paths never leave the center: PCA has no direction to show")
    total = float(np.sum(s * s))
    d1 = vt[0]
    if s.size > 1 and s[1] > 1e-12 * s[0]:
        d2, s2 = vt[1], float(s[1])
    else:  # the points lie on a line: any direction orthogonal to d1 shows the same
        d2, s2 = _orthogonal_to(d1, rng), 0.0
    directions = np.stack([d1, d2])
    start = directions @ first_start
    directions[start > 0] *= -1.0
    return directions, (float(s[0] ** 2) / total, s2 * s2 / total)


def _orthogonal_to(d1: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector orthogonal to the unit vector d1 (Gram-Schmidt, done twice)."""
    while True:
        d = rng.standard_normal(d1.shape[0])
        norm = np.linalg.norm(d)
        for _ in range(2):
            d -= (d @ d1) * d1
        if np.linalg.norm(d) > 1e-6 * norm:  # else d was (nearly) parallel to d1: draw again
            return d / np.linalg.norm(d)


def _project(
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
def _data(model: MLP, loss: Loss | str, X: np.ndarray, y: np.ndarray) -> tuple[Loss, Problem]:
    """Check the model, the loss and the data against each other (ValueError if they clash)."""
    if not isinstance(model, MLP):
        raise ValueError(f"model must be an engine MLP, got {type(model).__name__}")
    lossf = get_loss(loss)
    data = Problem(model, lossf, X, y)  # checks the loss fits the output and X fits the input
    k = model.layer_sizes[-1]
    if lossf.name in ("mse", "mae"):
        if data.t.ndim == 1 and k == 1:
            data.t = data.t[:, None]  # y of shape (n,) for a one-output regression
        if data.t.shape != (data.n, k):
            raise ValueError(
                f"{lossf.name}: y must have shape ({data.n}, {k}) for a model with {k} "
                f"output(s), got shape {np.shape(y)}"
            )
        if not np.all(np.isfinite(data.t)):
            raise ValueError("y holds values that are not finite")
    lossf.check(data.t, np.zeros((data.n, k)))  # e.g. 0/1 targets for binary_crossentropy
    return lossf, data


def _check_grid(grid: object) -> int:
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


def _check_vector(v: np.ndarray, n: int, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} holds values that are not finite")
    return v.copy()


def _check_paths(paths: Mapping[str, np.ndarray] | None, n: int) -> dict[str, np.ndarray]:
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


def _padded_range(values: np.ndarray, min_half: float) -> tuple[float, float]:
    """[lo, hi] of the values, widened by PADDING on each side and to at least min_half."""
    lo, hi = float(np.min(values)), float(np.max(values))
    middle, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    half = max(half * (1.0 + 2.0 * PADDING), min_half, 1e-12 * max(1.0, abs(middle)))
    return middle - half, middle + half

"""One step, opened up (한 이터레이션 자세히 보기): what the step panel and the data view show.

`inspect_step` returns, for one `Step` of a run on a `Problem`, the four phases of the source
material with their numbers: the forward pass on a few samples of the batch, the loss before
the update, the batch gradient next to the full-data gradient (and the angle between them),
both drawn on the surface's plane, and what the model now predicts over the data's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .descent import Step
from .problem import Problem
from .surface import Surface, surface_values

#: Samples of the batch the forward phase shows.
FORWARD_SAMPLES = 8
#: Points of the prediction line, or the side of the probability grid.
PREDICTION_GRID = 30
#: Padding of the prediction's range on each side, as a share of the data's range.
PREDICTION_PADDING = 0.1


@dataclass(frozen=True, eq=False)
class Prediction:
    """What a model says over the data's range: a line (one feature) or a probability grid."""

    kind: str  #: "line" or "grid"
    x: np.ndarray  #: the line's inputs, or the grid's first axis
    y: np.ndarray  #: the line's outputs ŷ, or the grid's second axis
    z: np.ndarray | None = None  #: grid: P(class 1), or the most likely class's probability
    label: np.ndarray | None = None  #: multi-class grid: the most likely class of each cell
    classes: int = 0  #: grid: the number of classes


@dataclass(frozen=True, eq=False)
class Inspection:
    """One step's numbers: forward, loss, backward (batch and full gradient), where on the plane."""

    indices: np.ndarray  #: the batch samples shown (the first FORWARD_SAMPLES)
    x: np.ndarray  #: their inputs
    y_hat: np.ndarray  #: the model's outputs for them, before the update
    t: np.ndarray  #: their targets as the loss reads them: one-hot rows (CCE) or class indices
    losses: np.ndarray  #: each one's loss before the update (the batch loss is their mean)
    line: bool  #: the model is ŷ = w·x + b, so the forward phase can write the sum out
    loss_before: float  #: the full-data loss before the update
    full_grad: np.ndarray  #: the full-data gradient there
    full_grad_norm: float
    angle: float | None  #: degrees between the batch and the full gradient
    at_xy: np.ndarray | None  #: where the step began, on the surface's plane
    grad_xy: np.ndarray | None  #: the batch's downhill direction (-gradient) on the plane
    full_grad_xy: np.ndarray | None  #: the full data's downhill direction on the plane
    prediction: Prediction | None  #: the model after the update, when asked
    batch_z: np.ndarray | None  #: the batch's own loss surface on the exact grid, when asked


def angle(a: np.ndarray, b: np.ndarray) -> float | None:
    """Degrees between two vectors (None if either is zero)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0 or not math.isfinite(na * nb):
        return None
    cos = float(np.clip(a @ b / (na * nb), -1.0, 1.0))
    return math.degrees(math.acos(cos))


def prediction_range(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature, the data's range widened by PREDICTION_PADDING on each side; two features get
    a square (the shorter range widened about its middle), so the data view, drawn at one scale
    for both axes, fills a square and the map covers all of it (moons is twice as wide as tall)."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = PREDICTION_PADDING * np.maximum(hi - lo, 1e-3)
    lo, hi = lo - pad, hi + pad
    if X.shape[1] == 2:
        half, mid = (hi - lo).max() / 2, (hi + lo) / 2
        lo, hi = mid - half, mid + half
    return lo, hi


def predict(problem: Problem, params: np.ndarray, grid: int = PREDICTION_GRID) -> Prediction:
    """What the model at `params` says over the data's range: a line or a probability grid."""
    lo, hi = prediction_range(problem.X)
    model = problem.model
    if problem.X.shape[1] == 1:
        xs = np.linspace(lo[0], hi[0], grid)
        return Prediction("line", xs, model.predict_with(params, xs[:, None])[:, 0])
    gx = np.linspace(lo[0], hi[0], grid)
    gy = np.linspace(lo[1], hi[1], grid)
    cells = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        p = model.predict_with(params, cells)
    shape = (grid, grid)
    if p.shape[1] == 1:
        return Prediction("grid", gx, gy, z=p[:, 0].reshape(shape), classes=2)
    return Prediction("grid", gx, gy, z=p.max(axis=1).reshape(shape),
                      label=p.argmax(axis=1).reshape(shape), classes=p.shape[1])


def is_line(problem: Problem) -> bool:
    """Is the model ŷ = w·x + b (one input, one output, no hidden layer, linear)?"""
    return problem.model.layer_sizes == [1, 1] and problem.model.output == "linear"


def line_ends(problem: Problem) -> np.ndarray | None:
    """The x at the two ends of the line ŷ = w·x + b is drawn over (None for other models)."""
    if not is_line(problem):
        return None
    lo, hi = prediction_range(problem.X)
    return np.array([lo[0], hi[0]])


def line_values(params: np.ndarray, ends: np.ndarray) -> list[float]:
    """ŷ = w·x + b at the line's two ends: `predict_with` for MLP([1, 1]), without its overhead.

    Every iteration's point carries these two numbers, so the timeline and a replay can draw
    the line of any iteration; x * w + b is exactly what the model's forward pass computes.
    """
    w, b = float(params[0]), float(params[1])
    return [float(x) * w + b for x in ends]


def inspect_step(
    problem: Problem, step: Step, surface: Surface,
    predicted: bool = False, batch_surface: bool = False,
) -> Inspection:
    """Everything the step panel shows about `step`, at the parameters before its update.

    `predicted` adds the model's prediction after the update; `batch_surface` the batch's own
    loss on the grid of an exact surface.
    """
    prev, idx = step.prev_params, step.batch
    shown = idx[:FORWARD_SAMPLES]
    full_loss, full_grad = problem.loss_and_grad(prev)
    arrows = step.grad is not None and bool(np.all(np.isfinite(full_grad)))
    batch_z = None
    if batch_surface and surface.kind == "exact":
        batch_z = surface_values(problem.model, problem.loss, problem.X[idx], problem.y[idx],
                                 surface.x, surface.y)
    return Inspection(
        indices=shown,
        x=problem.X[shown],
        y_hat=problem.outputs(prev, shown),
        t=problem.t[shown],
        losses=problem.sample_losses(prev, shown),
        line=is_line(problem),
        loss_before=full_loss,
        full_grad=full_grad,
        full_grad_norm=float(np.linalg.norm(full_grad)),
        angle=angle(step.grad, full_grad) if arrows else None,
        at_xy=surface.project(prev)[0] if arrows else None,
        grad_xy=surface.project_direction(-step.grad) if arrows else None,
        full_grad_xy=surface.project_direction(-full_grad) if arrows else None,
        prediction=predict(problem, step.params) if predicted else None,
        batch_z=batch_z,
    )

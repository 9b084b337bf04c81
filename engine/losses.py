"""Loss functions (손실함수), with the Keras names the source material uses.

- regression (회귀): `mae`, `mse`
- binary classification (이진 분류): `binary_crossentropy`
- multi-class classification (다중 분류): `categorical_crossentropy` (one-hot targets),
  `sparse_categorical_crossentropy` (integer labels)

Every loss is the mean over the batch of each sample's loss (`sample_losses`). For MAE and MSE a
sample's loss is the mean over its outputs, so with one output the loss is the mean over the batch,
and in general the mean over all elements. The cross-entropies take probabilities, clipped to
[EPSILON, 1 - EPSILON] (clipping only: nothing is added inside the log).

`sample_losses` broadcasts over leading axes: predictions of shape (P, n, k) against targets of
shape (n, k) give (P, n), which is how the loss surface evaluates many parameter vectors at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPSILON = 1e-7


def _clip(p: np.ndarray) -> np.ndarray:
    """Probabilities clipped to [EPSILON, 1 - EPSILON] (two ufuncs: faster than np.clip)."""
    return np.minimum(np.maximum(p, EPSILON), 1.0 - EPSILON)


def _mean_last(a: np.ndarray) -> np.ndarray:
    """Mean over the last axis (np.add.reduce: less overhead than np.mean on small arrays)."""
    return np.add.reduce(a, axis=-1) / a.shape[-1]


def _check_pair(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_pred.ndim != 2:
        raise ValueError(f"{name}: y_pred must have shape (n, k), got shape {y_pred.shape}")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true shape {y_true.shape} does not match y_pred shape {y_pred.shape}"
        )
    if y_pred.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _zeros_and_ones(t: np.ndarray) -> bool:
    return bool(np.all((t == 0) | (t == 1)))


class Loss:
    """A loss: `value(y_true, y_pred) -> float`, `gradient(y_true, y_pred) -> dL/dy_pred`."""

    name = ""
    task = ""
    #: The output activation this loss expects ("linear", "sigmoid" or "softmax").
    output = "linear"
    #: Whether the output pairs with this loss for the fused gradient (y - t) / m.
    fused = False
    #: The task's default loss (the first the page offers).
    default = False

    def check(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Validate shapes and values; return the targets in the form the formulas use."""
        y_true = np.asarray(y_true, dtype=np.float64)
        _check_pair(self.name, y_true, np.asarray(y_pred))
        return y_true

    def sample_losses(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def value(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The loss of a batch: the mean of its samples' losses."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        t = self.check(y_true, y_pred)
        return self.mean(t, y_pred)

    def mean(self, t: np.ndarray, p: np.ndarray) -> float:
        """The mean of the samples' losses (targets as `targets` makes them)."""
        s = self.sample_losses(t, p)
        return float(np.add.reduce(s) / s.shape[0])

    def gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """dL/dy_pred, the same shape as y_pred."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        return self.grad(self.check(y_true, y_pred), y_pred)

    def grad(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def targets(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        """Turn a dataset's `y` into the targets this loss compares with predictions."""
        return np.asarray(y, dtype=np.float64)

    def __repr__(self) -> str:
        return f"get_loss({self.name!r})"


class MeanAbsoluteError(Loss):
    """MAE (평균 절대 오차): mean |y_pred - y_true|."""

    name = "mae"
    task = "regression"

    def sample_losses(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return _mean_last(np.abs(p - t))

    def grad(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        # The subgradient sign(0) = 0 at a kink, as Keras / TensorFlow use.
        return np.sign(p - t) / p.size


class MeanSquaredError(Loss):
    """MSE (평균 제곱 오차): mean (y_pred - y_true)^2."""

    name = "mse"
    task = "regression"
    default = True

    def sample_losses(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        d = p - t
        return _mean_last(d * d)

    def grad(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return 2.0 * (p - t) / p.size


class BinaryCrossentropy(Loss):
    """Binary cross-entropy (이진 교차 엔트로피): -mean(t log p + (1 - t) log(1 - p))."""

    name = "binary_crossentropy"
    task = "binary"
    output = "sigmoid"
    fused = True
    default = True

    def check(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        t = super().check(y_true, y_pred)
        k = y_pred.shape[1]
        _expect(k == 1, f"{self.name} expects one output (a probability), got {k}")
        _expect(_zeros_and_ones(t), f"{self.name}: y_true must hold only 0 and 1")
        return t

    def sample_losses(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        p = _clip(p)
        return -_mean_last(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))

    def grad(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        # Derivative of the clipped loss: zero where the clip is active.
        pc = _clip(p)
        inside = (p > EPSILON) & (p < 1.0 - EPSILON)
        return inside * (pc - t) / (pc * (1.0 - pc)) / p.size


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy (교차 엔트로피 오차), one-hot targets: -mean(sum t log p)."""

    name = "categorical_crossentropy"
    task = "multiclass"
    output = "softmax"
    fused = True

    def check(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        t = super().check(y_true, y_pred)
        k = y_pred.shape[1]
        _expect(k >= 2, f"{self.name} expects at least two outputs, got {k}")
        _expect(
            _zeros_and_ones(t) and bool(np.all(t.sum(axis=1) == 1)),
            f"{self.name}: every row of y_true must be one-hot (a single 1, the rest 0); "
            f"for integer labels use {SparseCategoricalCrossentropy.name}",
        )
        return t

    def sample_losses(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return -np.add.reduce(t * np.log(_clip(p)), axis=-1)

    def grad(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        pc = _clip(p)
        inside = (p > EPSILON) & (p < 1.0 - EPSILON)
        return -(inside * t) / pc / p.shape[0]

    def targets(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == n_outputs and n_outputs > 1:
            return y.astype(np.float64)
        labels = SparseCategoricalCrossentropy.labels(y, n_outputs, self.name)
        return np.eye(n_outputs)[labels]


class SparseCategoricalCrossentropy(Loss):
    """Sparse categorical cross-entropy (희소 교차 엔트로피), integer labels: -mean log p[label]."""

    name = "sparse_categorical_crossentropy"
    task = "multiclass"
    output = "softmax"
    fused = True
    default = True

    @staticmethod
    def labels(y: np.ndarray, n_classes: int, name: str) -> np.ndarray:
        """Integer labels of shape (n,) from (n,) or (n, 1), each in [0, n_classes)."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"{name}: integer labels must have shape (n,) or (n, 1), got shape {y.shape}"
            )
        if y.size and not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"{name}: labels must be whole numbers")
        labels = y.astype(np.int64)
        if y.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(
                f"{name}: labels must lie in [0, {n_classes - 1}] for {n_classes} outputs, "
                f"got values from {labels.min()} to {labels.max()}"
            )
        return labels

    def check(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_pred = np.asarray(y_pred)
        if y_pred.ndim != 2 or y_pred.shape[1] < 2:
            raise ValueError(
                f"{self.name}: y_pred must have shape (n, k) with k >= 2, got {y_pred.shape}"
            )
        labels = self.labels(y_true, y_pred.shape[1], self.name)
        if labels.shape[0] != y_pred.shape[0]:
            raise ValueError(
                f"{self.name}: {labels.shape[0]} labels for {y_pred.shape[0]} predictions"
            )
        if labels.shape[0] == 0:
            raise ValueError(f"{self.name}: the batch is empty")
        return labels

    def sample_losses(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        picked = np.take_along_axis(p, np.broadcast_to(t[:, None], p.shape[:-1] + (1,)), axis=-1)
        return -np.log(_clip(picked[..., 0]))

    def grad(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return CategoricalCrossentropy().grad(np.eye(p.shape[1])[t], p)

    def targets(self, y: np.ndarray, n_outputs: int) -> np.ndarray:
        return self.labels(y, n_outputs, self.name)


#: Losses by Keras name.
LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        MeanAbsoluteError(),
        MeanSquaredError(),
        BinaryCrossentropy(),
        CategoricalCrossentropy(),
        SparseCategoricalCrossentropy(),
    )
}


@dataclass(frozen=True)
class Task:
    """A task (과제): its output activation, the losses that fit it, and the default one."""

    name: str
    output: str
    losses: tuple[str, ...]
    default_loss: str

    def n_outputs(self, n_classes: int) -> int:
        """Output units for data of `n_classes` classes: one per class for softmax, else one."""
        return n_classes if self.output == "softmax" else 1


def _task_table() -> dict[str, Task]:
    """The source material's table, read off the losses: each knows its task and its output."""
    table = {}
    for loss in LOSSES.values():
        if loss.task in table:
            continue
        fits = [other for other in LOSSES.values() if other.task == loss.task]
        fits.sort(key=lambda other: not other.default)  # the default first, then registry order
        table[loss.task] = Task(
            loss.task, loss.output, tuple(other.name for other in fits), fits[0].name
        )
    return table


#: Task name -> Task, in the order the tasks first appear in LOSSES.
TASKS: dict[str, Task] = _task_table()

#: Which losses fit which task (the source material's table).
LOSSES_BY_TASK: dict[str, tuple[str, ...]] = {task.name: task.losses for task in TASKS.values()}

#: The output activation each task's losses expect.
OUTPUT_FOR_TASK: dict[str, str] = {task.name: task.output for task in TASKS.values()}


def get_task(name: str) -> Task:
    """The task (과제) "regression", "binary" or "multiclass"; ValueError for any other."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def get_loss(name: str | Loss) -> Loss:
    """The loss object for a Keras name such as "mse" (a Loss passes through)."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown loss {name!r}; known losses: {', '.join(LOSSES)}"
        ) from None


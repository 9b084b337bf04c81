"""A problem (문제): a model, a loss and a dataset, checked against each other once.

It also holds the source material's arithmetic of an epoch: n samples in batches of B make
ceil(n / B) iterations per epoch (이터레이션), times the epochs (에폭) for the whole run. The app
and the page only display these numbers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .losses import Loss, get_loss, get_task
from .model import MLP


# -- the arithmetic of an epoch --------------------------------------------------------------
def iterations_per_epoch(n_samples: int, batch_size: int | None) -> int:
    """ceil(n / batch size): 1,000 samples with batch size 100 give 10 iterations per epoch."""
    if batch_size is None or batch_size >= n_samples:
        return 1
    return math.ceil(n_samples / batch_size)


def descent_mode(batch_size: int | None, n_samples: int) -> str:
    """"sgd" for batch size 1, "full" for None or >= n, else "mini-batch"."""
    if batch_size is None or batch_size >= n_samples:
        return "full"
    return "sgd" if batch_size == 1 else "mini-batch"


@dataclass(frozen=True)
class Schedule:
    """n samples in batches of `batch_size` (None: all of them) for `epochs` epochs."""

    n_samples: int
    batch_size: int | None
    epochs: int

    # Cached (a frozen dataclass's fields never change): every point of a race asks.
    @functools.cached_property
    def effective_batch_size(self) -> int:
        """The batch size a full batch of the epoch has: at most n."""
        return self.n_samples if self.batch_size is None else min(self.batch_size, self.n_samples)

    @functools.cached_property
    def iterations_per_epoch(self) -> int:
        return iterations_per_epoch(self.n_samples, self.batch_size)

    @property
    def total_iterations(self) -> int:
        return self.iterations_per_epoch * self.epochs

    @property
    def last_batch_size(self) -> int:
        """The epoch's last batch: smaller than the others when B does not divide n (rounded up)."""
        return self.n_samples - (self.iterations_per_epoch - 1) * self.effective_batch_size

    @property
    def mode(self) -> str:
        return descent_mode(self.batch_size, self.n_samples)

    def samples_seen(self, iteration: int) -> int:
        """Samples processed after `iteration` iterations (each epoch sees all n)."""
        epochs, batches = divmod(iteration, self.iterations_per_epoch)
        return epochs * self.n_samples + batches * self.effective_batch_size


# -- checks ----------------------------------------------------------------------------------
def check_pairing(model: MLP, loss: Loss) -> None:
    """Raise ValueError when a loss does not fit the model's output."""
    if model.output != loss.output:
        raise ValueError(
            f"loss {loss.name!r} does not fit a {model.output!r} output; "
            f"use an output of: {loss.output}"
        )
    if loss.task == "binary" and model.layer_sizes[-1] != 1:
        raise ValueError(f"{loss.name} needs a model with exactly one output unit")


def _check_data(X: np.ndarray, y: np.ndarray, model: MLP) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, d) with n >= 1, got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if X.shape[1] != model.layer_sizes[0]:
        raise ValueError(
            f"X has {X.shape[1]} features but the model's input size is {model.layer_sizes[0]}"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds values that are not finite")
    return X, y


def _targets(loss: Loss, y: np.ndarray, k: int, n: int) -> np.ndarray:
    """A dataset's y as the loss's targets for a model with k outputs, checked up front."""
    t = loss.targets(y, k)
    if loss.task != "multiclass":  # targets are values shaped like the outputs
        if t.ndim == 1 and k == 1:
            t = t[:, None]
        if t.shape != (n, k):
            raise ValueError(
                f"{loss.name}: y must have shape ({n}, {k}) for a model with {k} output(s), "
                f"got shape {np.shape(y)}"
            )
        if not np.all(np.isfinite(t)):
            raise ValueError("y holds values that are not finite")
    loss.check(t, np.full((n, k), 0.5))
    return t


# -- the problem -----------------------------------------------------------------------------
class Problem:
    """A model, a loss and a dataset: the full-data loss and gradient at any parameters."""

    def __init__(self, model: MLP, loss: Loss | str, X: np.ndarray, y: np.ndarray) -> None:
        if not isinstance(model, MLP):
            raise ValueError(f"model must be an engine MLP, got {type(model).__name__}")
        self.loss = get_loss(loss)
        check_pairing(model, self.loss)
        self.X, self.y = _check_data(X, y, model)
        self.model = model.copy()
        self.t = _targets(self.loss, self.y, model.layer_sizes[-1], self.X.shape[0])
        self.n = self.X.shape[0]

    def batch(self, idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of the samples `idx` (all of them for None)."""
        if idx is None:
            return self.X, self.t
        return self.X[idx], self.t[idx]

    def loss_at(self, params: np.ndarray, idx: np.ndarray | None = None) -> float:
        """L(theta) on all data (or on the batch `idx`), without touching any gradient."""
        x, t = self.batch(idx)
        with np.errstate(all="ignore"):
            p = self.model.predict_with(params, x)
            return self.loss.mean(t, p)

    def loss_and_grad(
        self, params: np.ndarray, idx: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """L(theta) and dL/dtheta on all data (or on the batch `idx`)."""
        self.model.set_params(params)
        x, t = self.batch(idx)
        with np.errstate(all="ignore"):
            value = self.model.loss_and_grad(self.loss, x, t)
        return value, self.model.grad.copy()

    def sample_losses(self, params: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Each sample's loss at `params` (`loss_at` is their mean)."""
        x, t = self.batch(idx)
        with np.errstate(all="ignore"):
            return self.loss.sample_losses(t, self.model.predict_with(params, x))

    def outputs(self, params: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """The model's outputs (ŷ) at `params` for the samples `idx`."""
        x, _ = self.batch(idx)
        with np.errstate(all="ignore"):
            return self.model.predict_with(params, x)

    def schedule(self, batch_size: int | None, epochs: int) -> Schedule:
        """This data's arithmetic of epochs for one batch size."""
        return Schedule(self.n, batch_size, epochs)


def model_for(
    task: str, n_features: int, n_classes: int, hidden: Sequence[int] = (),
    activation: str = "tanh", seed: int = 0,
) -> MLP:
    """The MLP a task calls for: its output activation, one output unit per class for softmax."""
    spec = get_task(task)
    sizes = [n_features, *hidden, spec.n_outputs(n_classes)]
    return MLP(sizes, activation=activation, output=spec.output, seed=seed)

"""The learning-rate map (학습률 지도): one training per learning rate × batch size, all from the
same start on the same data with the same seed, and where theory puts the edge.

Each cell is an ordinary `train` run to its end (the config's epochs and training criterion);
what it keeps is the final full-data loss, the run's status and its iterations. `Sweep` owns
no clock: it advances a given number of iterations, cell after cell, so a caller can compute a
map in slices and look up between them (a newer request, a progress bar).

For ŷ = w·x + b with MSE the loss is a quadratic with a constant Hessian, and plain gradient
descent on the full batch converges exactly when lr < 2 / λ_max (the same λ_max the exact
surface reports, `engine.least_squares.hessian_lambda_max`); `lr_limit` gives that edge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .descent import Step, train
from .least_squares import hessian_lambda_max
from .losses import Loss, MeanSquaredError
from .model import MLP
from .problem import Problem


@dataclass(frozen=True)
class Cell:
    """One learning rate × batch size, trained to its end."""

    loss: float | None  #: final full-data loss; None when the run diverged
    status: str  #: the run's final status (completed, diverged, target_reached, early_stopped)
    iterations: int  #: updates made


def lr_limit(problem: Problem, update: str = "sgd") -> float | None:
    """2 / λ_max where it is exact (plain GD on w·x + b with MSE), else None.

    Momentum and Adam have other edges, and a network's Hessian changes as it trains.
    """
    model = problem.model
    if update != "sgd" or model.n_params != 2 or model.output != "linear":
        return None
    if not isinstance(problem.loss, MeanSquaredError):
        return None
    return 2.0 / hessian_lambda_max(problem.X)


class Sweep:
    """Every learning rate × batch size of a map, trained one cell after the other."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        model: MLP,
        loss: Loss | str,
        lrs: Sequence[float],
        batch_sizes: Sequence[int | None],
        epochs: int,
        seed: int = 0,
        update: str = "sgd",
        target_loss: float | None = None,
        patience: int | None = None,
    ) -> None:
        if not lrs or not batch_sizes:
            raise ValueError("a sweep needs at least one learning rate and one batch size")
        self.problem = Problem(model, loss, X, y)
        self.lrs, self.batch_sizes = list(lrs), list(batch_sizes)
        self.options = {"epochs": epochs, "seed": seed, "update": update,
                        "target_loss": target_loss, "patience": patience}
        self.lr_limit = lr_limit(self.problem, update)
        #: cells[i][j]: learning rate i, batch size j (None until computed)
        self.cells: list[list[Cell | None]] = [[None] * len(self.batch_sizes) for _ in self.lrs]
        self.done = 0
        self._trainer: Iterator[Step] | None = None

    @property
    def total(self) -> int:
        return len(self.lrs) * len(self.batch_sizes)

    @property
    def finished(self) -> bool:
        return self.done == self.total

    def advance(self, iterations: int) -> int:
        """Up to `iterations` more updates, cell after cell; returns the cells finished so far."""
        p = self.problem
        for _ in range(iterations):
            if self.finished:
                break
            i, j = divmod(self.done, len(self.batch_sizes))
            if self._trainer is None:  # the same model (start), data and seed for every cell
                self._trainer = train(p.X, p.y, p.model, p.loss, lr=self.lrs[i],
                                      batch_size=self.batch_sizes[j], **self.options)
            step = next(self._trainer)
            if step.status != "running":
                loss = None if step.status == "diverged" else step.loss
                self.cells[i][j] = Cell(loss, step.status, step.iteration)
                self._trainer.close()
                self._trainer = None
                self.done += 1
        return self.done

    def run(self) -> list[list[Cell]]:
        """Every cell, computed to the end."""
        while not self.finished:
            self.advance(1000)
        return self.cells  # type: ignore[return-value]

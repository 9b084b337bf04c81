"""Descent Playground's engine: pure NumPy datasets, MLP, losses, descent and loss surfaces.

    >>> import engine
    >>> data = engine.make_dataset("linear", n_samples=1000, seed=0)
    >>> model = engine.MLP([1, 1])                      # w·x + b: two parameters
    >>> steps = list(engine.train(data.X, data.y, model=model, loss="mse",
    ...                           lr=0.1, batch_size=100, epochs=5, seed=0))
    >>> len(steps)                                      # 1,000 / 100 = 10 per epoch, x 5
    50
"""

from .datasets import DATASETS, Dataset, make_dataset
from .descent import (
    DEFAULT_RUNS,
    UPDATE_RULES,
    Problem,
    RunSpec,
    Step,
    compare,
    iterations_per_epoch,
    start_runs,
    train,
)
from .layers import ACTIVATIONS, OUTPUTS
from .losses import LOSSES, LOSSES_BY_TASK, OUTPUT_FOR_TASK, Loss, get_loss
from .model import MLP

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DEFAULT_RUNS",
    "LOSSES",
    "LOSSES_BY_TASK",
    "MLP",
    "OUTPUTS",
    "OUTPUT_FOR_TASK",
    "UPDATE_RULES",
    "Dataset",
    "Loss",
    "Problem",
    "RunSpec",
    "Step",
    "compare",
    "get_loss",
    "iterations_per_epoch",
    "make_dataset",
    "start_runs",
    "train",
]

from . import surface  # noqa: E402
from .surface import Surface, exact_surface, projected_surface  # noqa: E402

__all__ += ["Surface", "exact_surface", "projected_surface", "surface"]

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
from .descent import DEFAULT_RUNS, UPDATE_RULES, RunSpec, Step, compare, start_runs, train
from .layers import ACTIVATIONS, OUTPUTS
from .losses import LOSSES, LOSSES_BY_TASK, OUTPUT_FOR_TASK, TASKS, Loss, Task, get_loss, get_task
from .model import MLP
from .problem import Problem, Schedule, iterations_per_epoch, model_for

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
    "Schedule",
    "Step",
    "TASKS",
    "Task",
    "compare",
    "get_loss",
    "get_task",
    "iterations_per_epoch",
    "make_dataset",
    "model_for",
    "start_runs",
    "train",
]

from . import surface  # noqa: E402
from .surface import Surface, exact_surface, projected_surface  # noqa: E402

__all__ += ["Surface", "exact_surface", "projected_surface", "surface"]

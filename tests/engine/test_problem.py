"""Tests for engine.problem: the arithmetic of an epoch, the model a task calls for, the checks."""

import numpy as np
import pytest

import engine
from engine.problem import Problem, Schedule, model_for


@pytest.mark.parametrize(
    ("n", "batch_size", "epochs", "per_epoch", "batch", "last"),
    [
        (1000, 100, 5, 10, 100, 100),  # the source material's example: 10 per epoch
        (100, 32, 2, 4, 32, 4),  # 32 + 32 + 32 + 4: rounded up
        (100, 1, 3, 100, 1, 1),  # SGD
        (100, None, 7, 1, 100, 100),  # full batch
        (100, 500, 2, 1, 100, 100),  # a batch larger than the data is all of it
    ],
)
def test_schedule_counts_what_a_real_run_does(n, batch_size, epochs, per_epoch, batch, last):
    """Every number against the Steps of a real run (no patience, no target: it runs to the end)."""
    s = Schedule(n, batch_size, epochs)
    assert (s.iterations_per_epoch, s.effective_batch_size, s.last_batch_size) == (
        per_epoch, batch, last)
    assert s.total_iterations == per_epoch * epochs
    data = engine.make_dataset("linear", n_samples=n, seed=0)
    steps = list(engine.train(data.X, data.y, model=engine.MLP([1, 1]), loss="mse", lr=0.01,
                              batch_size=batch_size, epochs=epochs))
    assert len(steps) == s.total_iterations
    assert max(st.batch_size for st in steps) == s.effective_batch_size
    assert steps[per_epoch - 1].batch_size == s.last_batch_size
    seen = np.cumsum([st.batch_size for st in steps])
    assert [s.samples_seen(st.iteration) for st in steps] == seen.tolist()
    assert s.samples_seen(0) == 0
    assert s.mode == {1: "sgd", None: "full"}.get(batch_size, "full" if batch == n else "mini-batch")


def test_problem_gives_its_schedule():
    data = engine.make_dataset("linear", n_samples=50, seed=0)
    problem = Problem(engine.MLP([1, 1]), "mse", data.X, data.y)
    assert problem.schedule(8, 3) == Schedule(50, 8, 3)
    assert engine.iterations_per_epoch(50, 8) == problem.schedule(8, 3).iterations_per_epoch == 7


@pytest.mark.parametrize(
    ("task", "features", "classes", "sizes", "output"),
    [
        ("regression", 1, 1, [1, 4, 1], "linear"),
        ("binary", 2, 2, [2, 4, 1], "sigmoid"),
        ("multiclass", 2, 5, [2, 4, 5], "softmax"),
    ],
)
def test_model_for_a_task(task, features, classes, sizes, output):
    model = model_for(task, features, classes, [4], activation="relu", seed=3)
    assert (model.layer_sizes, model.output, model.activation, model.seed) == (
        sizes, output, "relu", 3)


def test_problem_refuses_what_is_not_a_model():
    with pytest.raises(ValueError, match="model must be an engine MLP, got str"):
        Problem("mlp", "mse", np.zeros((2, 1)), np.zeros((2, 1)))

"""Tests for engine.sweep: the learning-rate map's cells, and its edge where theory is exact."""

import numpy as np
import pytest

import engine
from engine.descent import Momentum
from engine.least_squares import least_squares
from engine.model import MLP
from engine.surface import exact_surface
from engine.sweep import Cell, Sweep, lr_limit


@pytest.fixture(scope="module")
def linear():
    data = engine.make_dataset("linear", n_samples=100, seed=0)
    return data.X, data.y


def test_lr_limit_is_two_over_the_exact_surfaces_lambda_max(linear):
    X, y = linear
    model = MLP([1, 1], output="linear", seed=0)
    s = exact_surface(model, "mse", X, y)
    assert lr_limit(engine.Problem(model, "mse", X, y)) == 2.0 / s.lambda_max
    # by hand: H = 2 [[E x², E x], [E x, 1]]
    x = X[:, 0]
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    assert lr_limit(engine.Problem(model, "mse", X, y)) == pytest.approx(
        2 / np.linalg.eigvalsh(H)[-1], rel=1e-12)


def test_lr_limit_is_unknown_where_theory_is_not_exact(linear):
    X, y = linear
    line = MLP([1, 1], output="linear", seed=0)
    assert lr_limit(engine.Problem(line, "mae", X, y)) is None
    assert lr_limit(engine.Problem(line, "mse", X, y), update="momentum") is None
    assert lr_limit(engine.Problem(line, "mse", X, y), update="adam") is None
    net = MLP([1, 4, 1], output="linear", seed=0)
    assert lr_limit(engine.Problem(net, "mse", X, y)) is None


def test_full_batch_converges_below_the_limit_and_diverges_above_it(linear):
    """The map agrees with theory where theory is exact: 0.9 x and 1.1 x of 2/λ_max."""
    X, y = linear
    model = MLP([1, 1], output="linear", seed=0)
    limit = lr_limit(engine.Problem(model, "mse", X, y))
    sweep = Sweep(X, y, model, "mse", [0.9 * limit, 1.1 * limit], [None], epochs=200)
    below, above = (row[0] for row in sweep.run())
    assert sweep.lr_limit == limit
    w, b = least_squares(X, y)
    best = float(np.mean((w * X[:, 0] + b - y[:, 0]) ** 2))
    assert below.status == "completed" and below.iterations == 200
    assert below.loss == pytest.approx(best, rel=1e-9)
    assert above.status == "diverged" and above.loss is None and above.iterations < 200


def test_each_cell_is_the_run_the_race_would_make(linear):
    """Same start, same data, same seed: a cell's loss is the last Step's of the same train()."""
    X, y = linear
    model = MLP([1, 1], output="linear", seed=3)
    lrs, batches = [0.01, 0.3, 4.0], [1, 8, None]
    cells = Sweep(X, y, model, "mse", lrs, batches, epochs=3, seed=7).run()
    for i, lr in enumerate(lrs):
        for j, batch in enumerate(batches):
            steps = list(engine.train(X, y, model, "mse", lr=lr, batch_size=batch, epochs=3,
                                      seed=7))
            last = steps[-1]
            expected = Cell(None if last.status == "diverged" else last.loss, last.status,
                            last.iteration)
            assert cells[i][j] == expected, (lr, batch)
    assert cells[2][0].status == "diverged" and cells[0][2].status == "completed"
    assert cells[0][0].iterations == 300 and cells[0][1].iterations == 39


def test_slices_of_any_size_make_the_same_map(linear):
    X, y = linear
    model = MLP([1, 1], output="linear", seed=0)
    whole = Sweep(X, y, model, "mse", [0.05, 0.5], [1, 32, None], epochs=2).run()
    sliced = Sweep(X, y, model, "mse", [0.05, 0.5], [1, 32, None], epochs=2)
    seen = []
    while not sliced.finished:
        seen.append(sliced.advance(7))
    assert sliced.cells == whole and sliced.done == sliced.total == 6
    assert seen == sorted(seen) and seen[-1] == 6
    assert sliced.advance(5) == 6  # nothing left to do


def test_the_criterion_and_the_update_rule_apply(linear):
    X, y = linear
    model = MLP([1, 1], output="linear", seed=0)
    cells = Sweep(X, y, model, "mse", [0.1], [None], epochs=500, target_loss=0.5).run()
    assert cells[0][0].status == "target_reached" and cells[0][0].loss <= 0.5
    momentum = Sweep(X, y, model, "mse", [0.1], [None], epochs=4, update="momentum").run()
    plain = Sweep(X, y, model, "mse", [0.1], [None], epochs=4).run()
    assert momentum[0][0].loss != plain[0][0].loss
    # momentum by hand: v <- 0.9 v - lr g; theta <- theta + v, from the model's start
    problem = engine.Problem(model, "mse", X, y)
    theta, rule = model.get_params(), Momentum(0.1)
    for _ in range(4):
        _, g = problem.loss_and_grad(theta)
        rule.update(theta, g)
    assert momentum[0][0].loss == pytest.approx(problem.loss_at(theta), rel=1e-12)


def test_a_sweep_needs_cells():
    X, y = np.zeros((3, 1)), np.zeros((3, 1))
    with pytest.raises(ValueError, match="at least one"):
        Sweep(X, y, MLP([1, 1], output="linear"), "mse", [], [None], epochs=1)

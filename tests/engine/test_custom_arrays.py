"""A user's own points (`custom_dataset`): standardized inputs, and everything the engine does on
the built-in sets works on them: exact and projected surfaces, the three descent modes, every
loss of the task, bit-reproducible runs."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

from engine import MLP, Problem, get_task, model_for, train
from engine.datasets import custom_dataset, standardize
from engine.surface import exact_surface, projected_surface

# A class's raw measurements in the hundreds, with one outlier.
RAW_X = [[120.0], [135.0], [150.0], [160.0], [175.0], [190.0], [400.0]]
RAW_Y = [30.0, 34.0, 37.0, 40.0, 44.0, 47.0, 10.0]
POINTS_2D = [[1.0, 200.0], [2.0, 180.0], [3.0, 260.0], [4.0, 240.0], [5.0, 300.0], [6.0, 310.0]]


def test_standardize_gives_mean_0_and_sd_1_and_only_centres_a_constant_column():
    X = np.array([[1.0, 5.0], [2.0, 5.0], [6.0, 5.0]])
    Z, shift, scale = standardize(X)
    assert np.allclose(Z[:, 0].mean(), 0) and np.isclose(Z[:, 0].std(), 1)
    assert np.array_equal(Z[:, 1], np.zeros(3))  # constant: centred, not divided by 0
    assert shift.tolist() == [3.0, 5.0] and scale[1] == 1.0
    # by hand: mean 3, population sd sqrt((4 + 1 + 9) / 3)
    assert scale[0] == pytest.approx(np.sqrt(14 / 3))
    assert np.allclose(Z[:, 0], (X[:, 0] - 3) / np.sqrt(14 / 3))


def test_standardized_inputs_but_targets_as_given():
    data = custom_dataset("regression", RAW_X, RAW_Y)
    assert data.name == "custom" and data.X.shape == (7, 1) and data.y.shape == (7, 1)
    assert data.X.mean() == pytest.approx(0, abs=1e-12) and data.X.std() == pytest.approx(1)
    assert data.y[:, 0].tolist() == RAW_Y  # regression targets are never rescaled
    raw = custom_dataset("regression", RAW_X, RAW_Y, standardize_x=False)
    assert raw.X[:, 0].tolist() == [row[0] for row in RAW_X] and raw.shift is None
    assert np.allclose(data.X * data.scale + data.shift, raw.X)


def test_labels_take_the_shape_each_task_reads():
    binary = custom_dataset("binary", POINTS_2D, [0, 0, 1, 0, 1, 1])
    assert binary.y.shape == (6, 1) and binary.y.dtype == np.float64 and binary.n_classes == 2
    multi = custom_dataset("multiclass", POINTS_2D, [0, 1, 2, 3, 2, 1])
    assert multi.y.tolist() == [0, 1, 2, 3, 2, 1] and multi.y.dtype == np.int64
    assert multi.n_classes == 4
    one_feature = custom_dataset("binary", [[0.0], [1.0], [5.0]], [0, 1, 1])
    assert one_feature.n_features == 1


def test_exact_surface_and_its_lr_limit_on_custom_points():
    data = custom_dataset("regression", RAW_X, RAW_Y)
    model = model_for("regression", 1, 1)
    surface = exact_surface(model, "mse", data.X, data.y, grid=11)
    x = data.X[:, 0]
    # one grid point by hand: mean((w x + b - y)^2)
    i, j = 3, 7
    w, b = surface.x[j], surface.y[i]
    assert surface.z[i, j] == pytest.approx(np.mean((w * x + b - np.array(RAW_Y)) ** 2))
    # the Hessian of MSE in (w, b) is 2/n [[Σx², Σx], [Σx, n]]; standardized: 2·I, λ = 2
    assert surface.lambda_max == pytest.approx(2.0)
    assert 2 / surface.lambda_max == pytest.approx(1.0)
    # the minimum is the least-squares line through the standardized points
    slope, intercept = np.polyfit(x, RAW_Y, 1)
    assert surface.minimum == pytest.approx((slope, intercept))
    raw = custom_dataset("regression", RAW_X, RAW_Y, standardize_x=False)
    raw_surface = exact_surface(model, "mse", raw.X, raw.y, grid=11)
    xr = raw.X[:, 0]
    hessian = 2 / len(xr) * np.array([[np.sum(xr * xr), np.sum(xr)], [np.sum(xr), len(xr)]])
    assert raw_surface.lambda_max == pytest.approx(np.linalg.eigvalsh(hessian).max())


@pytest.mark.parametrize("task, y, hidden", [
    ("regression", [1.0, 2.0, 0.5, 3.0, 2.5, 4.0], [3]),
    ("binary", [0, 0, 1, 0, 1, 1], []),
    ("multiclass", [0, 1, 2, 2, 1, 0], [4]),
])
def test_projected_surface_and_gradients_on_custom_points(task, y, hidden):
    data = custom_dataset(task, POINTS_2D, y)
    for loss in get_task(task).losses:
        model = model_for(task, 2, data.n_classes, hidden, seed=1)
        problem = Problem(model, loss, data.X, data.y)
        params = model.get_params()
        _, grad = problem.loss_and_grad(params)
        numeric = numerical_gradient(problem.loss_at, params)
        assert relative_error(grad, numeric) < 1e-6, loss
        surface = projected_surface(model, loss, data.X, data.y, grid=7, method="random",
                                    seed=1, center=params)
        assert surface.kind == "projected" and np.all(np.isfinite(surface.z))


@pytest.mark.parametrize("task, y", [("regression", RAW_Y), ("binary", [0, 0, 0, 1, 1, 1, 0])])
def test_three_descent_modes_train_on_custom_points_bit_reproducibly(task, y):
    data = custom_dataset(task, RAW_X, y)
    for loss in get_task(task).losses:
        finals = {}
        for batch in (1, 3, None):
            runs = []
            for _ in range(2):
                model = model_for(task, 1, data.n_classes, seed=4)
                steps = list(train(data.X, data.y, model=model, loss=loss, lr=0.1,
                                   batch_size=batch, epochs=3, seed=4))
                runs.append(np.array([s.params for s in steps]))
            assert np.array_equal(runs[0], runs[1])  # bit for bit
            per_epoch = -(-7 // (batch or 7))
            assert len(runs[0]) == 3 * per_epoch
            finals[batch] = runs[0][-1]
        assert not np.array_equal(finals[1], finals[None])


def test_standardized_raw_measurements_train_at_the_usual_learning_rate():
    # raw values in the hundreds diverge at lr 0.2; standardized they converge
    std = custom_dataset("regression", RAW_X[:6], RAW_Y[:6])
    raw = custom_dataset("regression", RAW_X[:6], RAW_Y[:6], standardize_x=False)
    last = {}
    for name, data in (("std", std), ("raw", raw)):
        steps = list(train(data.X, data.y, model=MLP([1, 1]), loss="mse", lr=0.2,
                           batch_size=None, epochs=60, seed=0))
        last[name] = steps[-1]
    assert last["std"].status != "diverged" and last["std"].loss < 1.0
    assert last["raw"].status == "diverged"

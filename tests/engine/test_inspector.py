"""Tests for engine.inspector: one step opened up, against independent computations."""

import dataclasses
import math

import numpy as np
import pytest
from gradcheck import numerical_gradient

import engine
from engine.inspector import (
    FORWARD_SAMPLES,
    PREDICTION_GRID,
    angle,
    inspect_step,
    line_ends,
    line_values,
    predict,
)
from engine.problem import Problem
from engine.surface import exact_surface, projected_surface, surface_values


def test_angle_by_hand():
    assert angle(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert angle(np.array([1.0, 1.0]), np.array([3.0, 3.0])) == pytest.approx(0.0, abs=1e-6)
    assert angle(np.array([1.0, 0.0]), np.array([-1.0, 0.0])) == pytest.approx(180.0)
    assert angle(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(45.0)
    assert angle(np.zeros(2), np.array([1.0, 0.0])) is None
    with np.errstate(over="ignore"):
        assert angle(np.array([1e300, 0.0]), np.array([1e300, 0.0])) is None  # norms overflow


def run(problem, model, **kw):
    return list(engine.train(problem.X, problem.y, model=model, loss=problem.loss, **kw))


def test_a_step_of_the_line_model_opened_up():
    data = engine.make_dataset("linear", n_samples=60, seed=1)
    model = engine.MLP([1, 1], seed=0)
    problem = Problem(model, "mse", data.X, data.y)
    surface = exact_surface(model, "mse", data.X, data.y, grid=11)
    step = run(problem, model, lr=0.1, batch_size=12, epochs=2, seed=4)[6]
    seen = inspect_step(problem, step, surface, predicted=True, batch_surface=True)

    w, b = step.prev_params
    shown = step.batch[:FORWARD_SAMPLES]
    np.testing.assert_array_equal(seen.indices, shown)
    np.testing.assert_allclose(seen.y_hat[:, 0], w * data.X[shown, 0] + b, rtol=1e-15)
    np.testing.assert_array_equal(seen.t, data.y[shown])
    assert seen.line
    # the full-data loss and gradient before the update, by hand and by central differences
    residual = w * data.X[:, 0] + b - data.y[:, 0]
    assert seen.loss_before == pytest.approx(np.mean(residual**2), rel=1e-12)
    np.testing.assert_allclose(seen.full_grad, [2 * np.mean(residual * data.X[:, 0]),
                                                2 * np.mean(residual)], rtol=1e-10)
    numeric = numerical_gradient(problem.loss_at, step.prev_params)
    np.testing.assert_allclose(seen.full_grad, numeric, rtol=1e-6)
    assert seen.full_grad_norm == pytest.approx(math.hypot(*seen.full_grad))
    cos = step.grad @ seen.full_grad / (np.linalg.norm(step.grad) * seen.full_grad_norm)
    assert seen.angle == pytest.approx(math.degrees(math.acos(cos)))
    # exact: the plane is (w, b) itself
    np.testing.assert_array_equal(seen.at_xy, step.prev_params)
    np.testing.assert_array_equal(seen.grad_xy, -step.grad)
    np.testing.assert_array_equal(seen.full_grad_xy, -seen.full_grad)
    # the batch's own surface, on the exact grid
    batch_z = surface_values(model, "mse", data.X[step.batch], data.y[step.batch],
                             surface.x, surface.y)
    np.testing.assert_array_equal(seen.batch_z, batch_z)
    # the line after the update, over the data's range padded by 10%
    p = seen.prediction
    lo, hi = data.X.min(), data.X.max()
    assert p.kind == "line" and p.x.shape == (PREDICTION_GRID,)
    assert (p.x[0], p.x[-1]) == pytest.approx((lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)))
    np.testing.assert_allclose(p.y, step.params[0] * p.x + step.params[1], rtol=1e-14)


def test_the_line_of_every_point_is_the_models_own_output():
    """line_values is w·x + b at the line's ends: bit for bit what the forward pass gives."""
    data = engine.make_dataset("linear", n_samples=40, seed=2)
    model = engine.MLP([1, 1], seed=0)
    problem = Problem(model, "mse", data.X, data.y)
    ends = line_ends(problem)
    prediction = predict(problem, model.get_params())
    assert ends.tolist() == [prediction.x[0], prediction.x[-1]]
    for params in np.random.default_rng(0).normal(size=(50, 2)) * 3:
        expected = model.predict_with(params, ends[:, None])[:, 0]
        assert line_values(params, ends) == expected.tolist()
    hidden = Problem(engine.MLP([1, 3, 1]), "mse", data.X, data.y)
    assert line_ends(hidden) is None and not inspect_step(
        hidden, run(hidden, hidden.model, epochs=1)[0],
        projected_surface(hidden.model, "mse", data.X, data.y, grid=3)).line


def test_a_step_of_a_network_on_a_projected_plane():
    data = engine.make_dataset("multiblobs", n_samples=90, seed=0, n_classes=4)
    model = engine.MLP([2, 5, 4], output="softmax", seed=1)
    problem = Problem(model, "sparse_categorical_crossentropy", data.X, data.y)
    surface = projected_surface(model, problem.loss, data.X, data.y, grid=5, seed=2)
    step = run(problem, model, lr=0.3, batch_size=5, epochs=1)[3]
    seen = inspect_step(problem, step, surface, predicted=True, batch_surface=True)
    assert not seen.line and seen.batch_z is None  # a batch surface is for exact surfaces only
    assert seen.y_hat.shape == (5, 4) and seen.t.shape == (5,)
    numeric = numerical_gradient(problem.loss_at, step.prev_params)
    np.testing.assert_allclose(seen.full_grad, numeric, rtol=1e-5, atol=1e-9)
    coords, *_ = np.linalg.lstsq(surface.directions.T, -seen.full_grad, rcond=None)
    np.testing.assert_array_equal(seen.full_grad_xy, coords)
    np.testing.assert_array_equal(seen.at_xy, surface.project(step.prev_params)[0])
    p = seen.prediction
    assert p.kind == "grid" and p.classes == 4 and p.z.shape == p.label.shape == (30, 30)
    cell = np.array([[p.x[7], p.y[20]]])
    probs = model.predict_with(step.params, cell)[0]
    assert p.label[20, 7] == np.argmax(probs) and p.z[20, 7] == pytest.approx(probs.max())


def test_cce_shows_one_hot_targets_and_scce_class_indices_with_the_same_losses():
    # The note's distinction: the same labels, written two ways, give the same loss.
    data = engine.make_dataset("multiblobs", n_samples=60, seed=3, n_classes=3)
    model = engine.MLP([2, 3], output="softmax", seed=0)
    seen = {}
    for name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        problem = Problem(model, name, data.X, data.y)
        surface = projected_surface(model, name, data.X, data.y, grid=3, seed=0)
        step = run(problem, model, lr=0.3, batch_size=10, epochs=1, seed=5)[2]
        seen[name] = inspect_step(problem, step, surface)
    cce, scce = seen["categorical_crossentropy"], seen["sparse_categorical_crossentropy"]
    np.testing.assert_array_equal(cce.indices, scce.indices)
    labels = data.y[cce.indices]
    assert scce.t.shape == (8,) and np.array_equal(scce.t, labels)
    assert cce.t.shape == (8, 3) and np.array_equal(cce.t, np.eye(3)[labels])
    np.testing.assert_allclose(cce.losses, scce.losses, rtol=1e-15)
    np.testing.assert_allclose(scce.losses, -np.log(scce.y_hat[np.arange(8), labels]), rtol=1e-12)
    assert cce.loss_before == pytest.approx(scce.loss_before, rel=1e-15)


def test_binary_grid_holds_the_probability_of_class_one():
    moons = engine.make_dataset("moons", n_samples=50, seed=0)
    model = engine.MLP([2, 3, 1], output="sigmoid", seed=0)
    problem = Problem(model, "binary_crossentropy", moons.X, moons.y)
    p = predict(problem, model.get_params(), grid=4)
    assert p.kind == "grid" and p.classes == 2 and p.label is None
    probs = model.predict_with(model.get_params(), np.array([[p.x[1], p.y[2]]]))[0, 0]
    assert p.z[2, 1] == pytest.approx(probs, rel=1e-15)


def test_no_arrows_when_the_full_gradient_is_not_finite():
    data = engine.make_dataset("linear", n_samples=20, seed=0)
    model = engine.MLP([1, 1])
    problem = Problem(model, "mse", data.X, data.y)
    step = run(problem, model, lr=0.1, epochs=1)[0]
    huge = dataclasses.replace(step, prev_params=np.array([1e308, 1e308]))  # w·x + b overflows
    seen = inspect_step(problem, huge, exact_surface(model, "mse", data.X, data.y, grid=3))
    assert not np.all(np.isfinite(seen.full_grad))
    assert seen.at_xy is seen.grad_xy is seen.full_grad_xy is seen.angle is None
    assert seen.prediction is None  # not asked for

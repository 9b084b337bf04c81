"""Tests for engine.surface: exact loss surfaces, checked against independent sums.

The reference values come from `Problem.loss_at` (the engine's own forward pass and loss, one
parameter vector at a time), `np.linalg.lstsq`, finite differences and real training runs, never
from the formulas the module uses. Projected surfaces: tests/engine/test_projection.py.
"""

import numpy as np
import pytest
from surfaces import moons_model, rel, train_params

import engine
from engine import surface
from engine.least_squares import least_absolute, least_squares
from engine.problem import Problem
from engine.surface import (
    Surface,
    exact_surface,
    hessian_lambda_max,
    projected_surface,
    surface_values,
)


# -- exact surfaces --------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_exact_grid_matches_a_brute_force_loop(linear, loss):
    X, y = linear
    model = engine.MLP([1, 1], seed=0)
    s = exact_surface(model, loss, X, y, grid=41)
    problem = Problem(model, loss, X, y)
    rng = np.random.default_rng(0)
    assert s.z.shape == (41, 41) and s.x.shape == s.y.shape == (41,)
    for i, j in rng.integers(0, 41, size=(12, 2)):
        expected = problem.loss_at(np.array([s.x[j], s.y[i]]))  # z[i, j] is at (x[j], y[i])
        assert rel(s.z[i, j], expected) < 1e-9
    assert s.kind == "exact" and s.labels == ("w", "b") and s.method == "exact"
    assert repr(s).startswith("Surface(kind='exact', grid=41x41")
    np.testing.assert_array_equal(s.center, np.zeros(2))
    np.testing.assert_array_equal(s.directions, np.eye(2))


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_every_step_lies_on_the_exact_surface(linear, loss):
    X, y = linear
    model = engine.MLP([1, 1], seed=0)
    params, steps = train_params(X, y, model, loss, lr=0.1, batch_size=8, epochs=3, seed=0)
    assert len(steps) == 3 * 50
    s = exact_surface(model, loss, X, y, paths={"mini-batch": params}, grid=31)
    for step in steps:
        w, b = step.params
        value = surface_values(model, loss, X, y, [w], [b], surface=s)
        assert value.shape == (1, 1)
        assert rel(value[0, 0], step.loss) < 1e-9
    np.testing.assert_array_equal(s.paths["mini-batch"], params)
    start = model.get_params()
    for w, b in np.vstack([params, start]):
        assert s.x[0] < w < s.x[-1] and s.y[0] < b < s.y[-1]
    xy, share = s.project(params)
    np.testing.assert_array_equal(xy, params)
    np.testing.assert_array_equal(share, np.zeros(len(params)))


def test_exact_minimum_is_least_squares_and_lambda_max_is_the_hessians(linear):
    X, y = linear
    model = engine.MLP([1, 1], seed=0)
    s = exact_surface(model, "mse", X, y)
    A = np.column_stack([X[:, 0], np.ones(len(X))])
    w_b = np.linalg.lstsq(A, y[:, 0], rcond=None)[0]
    np.testing.assert_allclose(s.minimum, w_b, rtol=1e-10, atol=1e-12)
    problem = Problem(model, "mse", X, y)
    assert rel(s.minimum_loss, problem.loss_at(w_b)) < 1e-9
    assert s.minimum_loss <= s.z.min() + 1e-12
    assert s.x[0] < s.minimum[0] < s.x[-1] and s.y[0] < s.minimum[1] < s.y[-1]

    # The Hessian by central differences of the full-data loss (exact for a quadratic).
    h, c = 1e-3, np.array([0.3, -0.2])
    H = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            H[i, j] = (
                problem.loss_at(c + ei + ej) - problem.loss_at(c + ei - ej)
                - problem.loss_at(c - ei + ej) + problem.loss_at(c - ei - ej)
            ) / (4 * h * h)
    assert rel(s.lambda_max, np.linalg.eigvalsh(H)[-1]) < 1e-6
    assert rel(hessian_lambda_max(X), s.lambda_max) < 1e-15


def test_full_batch_diverges_just_above_two_over_lambda_max(linear):
    X, y = linear
    model = engine.MLP([1, 1], seed=0)
    s = exact_surface(model, "mse", X, y)
    critical = 2.0 / s.lambda_max

    below = list(engine.train(X, y, model=model, loss="mse", lr=0.95 * critical,
                              batch_size=None, epochs=600))
    assert below[-1].status == "completed"
    assert rel(below[-1].loss, s.minimum_loss) < 1e-8

    above = list(engine.train(X, y, model=model, loss="mse", lr=1.05 * critical,
                              batch_size=None, epochs=600))
    assert above[-1].status == "diverged"
    assert len(above) < 600


def test_exact_surface_on_a_logistic_model_and_coinciding_points(moons):
    # One feature, sigmoid output: a two-parameter model the MSE shortcut does not cover.
    X, y = moons.X[:, :1], moons.y
    model = engine.MLP([1, 1], output="sigmoid", seed=0)
    start = np.array([0.2, -0.1])
    s = exact_surface(model, "binary_crossentropy", X, y, grid=21, start=start)
    # Only the start: the ranges fall back to the minimum half-width 0.5 around it.
    np.testing.assert_allclose([s.x[0], s.x[-1]], [-0.3, 0.7])
    np.testing.assert_allclose([s.y[0], s.y[-1]], [-0.6, 0.4])
    assert s.lambda_max is None
    problem = Problem(model, "binary_crossentropy", X, y)
    i, j = 7, 13
    assert rel(s.z[i, j], problem.loss_at(np.array([s.x[j], s.y[i]]))) < 1e-9
    # minimum = the lowest grid point
    k = np.unravel_index(np.argmin(s.z), s.z.shape)
    assert s.minimum == (s.x[k[1]], s.y[k[0]]) and s.minimum_loss == s.z[k]


def test_exact_surface_honours_given_ranges(linear):
    X, y = linear
    s = exact_surface(engine.MLP([1, 1]), "mse", X, y, grid=5, ranges=((-1, 3), (0, 2)))
    np.testing.assert_allclose(s.x, [-1, 0, 1, 2, 3])
    np.testing.assert_allclose(s.y, [0, 0.5, 1, 1.5, 2])


def test_batch_surface_on_the_same_grid(linear):
    X, y = linear
    model = engine.MLP([1, 1], seed=0)
    s = exact_surface(model, "mse", X, y, grid=21)
    batch = np.arange(8, 40)
    z = surface_values(model, "mse", X[batch], y[batch], s.x, s.y)
    problem = Problem(model, "mse", X, y)
    assert z.shape == (21, 21)
    for i, j in [(0, 0), (3, 17), (20, 5)]:
        assert rel(z[i, j], problem.loss_at(np.array([s.x[j], s.y[i]]), batch)) < 1e-9


def test_one_dimensional_regression_targets_are_accepted(linear):
    X, y = linear
    a = exact_surface(engine.MLP([1, 1]), "mae", X, y[:, 0], grid=7)
    b = exact_surface(engine.MLP([1, 1]), "mae", X, y, grid=7)
    np.testing.assert_array_equal(a.z, b.z)


def test_mse_values_stay_exact_near_a_perfect_fit():
    # noise 0: the loss at the minimum is ~0, the worst case for cancellation.
    data = engine.make_dataset("linear", n_samples=500, noise=0.0, seed=0)
    model = engine.MLP([1, 1])
    problem = Problem(model, "mse", data.X, data.y)
    for w, b in [(2.0 + 1e-4, -1.0), (2.0, -1.0 - 3e-5), (1.5, 0.5)]:
        z = surface_values(model, "mse", data.X, data.y, [w], [b])[0, 0]
        assert rel(z, problem.loss_at(np.array([w, b]))) < 1e-9


# -- bad inputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("grid", [2, 302, 51.0, True, "51", None])
def test_bad_grid_sizes(linear, moons, grid):
    X, y = linear
    with pytest.raises(ValueError, match="grid must be an integer in"):
        exact_surface(engine.MLP([1, 1]), "mse", X, y, grid=grid)
    with pytest.raises(ValueError, match="grid must be an integer in"):
        projected_surface(moons_model(), "binary_crossentropy", moons.X, moons.y, grid=grid)


def test_bad_exact_inputs(linear, moons):
    X, y = linear
    with pytest.raises(ValueError, match="exactly two parameters"):
        exact_surface(engine.MLP([1, 2, 1]), "mse", X, y)
    with pytest.raises(ValueError, match="does not fit"):
        exact_surface(engine.MLP([1, 1], output="sigmoid"), "mse", X, y)
    with pytest.raises(ValueError, match="does not fit"):
        exact_surface(engine.MLP([1, 1]), "binary_crossentropy", moons.X[:, :1], moons.y)
    with pytest.raises(ValueError, match="features"):
        exact_surface(engine.MLP([1, 1]), "mse", moons.X, y[:300])
    with pytest.raises(ValueError, match="unknown loss"):
        exact_surface(engine.MLP([1, 1]), "hinge", X, y)
    with pytest.raises(ValueError, match="start must have shape"):
        exact_surface(engine.MLP([1, 1]), "mse", X, y, start=np.zeros(3))
    with pytest.raises(ValueError, match="ranges"):
        exact_surface(engine.MLP([1, 1]), "mse", X, y, ranges=((1, 0), (0, 1)))
    with pytest.raises(ValueError, match="ranges"):
        exact_surface(engine.MLP([1, 1]), "mse", X, y, ranges=(0, 1))
    with pytest.raises(ValueError, match="path 'run'"):
        exact_surface(engine.MLP([1, 1]), "mse", X, y, paths={"run": np.zeros((4, 3))})
    with pytest.raises(ValueError, match="not finite"):
        exact_surface(engine.MLP([1, 1]), "mse", X, y, paths={"run": np.full((2, 2), np.nan)})
    with pytest.raises(ValueError, match="y must have shape"):
        exact_surface(engine.MLP([1, 1]), "mse", X, np.c_[y, y])
    with pytest.raises(ValueError, match="0 and 1"):
        exact_surface(engine.MLP([1, 1], output="sigmoid"), "binary_crossentropy", X, y)
    with pytest.raises(ValueError, match="exactly two parameters"):
        surface_values(engine.MLP([1, 2, 1]), "mse", X, y, [0.0], [0.0])
    with pytest.raises(ValueError, match="X must have shape"):
        hessian_lambda_max(np.zeros((3, 2)))


def test_public_names():
    assert engine.Surface is Surface
    assert engine.exact_surface is exact_surface
    assert engine.projected_surface is projected_surface
    assert engine.surface is surface


def test_an_mae_surface_frames_its_own_minimum_past_an_outlier():
    # The lesson's step 2b: least squares follows the outlier a long way, MAE hardly at all.
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 12)
    t = 2 * x + 0.3 + rng.normal(0, 0.05, 12)
    t[3] += 6.0
    X, T = x[:, None], t[:, None]
    w, b = np.meshgrid(np.linspace(0, 4, 801), np.linspace(-1, 2, 601))
    z = np.mean(np.abs(w[..., None] * x + b[..., None] - t), axis=-1)
    i = np.unravel_index(z.argmin(), z.shape)
    best = least_absolute(X, T)
    assert np.allclose(best, [w[i], b[i]], atol=0.01)  # the fine grid's lowest point
    assert abs(least_squares(X, T)[0] - best[0]) > 0.5  # where the old view was framed
    s = exact_surface(engine.MLP([1, 1], seed=0), "mae", X, t, grid=21)
    assert s.x[0] < best[0] < s.x[-1] and s.y[0] < best[1] < s.y[-1]
    assert s.x[0] < s.minimum[0] < s.x[-1]  # its lowest grid point is no edge

"""Tests for engine.surface: exact and projected loss surfaces, checked against independent sums.

The reference values come from `Problem.loss_at` (the engine's own forward pass and loss, one
parameter vector at a time), `np.linalg.lstsq`, finite differences and real training runs, never
from the formulas the module uses.
"""

import json
import tracemalloc

import numpy as np
import pytest

import engine
from engine import surface
from engine.descent import Problem
from engine.surface import (
    Surface,
    exact_surface,
    hessian_lambda_max,
    projected_surface,
    surface_values,
)


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.fixture(scope="module")
def linear():
    """Linear regression data with x shifted off zero, so the Hessian is not diagonal."""
    data = engine.make_dataset("linear", n_samples=400, noise=0.3, seed=1)
    return data.X + 0.7, data.y


@pytest.fixture(scope="module")
def moons():
    return engine.make_dataset("moons", n_samples=300, seed=2)


def moons_model() -> engine.MLP:
    return engine.MLP([2, 8, 1], activation="tanh", output="sigmoid", seed=3)


def train_params(X, y, model, loss, **kw) -> tuple[np.ndarray, list]:
    steps = list(engine.train(X, y, model=model, loss=loss, **kw))
    return np.vstack([model.get_params()] + [s.params for s in steps]), steps


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


# -- projected surfaces ----------------------------------------------------------------------
def test_random_slice_values_match_the_loss_at_plane_points(moons):
    model = moons_model()
    s = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=21, seed=5)
    problem = Problem(model, "binary_crossentropy", moons.X, moons.y)
    center = model.get_params()
    np.testing.assert_array_equal(s.center, center)
    assert s.kind == "projected" and s.labels == ("direction 1", "direction 2")
    assert s.method == "random filter-normalised directions"
    np.testing.assert_allclose([s.x[0], s.x[-1], s.y[0], s.y[-1]], [-1, 1, -1, 1])
    at_center = surface_values(model, "binary_crossentropy", moons.X, moons.y, [0.0], [0.0], s)
    assert rel(at_center[0, 0], problem.loss_at(center)) < 1e-12
    assert rel(s.z[10, 10], problem.loss_at(center)) < 1e-9  # x[10] = y[10] = 0
    d1, d2 = s.directions
    rng = np.random.default_rng(0)
    for i, j in rng.integers(0, 21, size=(6, 2)):
        theta = center + s.x[j] * d1 + s.y[i] * d2
        assert rel(s.z[i, j], problem.loss_at(theta)) < 1e-9
    k = np.unravel_index(np.argmin(s.z), s.z.shape)
    assert s.minimum == (s.x[k[1]], s.y[k[0]]) and s.minimum_loss == s.z[k]
    assert s.lambda_max is None and s.paths == {}
    # One batch's surface on the same plane and grid.
    batch = np.arange(0, 300, 7)
    zb = surface_values(model, "binary_crossentropy", moons.X[batch], moons.y[batch], s.x, s.y,
                        surface=s)
    theta = center + s.x[4] * d1 + s.y[17] * d2
    assert zb.shape == (21, 21) and rel(zb[17, 4], problem.loss_at(theta, batch)) < 1e-9
    assert s.residual == {"per_path": {}, "mean": 0.0, "max": 0.0}


def test_directions_are_filter_normalised(moons):
    model = moons_model()
    trained = train_params(moons.X, moons.y, model, "binary_crossentropy", lr=0.5,
                           batch_size=32, epochs=2)[0][-1]  # biases no longer zero
    s = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=5,
                          center=trained)
    center_layers = model.unflatten(trained)
    for d in s.directions:
        for (dW, db), (cW, _) in zip(model.unflatten(d), center_layers, strict=True):
            np.testing.assert_allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(cW, axis=0),
                                       rtol=1e-12)
            np.testing.assert_array_equal(db, 0.0)
    assert not np.allclose(s.directions[0], s.directions[1])


def test_projection_of_points_in_and_off_the_plane(moons):
    model = moons_model()
    s = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=5, seed=1)
    c, (d1, d2) = s.center, s.directions
    ab = np.array([[0.0, 0.0], [0.3, -0.7], [-1.2, 0.4], [2.0, 2.0]])
    in_plane = c + ab[:, :1] * d1 + ab[:, 1:] * d2
    xy, share = s.project(in_plane)
    np.testing.assert_allclose(xy, ab, atol=1e-12)
    assert share.shape == (4,) and np.all(share < 1e-10) and share[0] == 0.0

    # Off the plane: add a part orthogonal to both directions.
    rng = np.random.default_rng(9)
    v = rng.standard_normal(model.n_params)
    q, _ = np.linalg.qr(np.column_stack([d1, d2]))
    v -= q @ (q.T @ v)
    point = c + 0.3 * d1 - 0.7 * d2 + 0.5 * v
    xy1, share1 = s.project(point)
    np.testing.assert_allclose(xy1, [0.3, -0.7], atol=1e-12)
    expected = np.linalg.norm(0.5 * v) / np.linalg.norm(point - c)
    assert 0.0 < share1 <= 1.0 and rel(share1, expected) < 1e-9
    assert rel(s.project(c + v)[1], 1.0) < 1e-9  # all of it misses the plane

    paths = {"in": in_plane, "off": np.vstack([in_plane, point])}
    s2 = projected_surface(model, "binary_crossentropy", moons.X, moons.y, paths=paths, grid=5,
                           seed=1)
    np.testing.assert_allclose(s2.paths["in"], ab, atol=1e-12)
    assert s2.residual["per_path"]["off"].shape == (5,)
    assert rel(s2.residual["max"], expected) < 1e-9
    assert 0.0 < s2.residual["mean"] < s2.residual["max"]


def test_pca_plane_of_real_runs(moons):
    model = moons_model()
    X, y, loss = moons.X, moons.y, "binary_crossentropy"
    full, _ = train_params(X, y, model, loss, lr=0.5, batch_size=None, epochs=40)
    mini, _ = train_params(X, y, model, loss, lr=0.5, batch_size=16, epochs=2, seed=4)
    paths = {"Full batch": full, "Mini-batch": mini}
    s = projected_surface(model, loss, X, y, paths=paths, grid=15, method="pca")
    assert s.method == "PCA of the paths"
    np.testing.assert_array_equal(s.center, full[-1])  # the first path's final point
    np.testing.assert_allclose(s.directions @ s.directions.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(s.paths["Full batch"][-1], [0.0, 0.0], atol=1e-12)
    assert np.all(s.paths["Full batch"][0] <= 0)  # signs: the first path starts at a, b <= 0
    assert s.explained[0] >= s.explained[1] > 0 and sum(s.explained) <= 1 + 1e-12

    # Residuals from the orthonormal directions, worked out here independently.
    every = []
    for name, p in paths.items():
        delta = p - s.center
        miss = np.linalg.norm(delta - (delta @ s.directions.T) @ s.directions, axis=1)
        dist = np.linalg.norm(delta, axis=1)
        expected = np.where(dist > 0, miss / np.where(dist > 0, dist, 1), 0.0)
        np.testing.assert_allclose(s.residual["per_path"][name], expected, atol=1e-9)
        np.testing.assert_allclose(s.paths[name], delta @ s.directions.T, atol=1e-10)
        every.append(expected)
    every = np.concatenate(every)
    assert np.all((every >= 0) & (every <= 1))
    assert rel(s.residual["mean"], every.mean()) < 1e-9
    assert s.residual["mean"] <= s.residual["max"]
    for xy in s.paths.values():  # every projected point is inside the grid
        assert np.all((s.x[0] < xy[:, 0]) & (xy[:, 0] < s.x[-1]))
        assert np.all((s.y[0] < xy[:, 1]) & (xy[:, 1] < s.y[-1]))
    problem = Problem(model, loss, X, y)
    theta = s.center + s.x[3] * s.directions[0] + s.y[11] * s.directions[1]
    assert rel(s.z[11, 3], problem.loss_at(theta)) < 1e-9
    json.dumps(s.to_dict())  # plain data for the browser


def test_pca_with_a_straight_path_completes_the_plane(moons):
    model = moons_model()
    c = model.get_params()
    # The line's direction is the first draw of seed 0, the very draw the fallback makes first:
    # it must notice the draw is parallel to d1 and draw again.
    line = c + np.linspace(0, 1, 5)[:, None] * np.random.default_rng(0).standard_normal(c.size)
    s = projected_surface(model, "binary_crossentropy", moons.X, moons.y,
                          paths={"line": line[::-1]}, grid=5, method="pca")
    assert s.explained[1] == 0.0
    np.testing.assert_allclose(s.directions @ s.directions.T, np.eye(2), atol=1e-12)
    assert s.residual["max"] < 1e-10


def test_projected_surfaces_are_deterministic_by_seed(moons):
    model = moons_model()
    a = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=9, seed=7)
    b = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=9, seed=7)
    c = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=9, seed=8)
    np.testing.assert_array_equal(a.directions, b.directions)
    np.testing.assert_array_equal(a.z, b.z)
    assert not np.allclose(a.directions, c.directions)


def test_projected_slice_memory_stays_small():
    data = engine.make_dataset("moons", n_samples=1000, seed=0)
    model = engine.MLP([2, 8, 8, 1], activation="tanh", output="sigmoid", seed=0)
    tracemalloc.start()
    try:
        projected_surface(model, "binary_crossentropy", data.X, data.y, grid=51, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_multiclass_slice(moons):
    data = engine.make_dataset("multiblobs", n_samples=200, seed=0, n_classes=3)
    model = engine.MLP([2, 5, 3], activation="relu", output="softmax", seed=1)
    for loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        s = projected_surface(model, loss, data.X, data.y, grid=7, span=2.0)
        problem = Problem(model, loss, data.X, data.y)
        theta = s.center + s.x[1] * s.directions[0] + s.y[5] * s.directions[1]
        assert rel(s.z[5, 1], problem.loss_at(theta)) < 1e-9
        assert s.x[-1] == 2.0


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


def test_bad_projected_inputs(moons):
    X, y, loss = moons.X, moons.y, "binary_crossentropy"
    model = moons_model()
    with pytest.raises(ValueError, match="unknown method"):
        projected_surface(model, loss, X, y, method="hessian")
    with pytest.raises(ValueError, match="seed"):
        projected_surface(model, loss, X, y, seed=-1)
    for span in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="span"):
            projected_surface(model, loss, X, y, span=span)
    with pytest.raises(ValueError, match="center must have shape"):
        projected_surface(model, loss, X, y, center=np.zeros(3))
    with pytest.raises(ValueError, match="needs paths"):
        projected_surface(model, loss, X, y, method="pca")
    with pytest.raises(ValueError, match="never leave"):
        still = np.tile(model.get_params(), (3, 1))
        projected_surface(model, loss, X, y, paths={"still": still}, method="pca")
    with pytest.raises(ValueError, match="paths must map"):
        projected_surface(model, loss, X, y, paths=[np.zeros((2, model.n_params))])
    with pytest.raises(ValueError, match="degenerate"):
        projected_surface(model, loss, X, y, center=np.zeros(model.n_params))
    with pytest.raises(ValueError, match="does not fit"):
        projected_surface(engine.MLP([2, 8, 1]), loss, X, y)
    s = projected_surface(model, loss, X, y, grid=3)
    with pytest.raises(ValueError, match="lives in"):
        surface_values(engine.MLP([2, 4, 1], output="sigmoid"), loss, X, y, [0.0], [0.0], s)
    with pytest.raises(ValueError, match="params must have shape"):
        s.project(np.zeros(5))


def test_public_names():
    assert engine.Surface is Surface
    assert engine.exact_surface is exact_surface
    assert engine.projected_surface is projected_surface
    assert engine.surface is surface

"""Tests for engine.projection: projected loss surfaces and the residual summary.

The reference values come from `Problem.loss_at`, `np.linalg.lstsq`, QR and real training runs,
never from the formulas the module uses.
"""

import json
import tracemalloc

import numpy as np
import pytest
from surfaces import moons_model, rel, train_params

import engine
from engine.problem import Problem
from engine.projection import Residuals, _principal_directions
from engine.surface import exact_surface, project_points, projected_surface, surface_values


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


def test_a_direction_on_the_plane_is_its_least_squares_coordinates(moons):
    """Gradients are drawn as arrows: (a, b) minimising ||v - a d1 - b d2||, no center involved."""
    s = projected_surface(moons_model(), "binary_crossentropy", moons.X, moons.y, grid=3, seed=4)
    d1, d2 = s.directions
    v = 0.8 * d1 - 2.5 * d2
    np.testing.assert_allclose(s.project_direction(v), [0.8, -2.5], atol=1e-12)
    off = np.random.default_rng(1).standard_normal(s.n_params)
    q, r = np.linalg.qr(s.directions.T)  # an independent least-squares solve
    np.testing.assert_allclose(s.project_direction(off), np.linalg.solve(r, q.T @ off),
                               atol=1e-12)
    exact = engine.exact_surface(engine.MLP([1, 1]), "mse", moons.X[:, :1], moons.X[:, 1])
    np.testing.assert_array_equal(exact.project_direction(np.array([0.5, -1.0])), [0.5, -1.0])


def test_residuals_summarise_the_points_so_far():
    tally = Residuals()
    assert tally.summary() is None  # nothing drawn yet
    tally.add(0.25)
    tally.extend([0.75, 0.5])
    assert tally.summary() == {"mean": 0.5, "max": 0.75}


# -- which minimum is worth marking ------------------------------------------------------------
def test_the_lowest_grid_point_is_marked_only_inside_the_grid(moons, linear):
    model = moons_model()
    # A slice a thousandth wide is nearly flat and tilted: its lowest point is on the edge, and
    # the loss goes on falling past it, so it is no minimum.
    s = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=11, span=1e-3)
    k = np.unravel_index(np.argmin(s.z), s.z.shape)
    assert s.minimum == (s.x[k[1]], s.y[k[0]])
    assert k[0] in (0, 10) or k[1] in (0, 10)
    assert s.marked_minimum is None
    # MAE on a line: no closed form, but the lowest grid point lies inside the view (the view
    # holds the least-squares fit, near which MAE's minimum lies): that one is marked.
    X, y = linear
    line = engine.MLP([1, 1], seed=0)
    s = exact_surface(line, "mae", X, y, grid=21)
    k = np.unravel_index(np.argmin(s.z), s.z.shape)
    assert 0 < k[0] < 20 and 0 < k[1] < 20
    assert s.lambda_max is None and s.marked_minimum == s.minimum == (s.x[k[1]], s.y[k[0]])
    # MSE: the least-squares minimum is marked wherever it lies.
    s = exact_surface(line, "mse", X, y, grid=21, ranges=((5.0, 6.0), (5.0, 6.0)))
    assert s.marked_minimum == s.minimum and not 5 < s.minimum[0] < 6


def test_the_pca_plane_holds_the_paths_and_a_random_slice_does_not(moons):
    model = moons_model()
    paths = {
        f"batch {b}": train_params(moons.X, moons.y, model, "binary_crossentropy", lr=0.5,
                                   batch_size=b, epochs=5, seed=1)[0][1:]
        for b in (8, 64)
    }
    start = model.get_params()
    pca = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=5,
                            paths=paths, method="pca", center=start)
    flat = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=5,
                             paths=paths, method="random", center=start)
    assert pca.residual["mean"] < 0.25 < 0.9 < flat.residual["mean"]
    # the paths fill the view: every point inside, spanning most of the first axis
    every = np.vstack(list(pca.paths.values()))
    assert np.all((pca.x[0] < every[:, 0]) & (every[:, 0] < pca.x[-1]))
    assert np.all((pca.y[0] < every[:, 1]) & (every[:, 1] < pca.y[-1]))
    assert np.ptp(np.append(every[:, 0], 0.0)) > 0.6 * (pca.x[-1] - pca.x[0])


@pytest.mark.parametrize("k", [3, 40, 400])  # fewer points than parameters, and more
def test_pca_directions_are_the_svds_leading_right_singular_vectors(k):
    rng = np.random.default_rng(k)
    offsets = np.cumsum(rng.standard_normal((k, 97)), axis=0)  # a wandering path's offsets
    directions, explained = _principal_directions(offsets, offsets[0], np.random.default_rng(0))
    _, s, vt = np.linalg.svd(offsets, full_matrices=False)
    for d, v in zip(directions, vt[:2], strict=True):
        np.testing.assert_allclose(abs(d @ v), 1.0, atol=1e-9)  # the same line, either sign
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(explained, s[:2] ** 2 / np.sum(s * s), rtol=1e-9)


def test_one_vector_projects_as_the_stack_does(moons):
    model = moons_model()
    s = projected_surface(model, "binary_crossentropy", moons.X, moons.y, grid=5, seed=3)
    rng = np.random.default_rng(5)
    for scale in (1e-6, 1e-2, 1.0, 10.0):
        theta = s.center + scale * rng.standard_normal(s.center.size)
        xy, share = s.project(theta)
        stack_xy, stack_share = project_points(theta[None], s.center, s.directions)
        np.testing.assert_array_equal(xy, stack_xy[0])  # the coordinates, bit for bit
        assert rel(share, stack_share[0]) < 1e-12
    assert s.project(s.center) == (pytest.approx([0.0, 0.0]), 0.0)
    with pytest.raises(ValueError, match="not finite"):
        s.project(np.full(s.center.size, np.nan))

"""Tests for engine.descent: the training loop, its Steps, stopping, comparisons, validation.

Most checks use the simplest model, MLP([1, 1]) = w x + b with MSE, whose loss and gradient are
written out below in plain NumPy, independently of the engine.
"""

import dataclasses
import math
import re

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

import engine
from engine.descent import DIVERGENCE_FACTOR, STATUSES, RunSpec
from engine.losses import get_loss
from engine.model import MLP

# --------------------------------------------------------------------------- helpers


def line_data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = 3x - 1 plus a little noise; X (n, 1), y (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, 1))
    y = 3.0 * X - 1.0 + 0.3 * rng.normal(size=(n, 1))
    return X, y


def line_loss(theta, X, y) -> float:
    """MSE of w x + b: mean((w x + b - y)^2)."""
    w, b = theta
    return float(np.mean((w * X[:, 0] + b - y[:, 0]) ** 2))


def line_grad(theta, X, y) -> np.ndarray:
    """d/dw, d/db of line_loss: mean(2 r x), mean(2 r) with r = w x + b - y."""
    w, b = theta
    r = w * X[:, 0] + b - y[:, 0]
    return np.array([np.mean(2 * r * X[:, 0]), np.mean(2 * r)])


def run(X, y, model=None, **kwargs) -> list[engine.Step]:
    """Every Step of a run (defaults: w x + b, MSE, lr 0.1, full batch, 5 epochs, seed 0)."""
    args = {"loss": "mse", "lr": 0.1, "batch_size": None, "epochs": 5, "seed": 0}
    args.update(kwargs)
    return list(engine.train(X, y, model=model or MLP([1, 1]), **args))


def assert_finite(step: engine.Step) -> None:
    """No float field and no array of the Step is NaN or infinite (None is allowed)."""
    for field in dataclasses.fields(step):
        value = getattr(step, field.name)
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, np.ndarray):
            assert np.all(np.isfinite(value)), f"{field.name} = {value}"
        else:
            assert math.isfinite(value), f"{field.name} = {value}"


def assert_status_sequence(steps: list[engine.Step], last: str) -> None:
    assert [s.status for s in steps[:-1]] == ["running"] * (len(steps) - 1)
    assert steps[-1].status == last


# Plain NumPy forward for the general MLP (layout: W (n_in, n_out) row-major then b, per layer).
HIDDEN = {"tanh": np.tanh}
OUT = {
    "linear": lambda z: z,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "softmax": lambda z: (
        np.exp(z - z.max(1, keepdims=True))
        / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
    ),
}


def reference_predict(theta, X, sizes, activation, output):
    a, offset = X, 0
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    for i, (n_in, n_out) in enumerate(pairs):
        W = theta[offset : offset + n_in * n_out].reshape(n_in, n_out)
        offset += n_in * n_out
        z = a @ W + theta[offset : offset + n_out]
        offset += n_out
        a = OUT[output](z) if i == len(pairs) - 1 else HIDDEN[activation](z)
    return a


# --------------------------------------------------------------------------- iterations and epochs


def test_source_example_1000_samples_batch_100_5_epochs_is_50_iterations():
    """The note: 1,000 samples, batch size 100, epochs=5 -> 10 iterations per epoch, 50 in all."""
    data = engine.make_dataset("linear", n_samples=1000, seed=0)
    steps = run(data.X, data.y, lr=0.1, batch_size=100, epochs=5)
    assert engine.iterations_per_epoch(1000, 100) == 10
    assert len(steps) == 50
    assert [s.iteration for s in steps] == list(range(1, 51))
    assert [s.epoch for s in steps] == [e for e in range(1, 6) for _ in range(10)]
    assert {s.batch_size for s in steps} == {100}
    assert_status_sequence(steps, "completed")


@pytest.mark.parametrize(
    ("n", "batch_size", "sizes"),
    [
        (10, 3, [3, 3, 3, 1]),  # ceil(10 / 3) = 4, the last batch smaller
        (7, 2, [2, 2, 2, 1]),
        (12, 4, [4, 4, 4]),
        (10, 1, [1] * 10),  # SGD: n iterations per epoch
        (10, None, [10]),  # full batch: one per epoch
        (10, 10, [10]),
        (10, 25, [10]),  # a batch size >= n is full batch
    ],
)
def test_iterations_per_epoch_and_batch_sizes(n, batch_size, sizes):
    X, y = line_data(n)
    epochs = 3
    steps = run(X, y, batch_size=batch_size, epochs=epochs)
    assert engine.iterations_per_epoch(n, batch_size) == len(sizes)
    assert len(steps) == epochs * len(sizes)
    assert [s.batch_size for s in steps] == sizes * epochs
    assert [s.batch.size for s in steps] == sizes * epochs
    assert [s.epoch for s in steps] == [e for e in range(1, epochs + 1) for _ in sizes]
    assert [s.iteration for s in steps] == list(range(1, len(steps) + 1))
    assert_status_sequence(steps, "completed")


@pytest.mark.parametrize("batch_size", [1, 3, 5])
def test_every_epoch_is_a_fresh_shuffle_of_all_samples(batch_size):
    n, epochs = 12, 4
    X, y = line_data(n)
    steps = run(X, y, batch_size=batch_size, epochs=epochs)
    orders = []
    for epoch in range(1, epochs + 1):
        order = np.concatenate([s.batch for s in steps if s.epoch == epoch])
        np.testing.assert_array_equal(np.sort(order), np.arange(n))  # each sample exactly once
        orders.append(tuple(order))
    assert len(set(orders)) == epochs  # a different order every epoch


def test_full_batch_uses_every_sample_every_iteration():
    X, y = line_data(9)
    for step in run(X, y, batch_size=None, epochs=3):
        np.testing.assert_array_equal(np.sort(step.batch), np.arange(9))


# --------------------------------------------------------------------------- what a Step holds


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_sgd_update_is_w_minus_lr_times_gradient(batch_size):
    X, y = line_data(10)
    lr = 0.07
    steps = run(X, y, lr=lr, batch_size=batch_size, epochs=2)
    for step in steps:
        assert step.lr == lr
        np.testing.assert_array_equal(step.params, step.prev_params - lr * step.grad)
    for before, after in zip(steps, steps[1:], strict=False):
        np.testing.assert_array_equal(after.prev_params, before.params)


@pytest.mark.parametrize("batch_size", [1, 3, None])
def test_step_values_match_independent_formulas(batch_size):
    X, y = line_data(10)
    model = MLP([1, 1])
    model.set_params(np.array([0.4, 0.2]))
    steps = run(X, y, model=model, lr=0.05, batch_size=batch_size, epochs=2)
    np.testing.assert_array_equal(steps[0].prev_params, [0.4, 0.2])
    for step in steps:
        xb, yb = X[step.batch], y[step.batch]
        # grad: the batch-averaged gradient at the parameters before the update
        np.testing.assert_allclose(step.grad, line_grad(step.prev_params, xb, yb), rtol=1e-12)
        numeric = numerical_gradient(
            lambda th, xb=xb, yb=yb: line_loss(th, xb, yb), step.prev_params
        )
        assert relative_error(step.grad, numeric) < 1e-8
        assert step.grad_norm == pytest.approx(float(np.linalg.norm(step.grad)), rel=1e-14)
        # batch_loss: those samples, before the update; loss: all data, after it
        assert step.batch_loss == pytest.approx(line_loss(step.prev_params, xb, yb), rel=1e-12)
        assert step.loss == pytest.approx(line_loss(step.params, X, y), rel=1e-12)


MODEL_CASES = [
    ("linear", "mse", 2),
    ("linear", "mae", 2),
    ("sigmoid", "binary_crossentropy", 1),
    ("softmax", "categorical_crossentropy", 3),
    ("softmax", "sparse_categorical_crossentropy", 3),
]


@pytest.mark.parametrize(("output", "loss", "k"), MODEL_CASES)
def test_step_gradient_is_the_batch_gradient_for_every_pairing(output, loss, k):
    rng = np.random.default_rng(3)
    n = 12
    X = rng.normal(size=(n, 2))
    labels = np.arange(n) % k if k > 1 else np.arange(n) % 2
    if loss in ("mse", "mae"):
        y = rng.normal(size=(n, k))
    elif loss == "binary_crossentropy":
        y = labels[:, None].astype(np.float64)
    elif loss == "categorical_crossentropy":
        y = np.eye(k)[labels]
    else:
        y = labels
    sizes = [2, 4, k]
    model = MLP(sizes, activation="tanh", output=output, seed=1)
    lossf = get_loss(loss)

    def batch_loss(theta, idx):
        return lossf.value(y[idx], reference_predict(theta, X[idx], sizes, "tanh", output))

    steps = run(X, y, model=model, loss=loss, lr=0.3, batch_size=5, epochs=2)
    assert len(steps) == 6
    for step in steps:
        numeric = numerical_gradient(
            lambda th, idx=step.batch: batch_loss(th, idx), step.prev_params
        )
        assert relative_error(step.grad, numeric) < 1e-6
        assert step.batch_loss == pytest.approx(batch_loss(step.prev_params, step.batch), rel=1e-10)
        all_idx = np.arange(n)
        assert step.loss == pytest.approx(batch_loss(step.params, all_idx), rel=1e-10)


def test_params_are_independent_copies():
    X, y = line_data(10)
    steps = run(X, y, batch_size=2, epochs=1)
    snapshot = [s.params.copy() for s in steps]
    steps[0].params[:] = 123.0
    for step, saved in zip(steps[1:], snapshot[1:], strict=True):
        np.testing.assert_array_equal(step.params, saved)


# --------------------------------------------------------------------------- stopping


def test_completed_after_all_epochs():
    X, y = line_data(10)
    steps = run(X, y, batch_size=3, epochs=2)
    assert len(steps) == 8
    assert_status_sequence(steps, "completed")


def test_target_reached_as_soon_as_the_full_data_loss_is_low_enough():
    X, y = line_data(40)
    free = run(X, y, lr=0.1, epochs=30)
    target = free[6].loss  # reached at iteration 7 (the loss falls monotonically here)
    assert all(s.loss > target for s in free[:6])

    steps = run(X, y, lr=0.1, epochs=30, target_loss=target)
    assert len(steps) == 7
    assert_status_sequence(steps, "target_reached")
    assert steps[-1].loss <= target
    for a, b in zip(steps, free, strict=False):
        np.testing.assert_array_equal(a.params, b.params)


def exact_line(n: int = 4) -> tuple[np.ndarray, np.ndarray, MLP]:
    """Data exactly on y = 2x + 1 and the model already there: the loss is 0 and stays 0."""
    X = np.arange(n, dtype=np.float64)[:, None]
    y = 2.0 * X + 1.0
    model = MLP([1, 1])
    model.set_params(np.array([2.0, 1.0]))
    return X, y, model


@pytest.mark.parametrize(("batch_size", "per_epoch"), [(None, 1), (1, 4), (3, 2)])
def test_early_stopped_after_patience_epochs_without_improvement(batch_size, per_epoch):
    X, y, model = exact_line(4)
    steps = run(X, y, model=model, batch_size=batch_size, epochs=10, patience=3)
    assert {s.loss for s in steps} == {0.0}
    assert len(steps) == 3 * per_epoch  # stops at the end of the third stale epoch
    assert steps[-1].epoch == 3
    assert_status_sequence(steps, "early_stopped")


def test_improving_run_is_not_early_stopped():
    X, y = line_data(40)
    steps = run(X, y, lr=0.1, epochs=20, patience=1)
    losses = [s.loss for s in steps]
    assert losses == sorted(losses, reverse=True)
    assert len(steps) == 20
    assert_status_sequence(steps, "completed")


def test_diverges_when_the_loss_explodes():
    X, y = line_data(40)
    steps = run(X, y, lr=5.0, epochs=100)  # far beyond 2 / L for this quadratic
    initial = line_loss(MLP([1, 1]).get_params(), X, y)
    limit = DIVERGENCE_FACTOR * max(initial, 1.0)
    assert DIVERGENCE_FACTOR == 1e4
    assert len(steps) <= 5
    assert_status_sequence(steps, "diverged")
    assert all(s.loss <= limit for s in steps[:-1])
    assert steps[-1].loss > limit
    for step in steps:
        assert_finite(step)
        np.testing.assert_array_equal(step.params, step.prev_params - 5.0 * step.grad)


def test_diverges_without_nan_when_the_weights_overflow():
    X, y = line_data(40)
    model = MLP([1, 1])
    steps = run(X, y, model=model, lr=1e300, epochs=10)
    assert len(steps) == 1
    (step,) = steps
    assert step.status == "diverged"
    assert step.loss is None  # (1e300 x)^2 overflows
    np.testing.assert_array_equal(step.params, model.get_params())  # the last finite params
    np.testing.assert_array_equal(step.params, step.prev_params)
    assert_finite(step)


def _blobs(n=40):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n, 2))
    return X, (X[:, :1] > 0).astype(np.float64), np.arange(n) % 3


WILD_RUNS = {
    # name: (model, loss, lr, batch_size, update, must diverge)
    "line-lr5": (lambda: MLP([1, 1]), "mse", 5.0, None, "sgd", True),
    "line-lr1e300": (lambda: MLP([1, 1]), "mse", 1e300, None, "sgd", True),
    "line-mae-sgd": (lambda: MLP([1, 1]), "mae", 1e300, 1, "sgd", True),
    "tanh-hidden": (lambda: MLP([1, 8, 1]), "mse", 1e200, 4, "sgd", True),
    "relu-hidden": (lambda: MLP([1, 8, 1], activation="relu"), "mse", 1e6, 4, "sgd", True),
    "tanh-1e150": (lambda: MLP([1, 8, 8, 1]), "mse", 1e150, None, "sgd", True),
    "momentum": (lambda: MLP([1, 1]), "mse", 1e300, None, "momentum", True),
    "adam": (lambda: MLP([1, 1]), "mse", 1e300, None, "adam", True),
    "sigmoid-bce": (
        lambda: MLP([2, 1], output="sigmoid"),
        "binary_crossentropy",
        1e308,
        None,
        "sgd",
        False,
    ),
    "sigmoid-bce-hidden": (
        lambda: MLP([2, 4, 1], output="sigmoid"),
        "binary_crossentropy",
        1e308,
        4,
        "sgd",
        False,
    ),
    "softmax-sparse": (
        lambda: MLP([2, 5, 3], activation="relu", output="softmax"),
        "sparse_categorical_crossentropy",
        1e308,
        None,
        "sgd",
        False,
    ),
    "softmax-cce-adam": (
        lambda: MLP([2, 5, 3], output="softmax"),
        "categorical_crossentropy",
        1e308,
        8,
        "adam",
        False,
    ),
}


@pytest.mark.parametrize("name", list(WILD_RUNS))
def test_no_step_ever_carries_nan_or_inf(name):
    make_model, loss, lr, batch_size, update, must_diverge = WILD_RUNS[name]
    model = make_model()
    if model.layer_sizes[0] == 1:
        X, y = line_data(40)
    else:
        X, y_binary, labels = _blobs()
        y = y_binary if loss == "binary_crossentropy" else labels
        if loss == "categorical_crossentropy":
            y = np.eye(3)[labels]
    steps = run(
        X, y, model=model, loss=loss, lr=lr, batch_size=batch_size, epochs=10, update=update
    )  # never raises
    for step in steps:
        assert_finite(step)
    assert steps[-1].status in STATUSES and steps[-1].status != "running"
    assert all(s.status == "running" for s in steps[:-1])
    if must_diverge:
        assert steps[-1].status == "diverged"
        assert len(steps) <= 5


# --------------------------------------------------------------------------- the model and seeds


def test_the_model_passed_in_is_not_modified():
    X, y = line_data(20)
    model = MLP([1, 6, 1], activation="tanh", seed=3)
    before, grad_before = model.get_params(), model.grad.copy()
    steps = run(X, y, model=model, lr=0.2, batch_size=4, epochs=3)
    np.testing.assert_array_equal(model.get_params(), before)
    np.testing.assert_array_equal(model.grad, grad_before)
    np.testing.assert_array_equal(steps[0].prev_params, before)
    assert not np.array_equal(steps[-1].params, before)


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_same_seed_gives_bit_identical_trajectories(batch_size):
    X, y = line_data(20)
    model = MLP([1, 5, 1], activation="tanh", seed=2)
    a = run(X, y, model=model, batch_size=batch_size, epochs=3, seed=7)
    b = run(X, y, model=model, batch_size=batch_size, epochs=3, seed=7)
    assert len(a) == len(b)
    for s, t in zip(a, b, strict=True):
        np.testing.assert_array_equal(s.params, t.params)
        np.testing.assert_array_equal(s.grad, t.grad)
        np.testing.assert_array_equal(s.batch, t.batch)
        assert (s.loss, s.batch_loss, s.status) == (t.loss, t.batch_loss, t.status)


def test_different_seed_gives_a_different_sgd_path():
    X, y = line_data(20)
    a = run(X, y, batch_size=1, epochs=2, seed=1)
    b = run(X, y, batch_size=1, epochs=2, seed=2)
    np.testing.assert_array_equal(a[0].prev_params, b[0].prev_params)  # same start
    assert not np.array_equal(
        np.concatenate([s.batch for s in a]), np.concatenate([s.batch for s in b])
    )
    assert not np.array_equal(a[-1].params, b[-1].params)


# --------------------------------------------------------------------------- update rules


def test_update_rules_registry():
    assert set(engine.UPDATE_RULES) == {"sgd", "momentum", "adam"}


def test_momentum_by_hand():
    X, y = line_data(20)
    lr, mu = 0.05, 0.9
    steps = run(X, y, lr=lr, epochs=6, update="momentum")
    g0, g1 = steps[0].grad, steps[1].grad
    w0 = steps[0].prev_params
    # v1 = -lr g0, w1 = w0 + v1; v2 = mu v1 - lr g1, w2 = w1 + v2
    np.testing.assert_allclose(steps[0].params, w0 - lr * g0, rtol=1e-14)
    np.testing.assert_allclose(
        steps[1].params, w0 - lr * g0 + mu * (-lr * g0) - lr * g1, rtol=1e-13
    )
    v = np.zeros(2)
    for step in steps:
        np.testing.assert_allclose(step.grad, line_grad(step.prev_params, X, y), rtol=1e-12)
        v = mu * v - lr * step.grad
        np.testing.assert_allclose(step.params, step.prev_params + v, rtol=1e-13, atol=1e-15)


def test_adam_by_hand():
    X, y = line_data(20)
    lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
    steps = run(X, y, lr=lr, batch_size=4, epochs=3, update="adam")
    # First step: m_hat = g, v_hat = g^2, so w1 = w0 - lr g / (|g| + eps).
    g0 = steps[0].grad
    np.testing.assert_allclose(
        steps[0].params, steps[0].prev_params - lr * g0 / (np.abs(g0) + eps), rtol=1e-13
    )
    m = v = np.zeros(2)
    for t, step in enumerate(steps, start=1):
        xb, yb = X[step.batch], y[step.batch]
        np.testing.assert_allclose(step.grad, line_grad(step.prev_params, xb, yb), rtol=1e-12)
        g = step.grad
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        expected = step.prev_params - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(step.params, expected, rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------- compare / start_runs


def round_robin(lengths: dict[str, int]) -> list[str]:
    """The order compare should yield names in: one step per live run in turn."""
    left, order = dict(lengths), []
    while left:
        for name in list(left):
            order.append(name)
            left[name] -= 1
            if left[name] == 0:
                del left[name]
    return order


def test_default_runs():
    assert [(r.name, r.batch_size, r.lr, r.update) for r in engine.DEFAULT_RUNS] == [
        ("SGD", 1, None, "sgd"),
        ("Mini-batch", 32, None, "sgd"),
        ("Full batch", None, None, "sgd"),
    ]


def test_compare_interleaves_the_default_runs_round_robin():
    X, y = line_data(64)
    model = MLP([1, 1])
    tagged = list(engine.compare(X, y, model, "mse", lr=0.02, epochs=2, seed=3))
    # SGD: 64 per epoch, mini-batch 32: 2 per epoch, full batch: 1 per epoch.
    assert [name for name, _ in tagged] == round_robin(
        {"SGD": 128, "Mini-batch": 4, "Full batch": 2}
    )
    by_name = {
        name: [s for n, s in tagged if n == name] for name in ("SGD", "Mini-batch", "Full batch")
    }
    assert {s.batch_size for s in by_name["SGD"]} == {1}
    assert {s.batch_size for s in by_name["Mini-batch"]} == {32}
    assert {s.batch_size for s in by_name["Full batch"]} == {64}
    for steps in by_name.values():
        assert_status_sequence(steps, "completed")

    # Every run is exactly the run train would make alone, from the same start on the same data.
    for name, batch_size in (("SGD", 1), ("Mini-batch", 32), ("Full batch", None)):
        alone = run(X, y, model=model, lr=0.02, batch_size=batch_size, epochs=2, seed=3)
        assert len(alone) == len(by_name[name])
        for s, t in zip(by_name[name], alone, strict=True):
            np.testing.assert_array_equal(s.params, t.params)
            np.testing.assert_array_equal(s.batch, t.batch)


def test_all_runs_start_from_the_same_params():
    X, y = line_data(50)
    model = MLP([1, 4, 1], activation="tanh", seed=9)
    trainers = engine.start_runs(X, y, model, "mse", lr=0.05, epochs=1)
    assert list(trainers) == ["SGD", "Mini-batch", "Full batch"]
    firsts = {name: next(it) for name, it in trainers.items()}
    for step in firsts.values():
        np.testing.assert_array_equal(step.prev_params, model.get_params())
    # Same data too: each first batch loss is the loss of its samples at the shared start.
    for step in firsts.values():
        idx = step.batch
        expected = get_loss("mse").value(y[idx], model.predict(X[idx]))
        assert step.batch_loss == pytest.approx(expected, rel=1e-12)
    assert firsts["Full batch"].batch_size == 50


def test_repeats_share_the_start_and_full_batch_repeats_are_identical():
    """Repeats of a run: the same start and data, a new shuffle each; full batch has none."""
    X, y = line_data(30)
    model = MLP([1, 4, 1], activation="tanh", seed=3)
    runs = [RunSpec("SGD", 1), RunSpec("Mini-batch", 8), RunSpec("Full batch", None)]
    paths = [{name: list(it) for name, it in engine.start_runs(
        X, y, model, "mse", runs, lr=0.05, epochs=3, seed=11, repeat=r).items()}
        for r in range(4)]
    alone = {name: list(it) for name, it in engine.start_runs(
        X, y, model, "mse", runs, lr=0.05, epochs=3, seed=11).items()}
    for name in alone:  # repeat 0 is the run as it was before repeats
        for s, t in zip(paths[0][name], alone[name], strict=True):
            np.testing.assert_array_equal(s.params, t.params)
    for r in range(1, 4):
        full, full0 = paths[r]["Full batch"], paths[0]["Full batch"]
        assert len(full) == len(full0)
        for s, t in zip(full, full0, strict=True):
            np.testing.assert_array_equal(s.params, t.params)
            assert s.loss == t.loss
        for name in ("SGD", "Mini-batch"):
            first, first0 = paths[r][name][0], paths[0][name][0]
            np.testing.assert_array_equal(first.prev_params, first0.prev_params)
            np.testing.assert_array_equal(first.prev_params, model.get_params())
            # another shuffle: other batches, so another path from the first epoch on
            assert any(not np.array_equal(s.batch, t.batch)
                       for s, t in zip(paths[r][name], paths[0][name], strict=True))
            assert not np.array_equal(paths[r][name][-1].params, paths[0][name][-1].params)
    sgd_ends = {tuple(paths[r]["SGD"][-1].params) for r in range(4)}
    assert len(sgd_ends) == 4  # no two repeats alike


def test_repeat_seeds_are_the_seed_then_distinct():
    from engine.descent import repeat_seed
    assert repeat_seed(7, 0) == 7
    seeds = {repeat_seed(7, r) for r in range(10)}
    assert len(seeds) == 10 and all(0 <= s < 2**32 for s in seeds)
    assert repeat_seed(7, 3) == repeat_seed(7, 3)  # reproducible


def test_per_run_overrides():
    X, y = line_data(24)
    runs = [
        RunSpec("slow", 6, lr=0.01),
        RunSpec("fast", 6, lr=0.2),
        RunSpec("default", 6),
        RunSpec("heavy", None, update="momentum"),
        RunSpec("adaptive", 6, lr=0.03, update="adam"),
    ]
    tagged = list(engine.compare(X, y, MLP([1, 1]), "mse", runs=runs, lr=0.05, epochs=3))
    steps = {r.name: [s for n, s in tagged if n == r.name] for r in runs}
    assert {s.lr for s in steps["slow"]} == {0.01}
    assert {s.lr for s in steps["fast"]} == {0.2}
    assert {s.lr for s in steps["default"]} == {0.05}
    for name in ("slow", "fast", "default"):
        for s in steps[name]:
            np.testing.assert_array_equal(s.params, s.prev_params - s.lr * s.grad)
    # momentum: w2 = w1 - lr g1 + mu (w1 - w0)
    h = steps["heavy"]
    np.testing.assert_allclose(
        h[1].params,
        h[1].prev_params - 0.05 * h[1].grad + 0.9 * (h[0].params - h[0].prev_params),
        rtol=1e-13,
    )
    a = steps["adaptive"][0]
    np.testing.assert_allclose(
        a.params, a.prev_params - 0.03 * a.grad / (np.abs(a.grad) + 1e-8), rtol=1e-13
    )


def test_a_diverging_run_does_not_stop_the_others():
    X, y = line_data(30)
    runs = [RunSpec("wild", None, lr=5.0), RunSpec("calm", None, lr=0.05)]
    tagged = list(engine.compare(X, y, MLP([1, 1]), "mse", runs=runs, epochs=20))
    wild = [s for n, s in tagged if n == "wild"]
    calm = [s for n, s in tagged if n == "calm"]
    assert wild[-1].status == "diverged"
    assert len(calm) == 20 and calm[-1].status == "completed"
    for _, step in tagged:
        assert_finite(step)


def test_duplicate_run_names_are_rejected():
    X, y = line_data(10)
    runs = [RunSpec("A", 1), RunSpec("B", 2), RunSpec("A", None)]
    with pytest.raises(ValueError, match="unique.*A"):
        engine.start_runs(X, y, MLP([1, 1]), "mse", runs=runs)
    with pytest.raises(ValueError, match="unique.*A"):
        next(engine.compare(X, y, MLP([1, 1]), "mse", runs=runs))


def test_no_runs_is_rejected():
    X, y = line_data(10)
    with pytest.raises(ValueError, match="at least one run"):
        engine.start_runs(X, y, MLP([1, 1]), "mse", runs=[])


@pytest.mark.parametrize(
    ("spec", "param"),
    [
        (RunSpec("x", 1, lr=0.0), "lr"),
        (RunSpec("x", 0), "batch_size"),
        (RunSpec("x", 1, update="rmsprop"), "update"),
    ],
)
def test_start_runs_validates_every_run(spec, param):
    X, y = line_data(10)
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        engine.start_runs(X, y, MLP([1, 1]), "mse", runs=[RunSpec("ok", 1), spec])


# --------------------------------------------------------------------------- validation

_X, _Y = line_data(10)

BAD_ARGUMENTS = [
    ({"lr": 0}, "lr"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -0.1}, "lr"),
    ({"lr": float("nan")}, "lr"),
    ({"lr": float("inf")}, "lr"),
    ({"lr": True}, "lr"),
    ({"lr": "0.1"}, "lr"),
    ({"lr": None}, "lr"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": -1}, "epochs"),
    ({"epochs": 2.0}, "epochs"),
    ({"epochs": True}, "epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": -3}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
    ({"seed": -1}, "seed"),
    ({"seed": 0.5}, "seed"),
    ({"seed": None}, "seed"),
    ({"patience": 0}, "patience"),
    ({"target_loss": -1.0}, "target_loss"),
    ({"target_loss": float("nan")}, "target_loss"),
    ({"update": "nesterov"}, "update"),
    ({"update": None}, "update"),
    ({"loss": "hinge"}, "loss"),
    ({"X": _X[:9]}, "y"),  # 9 rows of X, 10 of y
    ({"y": _Y[:9]}, "y"),
    ({"X": np.hstack([_X, _X])}, "features"),  # 2 features for a 1-input model
    ({"X": _X[:, 0]}, "X"),
    ({"X": np.where(np.arange(10)[:, None] == 3, np.nan, _X)}, "X"),
]


@pytest.mark.parametrize(
    ("override", "param"),
    BAD_ARGUMENTS,
    ids=[f"{next(iter(o))}={next(iter(o.values()))!r}"[:40] for o, _ in BAD_ARGUMENTS],
)
def test_bad_arguments_raise_value_error_naming_the_parameter(override, param):
    args = {
        "X": _X,
        "y": _Y,
        "model": MLP([1, 1]),
        "loss": "mse",
        "lr": 0.1,
        "batch_size": 2,
        "epochs": 2,
        "seed": 0,
    }
    args.update(override)
    # Raised when train is called, before the first iteration is asked for.
    with pytest.raises(ValueError, match=rf"\b{re.escape(param)}\b"):
        engine.train(**args)


def test_valid_edge_arguments_are_accepted():
    steps = run(_X, _Y, lr=1, batch_size=np.int64(3), epochs=1, seed=0, patience=1, target_loss=0.0)
    assert len(steps) == 4


# --------------------------------------------------------------------------- targets

@pytest.mark.parametrize(
    ("loss", "output"), [("mse", "linear"), ("mae", "linear"), ("binary_crossentropy", "sigmoid")]
)
def test_targets_of_shape_n_for_one_output_are_handled(loss, output):
    """y of shape (n,) for a one-output model: either a ValueError about y when train is called,
    or training on the right loss. Today it dies on the first iteration with a matmul error (or
    silently broadcasts (n,) against (n, 1) into an (n, n) loss)."""
    X, y2 = line_data(10)
    if loss == "binary_crossentropy":
        y2 = (y2 > 0).astype(np.float64)
    model = MLP([1, 1], output=output)
    try:
        steps = engine.train(X, y2[:, 0], model=model, loss=loss, lr=0.1, epochs=1)
    except ValueError as error:
        assert re.search(r"\by\b|y_true", str(error))
        return
    first = next(steps)
    expected = get_loss(loss).value(y2, model.predict(X))
    assert first.batch_loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("loss", "output", "k", "y", "words"),
    [
        ("binary_crossentropy", "sigmoid", 1, np.array([[0.0], [1.0], [2.0], [1.0]]), "0 and 1"),
        ("binary_crossentropy", "sigmoid", 1, np.array([[0.0], [0.5], [1.0], [1.0]]), "0 and 1"),
        (
            "categorical_crossentropy",
            "softmax",
            3,
            np.array([[0.5, 0.5, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]),
            "one-hot",
        ),
        (
            "categorical_crossentropy",
            "softmax",
            3,
            np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]),
            "one-hot",
        ),
        ("mse", "linear", 1, np.array([[0.0], [np.nan], [1.0], [2.0]]), "finite"),
        ("mse", "linear", 1, np.array([[0.0], [np.inf], [1.0], [2.0]]), "finite"),
    ],
)
def test_train_rejects_invalid_targets(loss, output, k, y, words):
    X = np.arange(4.0)[:, None]
    with pytest.raises(ValueError, match=words):
        engine.train(X, y, model=MLP([1, k], output=output), loss=loss, lr=0.1, epochs=1)


@pytest.mark.parametrize(
    ("loss", "y", "words"),
    [
        ("sparse_categorical_crossentropy", np.array([0, 1, 3, 1]), r"\[0, 2\]"),
        ("sparse_categorical_crossentropy", np.array([0, 1, -1, 1]), r"\[0, 2\]"),
        ("sparse_categorical_crossentropy", np.array([0, 1, 1.5, 1]), "whole numbers"),
        ("categorical_crossentropy", np.array([0, 1, 3, 1]), r"\[0, 2\]"),
    ],
)
def test_train_rejects_labels_out_of_range(loss, y, words):
    X = np.arange(4.0)[:, None]
    with pytest.raises(ValueError, match=words):
        engine.train(X, y, model=MLP([1, 3], output="softmax"), loss=loss, lr=0.1, epochs=1)


@pytest.mark.parametrize("labels_shape", [(12,), (12, 1)])
def test_sparse_labels_of_shape_n_or_n_1_train_alike(labels_shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    labels = (np.arange(12) % 3).reshape(labels_shape)
    model = MLP([2, 3], output="softmax")
    steps = run(
        X, labels, model=model, loss="sparse_categorical_crossentropy", batch_size=4, epochs=2
    )
    reference = run(
        X,
        np.arange(12) % 3,
        model=model,
        loss="sparse_categorical_crossentropy",
        batch_size=4,
        epochs=2,
    )
    for s, t in zip(steps, reference, strict=True):
        np.testing.assert_array_equal(s.params, t.params)

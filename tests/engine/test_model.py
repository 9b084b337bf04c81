"""Tests for engine.model: parameter layout, initialisation, gradients of every pairing."""

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

import engine
from engine.layers import ACTIVATIONS, OUTPUTS, SigmoidWithLoss, SoftmaxWithLoss
from engine.losses import LOSSES, get_loss
from engine.model import MLP
from engine.problem import check_pairing

# The valid (output, loss, output units) pairings.
PAIRINGS = [
    ("linear", "mse", 2),
    ("linear", "mae", 2),
    ("sigmoid", "binary_crossentropy", 1),
    ("softmax", "categorical_crossentropy", 3),
    ("softmax", "sparse_categorical_crossentropy", 3),
]
VALID = {(output, loss) for output, loss, _ in PAIRINGS}
INVALID = [(o, loss) for o in OUTPUTS for loss in LOSSES if (o, loss) not in VALID]

# Plain NumPy formulas, written independently of engine.layers.
HIDDEN = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "linear": lambda z: z,
}


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


OUT = {"linear": lambda z: z, "sigmoid": HIDDEN["sigmoid"], "softmax": softmax}


def reference_forward(theta, X, sizes, activation, output):
    """Forward pass from the documented layout; returns (output, every pre-activation z)."""
    a, zs, offset = np.asarray(X, dtype=np.float64), [], 0
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    for i, (n_in, n_out) in enumerate(pairs):
        W = theta[offset : offset + n_in * n_out].reshape(n_in, n_out)  # row-major
        offset += n_in * n_out
        b = theta[offset : offset + n_out]
        offset += n_out
        z = a @ W + b
        zs.append(z)
        a = OUT[output](z) if i == len(pairs) - 1 else HIDDEN[activation](z)
    assert offset == theta.size
    return a, zs


def targets_for(loss: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """y as a dataset would give it for this loss."""
    labels = np.arange(n) % max(k, 2)
    if loss in ("mse", "mae"):
        return rng.normal(size=(n, k))
    if loss == "binary_crossentropy":
        return labels[:, None].astype(np.float64)
    if loss == "categorical_crossentropy":
        return np.eye(k)[labels]
    return labels


def problem_away_from_kinks(activation, output, loss, k, seed=0, margin=1e-3):
    """(model, X, y) with every pre-activation and every MAE residual at least `margin` from 0,
    and every probability well inside the clipping bounds; redraws until it holds."""
    sizes = [2, 4, 3, k]
    rng = np.random.default_rng(seed)
    for _ in range(100):
        model = MLP(sizes, activation=activation, output=output)
        theta = rng.normal(0.0, 0.7, size=model.n_params)
        X = rng.normal(size=(6, 2))
        y = targets_for(loss, 6, k, rng)
        out, zs = reference_forward(theta, X, sizes, activation, output)
        ok = all(np.min(np.abs(z)) > margin for z in zs[:-1])
        if loss == "mae":
            ok = ok and np.min(np.abs(out - y)) > margin
        if output != "linear":
            ok = ok and 1e-4 < out.min() and out.max() < 1 - 1e-4
        if ok:
            model.set_params(theta)
            return model, X, y
    raise AssertionError("no draw away from the kinks")


# --------------------------------------------------------------------------- the simplest model


def test_one_weight_one_bias():
    model = MLP([1, 1])
    assert model.n_params == 2
    assert model.get_params().shape == (2,)
    assert model.param_names() == ["w", "b"]
    model.set_params(np.array([2.5, -1.0]))
    # predict = w x + b = 2.5 x - 1
    np.testing.assert_array_equal(
        model.predict(np.array([[0.0], [1.0], [2.0]])), [[-1.0], [1.5], [4.0]]
    )


# --------------------------------------------------------------------------- parameter layout


def test_layout_by_hand():
    model = MLP([2, 3, 1], activation="tanh", output="linear")
    assert model.n_params == 2 * 3 + 3 + 3 * 1 + 1 == 13
    theta = np.linspace(-0.6, 0.6, 13)
    model.set_params(theta)
    t = theta
    W1 = np.array([[t[0], t[1], t[2]], [t[3], t[4], t[5]]])  # row-major: row = input unit
    b1 = np.array([t[6], t[7], t[8]])
    W2 = np.array([[t[9]], [t[10]], [t[11]]])
    b2 = np.array([t[12]])
    X = np.array([[1.0, -2.0], [0.5, 0.25], [0.0, 3.0]])
    expected = np.tanh(X @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-14)
    assert model.param_names() == [
        "W1[0,0]", "W1[0,1]", "W1[0,2]", "W1[1,0]", "W1[1,1]", "W1[1,2]",
        "b1[0]", "b1[1]", "b1[2]",
        "W2[0,0]", "W2[1,0]", "W2[2,0]",
        "b2[0]",
    ]  # fmt: skip
    (uW1, ub1), (uW2, ub2) = model.unflatten(theta)
    for got, want in ((uW1, W1), (ub1, b1), (uW2, W2), (ub2, b2)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_predict_matches_a_plain_numpy_forward(activation, output):
    sizes = [3, 4, 5, 3]
    model = MLP(sizes, activation=activation, output=output)
    rng = np.random.default_rng(2)
    theta = rng.normal(size=model.n_params)
    X = rng.normal(size=(7, 3))
    model.set_params(theta)
    expected, _ = reference_forward(theta, X, sizes, activation, output)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.forward(X), expected, rtol=1e-12, atol=1e-15)


def test_predict_with_a_stack_of_parameter_vectors():
    model = MLP([2, 3, 1], activation="sigmoid")
    rng = np.random.default_rng(4)
    thetas = rng.normal(size=(5, model.n_params))
    X = rng.normal(size=(4, 2))
    stacked = model.predict_with(thetas, X)
    assert stacked.shape == (5, 4, 1)
    for i, theta in enumerate(thetas):
        np.testing.assert_allclose(stacked[i], model.predict_with(theta, X), rtol=1e-14)


# --------------------------------------------------------------------------- get / set params


def test_get_params_returns_a_copy():
    model = MLP([2, 3, 1])
    params = model.get_params()
    before = params.copy()
    params[:] = 99.0
    np.testing.assert_array_equal(model.get_params(), before)


def test_set_params_copies_in():
    model = MLP([2, 3, 1])
    theta = np.arange(model.n_params, dtype=np.float64)
    model.set_params(theta)
    theta[:] = -1.0
    np.testing.assert_array_equal(model.get_params(), np.arange(model.n_params))


@pytest.mark.parametrize(
    "bad", [np.zeros(12), np.zeros(14), np.zeros((1, 13)), np.zeros((13, 1)), np.float64(1.0)]
)
def test_set_params_rejects_wrong_shapes(bad):
    model = MLP([2, 3, 1])  # 13 parameters
    with pytest.raises(ValueError, match=r"params must have shape \(13,\)"):
        model.set_params(bad)


def test_copy_is_independent():
    model = MLP([2, 3, 1], activation="relu", output="sigmoid", seed=4)
    other = model.copy()
    np.testing.assert_array_equal(other.get_params(), model.get_params())
    assert (other.layer_sizes, other.activation, other.output) == ([2, 3, 1], "relu", "sigmoid")
    other.set_params(np.zeros(other.n_params))
    assert np.any(model.get_params() != 0)


# --------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_initialisation_is_determined_by_the_seed(activation):
    sizes = [3, 8, 8, 2]
    a = MLP(sizes, activation=activation, seed=5).get_params()
    b = MLP(sizes, activation=activation, seed=5).get_params()
    c = MLP(sizes, activation=activation, seed=6).get_params()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(
        MLP(sizes, activation=activation).get_params(),
        MLP(sizes, activation=activation, seed=0).get_params(),
    )


def test_biases_start_at_zero():
    model = MLP([3, 8, 8, 2], seed=1)
    for W, b in model.unflatten(model.get_params()):
        np.testing.assert_array_equal(b, 0.0)
        assert np.all(W != 0)


@pytest.mark.parametrize(
    ("activation", "std"),
    [
        # He for (leaky) ReLU: sqrt(2 / n_in) = sqrt(2 / 300)
        ("relu", 0.08164965809277261),
        ("leaky_relu", 0.08164965809277261),
        # Glorot otherwise: sqrt(2 / (n_in + n_out)) = sqrt(2 / 500)
        ("tanh", 0.06324555320336758),
        ("sigmoid", 0.06324555320336758),
        ("linear", 0.06324555320336758),
    ],
)
def test_initial_weight_scale(activation, std):
    # 60,000 weights: the sample standard deviation is within ~0.3 % of the true one.
    model = MLP([300, 200], activation=activation, seed=0)
    W, _ = model.unflatten(model.get_params())[0]
    assert abs(W.mean()) < 0.01 * std
    assert W.std() == pytest.approx(std, rel=0.02)


# --------------------------------------------------------------------------- constructor checks


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"layer_sizes": [1]}, "input and an output"),
        ({"layer_sizes": [1, 0]}, "positive integers"),
        ({"layer_sizes": [1, 2.5]}, "positive integers"),
        ({"layer_sizes": [True, 1]}, "positive integers"),
        ({"layer_sizes": [1, 1], "activation": "swish"}, "unknown activation"),
        ({"layer_sizes": [1, 1], "output": "softplus"}, "unknown output"),
        ({"layer_sizes": [1, 1], "output": "softmax"}, "softmax output needs at least two"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        MLP(**kwargs)


# --------------------------------------------------------------------------- gradients

GRAD_CASES = [
    (activation, output, loss, k)
    for activation in sorted(ACTIVATIONS)
    for output, loss, k in PAIRINGS
]


@pytest.mark.parametrize(
    ("activation", "output", "loss", "k"),
    GRAD_CASES,
    ids=[f"{a}-{o}-{loss}" for a, o, loss, _ in GRAD_CASES],
)
def test_loss_and_grad_matches_central_differences(activation, output, loss, k):
    model, X, y = problem_away_from_kinks(activation, output, loss, k)
    lossf = get_loss(loss)
    theta = model.get_params()

    def full_loss(th):
        prediction, _ = reference_forward(th, X, model.layer_sizes, activation, output)
        return lossf.value(y, prediction)

    value = model.loss_and_grad(lossf, X, lossf.targets(y, k))
    analytic = model.grad.copy()

    assert value == pytest.approx(full_loss(theta), rel=1e-12)
    assert analytic.shape == (model.n_params,)
    np.testing.assert_array_equal(model.get_params(), theta)  # the gradient does not move theta
    numeric = numerical_gradient(full_loss, theta)
    assert relative_error(analytic, numeric) < 1e-6


def test_loss_and_grad_accepts_a_loss_name():
    model, X, y = problem_away_from_kinks("tanh", "linear", "mse", 2)
    by_name = model.loss_and_grad("mse", X, y)
    grad_by_name = model.grad.copy()
    assert model.loss_and_grad(get_loss("mse"), X, y) == by_name
    np.testing.assert_array_equal(model.grad, grad_by_name)


FUSED = [
    ("sigmoid", "binary_crossentropy", 1),
    ("softmax", "categorical_crossentropy", 3),
    ("softmax", "sparse_categorical_crossentropy", 3),
]


@pytest.mark.parametrize(("output", "loss", "k"), FUSED)
def test_fused_gradient_equals_the_unfused_chain_rule(output, loss, k):
    model, X, y = problem_away_from_kinks("tanh", output, loss, k)
    lossf = get_loss(loss)
    assert isinstance(model.loss_layer(lossf), (SigmoidWithLoss, SoftmaxWithLoss))  # fused

    model.loss_and_grad(lossf, X, lossf.targets(y, k))
    fused = model.grad.copy()

    # Unfused: dL/dp from the loss, then the output layer's own backward, then the rest.
    p = model.forward(X)
    model.backward(lossf.gradient(y, p))
    unfused = model.grad.copy()

    np.testing.assert_allclose(fused, unfused, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize(("output", "loss"), [("linear", "mse"), ("linear", "mae")])
def test_regression_losses_are_not_fused(output, loss):
    last = MLP([1, 1], output=output).loss_layer(get_loss(loss))
    assert not isinstance(last, (SigmoidWithLoss, SoftmaxWithLoss))


# --------------------------------------------------------------------------- pairings


def model_for(output: str, units: int | None = None) -> MLP:
    return MLP([2, 3, units or (3 if output == "softmax" else 1)], output=output)


@pytest.mark.parametrize(("output", "loss", "k"), PAIRINGS)
def test_valid_pairings_pass(output, loss, k):
    """The check lets a valid pairing through, and it trains: full batch, the loss goes down."""
    model, X, y = problem_away_from_kinks("tanh", output, loss, k)
    assert check_pairing(model, get_loss(loss)) is None
    steps = list(engine.train(X, y, model=model, loss=loss, lr=0.05, epochs=20))
    assert [s.status for s in steps] == ["running"] * 19 + ["completed"]
    assert steps[-1].loss < steps[0].loss


@pytest.mark.parametrize(("output", "loss"), INVALID)
def test_invalid_pairing_raises_in_check_pairing(output, loss):
    assert len(INVALID) == 10
    with pytest.raises(ValueError, match="does not fit") as info:
        check_pairing(model_for(output), get_loss(loss))
    assert loss in str(info.value) and output in str(info.value)


@pytest.mark.parametrize(("output", "loss"), INVALID)
def test_invalid_pairing_raises_in_train(output, loss):
    model = model_for(output)
    X = np.zeros((4, 2))
    y = np.array([0, 1, 0, 1]) if "categorical" in loss else np.zeros((4, 1))
    with pytest.raises(ValueError, match="does not fit"):
        engine.train(X, y, model=model, loss=loss, lr=0.1, epochs=1)


def test_binary_crossentropy_needs_exactly_one_sigmoid_unit():
    model = model_for("sigmoid", units=2)
    with pytest.raises(ValueError, match="exactly one output unit"):
        check_pairing(model, get_loss("binary_crossentropy"))
    with pytest.raises(ValueError, match="exactly one output unit"):
        engine.train(
            np.zeros((4, 2)),
            np.zeros((4, 2)),
            model=model,
            loss="binary_crossentropy",
            lr=0.1,
            epochs=1,
        )

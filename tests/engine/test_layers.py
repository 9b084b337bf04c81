"""Tests for engine.layers: forward on hand examples, backward by central differences."""

import math

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

from engine.layers import (
    ACTIVATIONS,
    OUTPUTS,
    WITH_LOSS,
    Affine,
    OutputWithLoss,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    loss_layer,
)
from engine.losses import LOSSES, get_loss

LN2, LN3 = math.log(2), math.log(3)

# Every layer class once, tagged with the registry it comes from.
REGISTERED = [("activation", name) for name in ACTIVATIONS] + [("output", name) for name in OUTPUTS]
REGISTRY = {"activation": ACTIVATIONS, "output": OUTPUTS}


def layer_class(kind: str, name: str) -> type:
    return REGISTRY[kind][name]


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random inputs with |x| in [0.1, 2]: no ReLU kink within a finite-difference step."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# --------------------------------------------------------------------------- registries


def test_registries():
    assert set(ACTIVATIONS) == {"sigmoid", "tanh", "relu", "leaky_relu", "linear"}
    assert set(OUTPUTS) == {"linear", "sigmoid", "softmax"}
    for registry in (ACTIVATIONS, OUTPUTS):
        for name, cls in registry.items():
            assert cls.name == name


# --------------------------------------------------------------------------- forward by hand

FORWARD_CASES = [
    # sigmoid(0) = 1/2, sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4, sigmoid(-ln 3) = 1/4
    ("sigmoid", [[0.0, LN3, -LN3]], [[0.5, 0.75, 0.25]]),
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6
    ("tanh", [[0.0, LN2, -LN2]], [[0.0, 0.6, -0.6]]),
    ("relu", [[-2.0, 0.0, 3.0], [0.5, -0.5, 1.0]], [[0.0, 0.0, 3.0], [0.5, 0.0, 1.0]]),
    ("leaky_relu", [[-2.0, 0.0, 3.0], [0.5, -0.5, 1.0]], [[-0.02, 0.0, 3.0], [0.5, -0.005, 1.0]]),
    ("linear", [[-2.0, 0.0, 3.0]], [[-2.0, 0.0, 3.0]]),
    # softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6
    ("softmax", [[0.0, LN2, LN3], [5.0, 5.0, 5.0]], [[1 / 6, 2 / 6, 3 / 6], [1 / 3, 1 / 3, 1 / 3]]),
    # no overflow: shifting by the row max
    ("softmax", [[1000.0, 1000.0], [-1000.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]),
]


def test_forward_cases_cover_every_layer():
    assert {case[0] for case in FORWARD_CASES} == set(ACTIVATIONS) | set(OUTPUTS)


@pytest.mark.parametrize(("name", "x", "expected"), FORWARD_CASES)
def test_forward_by_hand(name, x, expected):
    cls = ACTIVATIONS.get(name) or OUTPUTS[name]
    x = np.array(x)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = cls().forward(x)
        fn_out = cls.fn(x)
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(fn_out, expected, rtol=1e-15, atol=1e-300)


def test_sigmoid_does_not_overflow():
    cls = ACTIVATIONS["sigmoid"]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = cls().forward(np.array([[-1000.0, 1000.0, -700.0, 700.0]]))
    assert np.all(np.isfinite(out))
    assert np.all((out >= 0) & (out <= 1))
    assert out[0, 1] == 1.0


def test_softmax_rows_sum_to_one_for_any_batch_shape():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 6, 5)) * 10
    out = Softmax.fn(x)
    np.testing.assert_allclose(out.sum(axis=-1), np.ones((4, 6)), rtol=1e-14)
    np.testing.assert_allclose(Softmax.fn(x + 123.0), out, rtol=1e-12)


def test_affine_forward_by_hand():
    # [1, 2] @ [[1, 2, 3], [4, 5, 6]] + [0.5, 0, -1] = [1 + 8 + 0.5, 2 + 10, 3 + 12 - 1]
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([0.5, 0.0, -1.0])
    x = np.array([[1.0, 2.0], [0.0, 0.0]])
    out = Affine(W, b).forward(x)
    np.testing.assert_array_equal(out, [[9.5, 12.0, 14.0], [0.5, 0.0, -1.0]])


# --------------------------------------------------------------------------- backward


@pytest.mark.parametrize(("kind", "name"), REGISTERED, ids=[f"{k}-{n}" for k, n in REGISTERED])
def test_backward_matches_central_differences(kind, name):
    cls = layer_class(kind, name)
    rng = np.random.default_rng(7)
    x = away_from_zero(rng, (4, 3))
    dout = rng.normal(size=(4, 3))

    layer = cls()
    out = layer.forward(x)
    dx = layer.backward(dout)

    assert dx.shape == x.shape
    np.testing.assert_array_equal(out, cls.fn(x))
    # d/dx of sum(dout * f(x)) is the vector-Jacobian product backward computes.
    numeric = numerical_gradient(lambda z: float(np.sum(dout * cls().forward(z))), x)
    assert relative_error(dx, numeric) < 1e-7


@pytest.mark.parametrize(("kind", "name"), REGISTERED, ids=[f"{k}-{n}" for k, n in REGISTERED])
def test_backward_uses_the_cache_of_the_last_forward(kind, name):
    cls = layer_class(kind, name)
    rng = np.random.default_rng(3)
    x1, x2 = away_from_zero(rng, (2, 3)), away_from_zero(rng, (2, 3))
    dout = rng.normal(size=(2, 3))
    layer, fresh = cls(), cls()
    layer.forward(x1)
    layer.forward(x2)
    fresh.forward(x2)
    np.testing.assert_array_equal(layer.backward(dout), fresh.backward(dout))


def test_affine_backward_matches_central_differences():
    rng = np.random.default_rng(11)
    W = rng.normal(size=(3, 2))
    b = rng.normal(size=2)
    x = rng.normal(size=(5, 3))
    dout = rng.normal(size=(5, 2))

    affine = Affine(W.copy(), b.copy())
    affine.forward(x)
    dx = affine.backward(dout)

    def f(W_, b_, x_):
        return float(np.sum(dout * (x_ @ W_ + b_)))

    assert affine.dW.shape == W.shape
    assert affine.db.shape == b.shape
    assert dx.shape == x.shape
    assert relative_error(affine.dW, numerical_gradient(lambda w: f(w, b, x), W)) < 1e-8
    assert relative_error(affine.db, numerical_gradient(lambda c: f(W, c, x), b)) < 1e-8
    assert relative_error(dx, numerical_gradient(lambda z: f(W, b, z), x)) < 1e-8


def test_affine_backward_overwrites_its_gradient_arrays_in_place():
    # The model hands Affine views into one flat gradient vector: backward must write into
    # them (not rebind them) and must not accumulate across calls.
    rng = np.random.default_rng(5)
    flat = np.zeros(3 * 2 + 2)
    affine = Affine(rng.normal(size=(3, 2)), rng.normal(size=2))
    affine.dW, affine.db = flat[:6].reshape(3, 2), flat[6:]
    dW_array, db_array = affine.dW, affine.db
    x, dout = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

    affine.forward(x)
    affine.backward(dout)
    first = flat.copy()
    affine.forward(x)
    affine.backward(dout)

    assert affine.dW is dW_array and affine.db is db_array
    np.testing.assert_array_equal(flat, first)
    np.testing.assert_allclose(flat[:6].reshape(3, 2), x.T @ dout, rtol=1e-14)
    np.testing.assert_allclose(flat[6:], dout.sum(axis=0), rtol=1e-14)


# --------------------------------------------------------------------------- output + loss


def test_sigmoid_with_loss_by_hand():
    """x = 0 gives y = 0.5: the loss is ln 2 either way, dx = (0.5 - t) / 2."""
    last = SigmoidWithLoss(get_loss("binary_crossentropy"))
    assert last.forward(np.zeros((2, 1)), np.array([[1.0], [0.0]])) == pytest.approx(LN2)
    np.testing.assert_array_equal(last.backward(), [[-0.25], [0.25]])


def test_softmax_with_loss_by_hand_for_labels_and_one_hot_rows():
    """Equal logits give y = 1/3 each: the loss is ln 3, dx = (y - t) / 2, labels or one-hot."""
    x = np.zeros((2, 3))
    labels = SoftmaxWithLoss(get_loss("sparse_categorical_crossentropy"))
    onehot = SoftmaxWithLoss(get_loss("categorical_crossentropy"))
    assert labels.forward(x, np.array([2, 0])) == pytest.approx(LN3)
    assert onehot.forward(x, np.eye(3)[[2, 0]]) == pytest.approx(LN3)
    third = 1 / 3
    expected = np.array([[third, third, third - 1], [third - 1, third, third]]) / 2
    np.testing.assert_allclose(labels.backward(), expected, rtol=1e-15)
    np.testing.assert_array_equal(labels.backward(), onehot.backward())  # the same bits


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_layer_backward_matches_central_differences(name):
    """dL/dx of the last layer, fused or not, against the loss of the output at x +- h."""
    loss = get_loss(name)
    rng = np.random.default_rng(7)
    k = 3 if loss.output == "softmax" else 1 if loss.output == "sigmoid" else 2
    x = away_from_zero(rng, (4, k))
    if name == "sparse_categorical_crossentropy":
        t = np.array([0, 2, 1, 2])
    elif loss.output == "softmax":
        t = np.eye(3)[[0, 2, 1, 2]]
    elif loss.output == "sigmoid":
        t = np.array([[1.0], [0.0], [0.0], [1.0]])
    else:
        t = away_from_zero(rng, (4, k)) + 5.0  # MAE: no kink near the outputs
    last = loss_layer(loss.output, loss)
    assert isinstance(last, (SigmoidWithLoss, SoftmaxWithLoss)) == loss.fused
    last.forward(x, t)
    analytic = last.backward()
    numeric = numerical_gradient(lambda z: loss.value(t, OUTPUTS[loss.output].fn(z)), x)
    assert relative_error(analytic, numeric) < 1e-7


def test_an_unmatched_output_and_loss_go_by_the_chain_rule():
    last = loss_layer("linear", get_loss("binary_crossentropy"))
    assert type(last) is OutputWithLoss
    assert sorted(WITH_LOSS) == ["sigmoid", "softmax"]

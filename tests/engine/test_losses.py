"""Tests for engine.losses: hand-computed values, clipping, gradients, validation.

Every expected number below was worked out by hand (or with math.log) and is written out as a
literal, so a test reads as the calculation it checks.
"""

import math

import numpy as np
import pytest
from gradcheck import numerical_gradient, relative_error

import engine
from engine.losses import EPSILON, LOSSES, get_loss

KERAS_NAMES = {
    "mae",
    "mse",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
}


def a(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


# --------------------------------------------------------------------------- registry


def test_registry_holds_exactly_the_five_keras_losses():
    assert set(LOSSES) == KERAS_NAMES
    assert engine.LOSSES is LOSSES
    for name, loss in LOSSES.items():
        assert loss.name == name
        assert get_loss(name) is loss


def test_get_loss_passes_a_loss_object_through():
    loss = LOSSES["mse"]
    assert get_loss(loss) is loss


@pytest.mark.parametrize("name", ["hinge", "MSE", "", None, 3])
def test_get_loss_rejects_unknown_names(name):
    with pytest.raises(ValueError, match="unknown loss") as info:
        get_loss(name)
    # The message lists what is known.
    assert "binary_crossentropy" in str(info.value)


def test_tasks_pair_each_loss_with_its_output():
    assert set(engine.LOSSES_BY_TASK["regression"]) == {"mae", "mse"}
    assert set(engine.LOSSES_BY_TASK["binary"]) == {"binary_crossentropy"}
    assert set(engine.LOSSES_BY_TASK["multiclass"]) == {
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
    }
    assert engine.OUTPUT_FOR_TASK == {
        "regression": "linear",
        "binary": "sigmoid",
        "multiclass": "softmax",
    }


def test_the_task_table_is_read_off_the_losses():
    """Task -> output -> losses (the default first): the source material's table, in one place."""
    table = {
        name: (task.output, task.losses, task.default_loss) for name, task in engine.TASKS.items()
    }
    assert table == {
        "regression": ("linear", ("mse", "mae"), "mse"),
        "binary": ("sigmoid", ("binary_crossentropy",), "binary_crossentropy"),
        "multiclass": (
            "softmax",
            ("sparse_categorical_crossentropy", "categorical_crossentropy"),
            "sparse_categorical_crossentropy",
        ),
    }
    for loss in LOSSES.values():
        assert loss.name in engine.TASKS[loss.task].losses
        assert loss.output == engine.TASKS[loss.task].output
        assert loss.fused == (loss.output != "linear")
    assert engine.get_task("binary") is engine.TASKS["binary"]
    assert [engine.get_task(t).n_outputs(4) for t in engine.TASKS] == [1, 1, 4]
    with pytest.raises(ValueError, match="unknown task 'ranking'; known tasks: regression"):
        engine.get_task("ranking")


# --------------------------------------------------------------------------- hand-computed values

HAND_VALUES = [
    # MAE, one output: (|1.5 - 1| + |1 - 2| + |3.25 - 3|) / 3 = 1.75 / 3
    ("mae", a([[1], [2], [3]]), a([[1.5], [1], [3.25]]), 0.5833333333333334),
    # MAE, two outputs: mean over all four elements: (1 + 0 + 0 + 2) / 4
    ("mae", a([[0, 1], [2, 3]]), a([[1, 1], [2, 5]]), 0.75),
    # MSE, one output: (0.25 + 1 + 0.0625) / 3 = 1.3125 / 3
    ("mse", a([[1], [2], [3]]), a([[1.5], [1], [3.25]]), 0.4375),
    # MSE, two outputs: (1 + 0 + 0 + 4) / 4
    ("mse", a([[0, 1], [2, 3]]), a([[1, 1], [2, 5]]), 1.25),
    # BCE: -(ln 0.9 + ln 0.8) / 2
    ("binary_crossentropy", a([[1], [0]]), a([[0.9], [0.2]]), 0.164252033486018),
    # BCE at p = 0.5: exactly ln 2 (an epsilon inside the log would move this by ~2e-7)
    ("binary_crossentropy", a([[1], [0]]), a([[0.5], [0.5]]), 0.6931471805599453),
    # CCE: -(ln 0.7 + ln 0.8) / 2
    (
        "categorical_crossentropy",
        a([[1, 0, 0], [0, 1, 0]]),
        a([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]),
        0.2899092476264711,
    ),
    # CCE, three samples: -(ln 0.6 + ln 0.25 + ln 0.5) / 3
    (
        "categorical_crossentropy",
        a([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
        a([[0.6, 0.3, 0.1], [0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]),
        0.8634223884819422,
    ),
    # Sparse CCE, labels of shape (n,): -(ln 0.7 + ln 0.8) / 2
    (
        "sparse_categorical_crossentropy",
        np.array([0, 1]),
        a([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]),
        0.2899092476264711,
    ),
    # Sparse CCE, labels of shape (n, 1): -(ln 0.6 + ln 0.25 + ln 0.5) / 3
    (
        "sparse_categorical_crossentropy",
        np.array([[0], [1], [2]]),
        a([[0.6, 0.3, 0.1], [0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]),
        0.8634223884819422,
    ),
]


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "expected"),
    HAND_VALUES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(HAND_VALUES)],
)
def test_value_by_hand(name, y_true, y_pred, expected):
    value = get_loss(name).value(y_true, y_pred)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-14, abs=0)


def test_hand_values_cover_every_loss():
    assert {case[0] for case in HAND_VALUES} == KERAS_NAMES


# -ln(1e-7) = 16.11809565095832: a probability of exactly 0 for the true class is clipped to 1e-7.
CLIPPED = 16.11809565095832

CLIP_CASES = [
    # p = 0 for a positive: clipped to 1e-7
    ("binary_crossentropy", a([[1]]), a([[0.0]]), CLIPPED),
    # p = 1 for a negative: clipped to 1 - 1e-7, and 1 - (1 - 1e-7) = 9.99999999995e-08 in
    # float64, so -ln of it is 16.118095651484676 (equal to -ln(1e-7) to 3e-11)
    ("binary_crossentropy", a([[0]]), a([[1.0]]), CLIPPED),
    # p = 1 for a positive: clipped to 1 - 1e-7, loss -ln(1 - 1e-7) = 1.0000000494736474e-07
    ("binary_crossentropy", a([[1]]), a([[1.0]]), 1.0000000494736474e-07),
    # p = 0 for a negative: 1 - p = 1 clipped to 1 - 1e-7 as well
    ("binary_crossentropy", a([[0]]), a([[0.0]]), 1.0000000494736474e-07),
    # the true class has p = 0
    ("categorical_crossentropy", a([[0, 1]]), a([[1.0, 0.0]]), CLIPPED),
    ("sparse_categorical_crossentropy", np.array([1]), a([[1.0, 0.0]]), CLIPPED),
    # the true class has p = 1: -ln(1 - 1e-7)
    ("categorical_crossentropy", a([[1, 0]]), a([[1.0, 0.0]]), 1.0000000494736474e-07),
    ("sparse_categorical_crossentropy", np.array([[0]]), a([[1.0, 0.0]]), 1.0000000494736474e-07),
]


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "expected"),
    CLIP_CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(CLIP_CASES)],
)
def test_probabilities_are_clipped(name, y_true, y_pred, expected):
    assert EPSILON == 1e-7
    value = get_loss(name).value(y_true, y_pred)
    assert math.isfinite(value)
    assert value == pytest.approx(expected, rel=1e-9, abs=0)


def test_clipped_bce_is_the_mean_over_the_batch():
    # [p=0 for a positive, p=0.5 for a positive] -> (16.11809565095832 + 0.6931471805599453) / 2
    value = get_loss("binary_crossentropy").value(a([[1], [1]]), a([[0.0], [0.5]]))
    assert value == pytest.approx(8.405621415759132, rel=1e-12)


@pytest.mark.parametrize("name", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_cross_entropy_is_the_mean_of_the_samples_losses(name):
    loss = get_loss(name)
    p = a([[0.6, 0.3, 0.1], [0.5, 0.25, 0.25], [0.2, 0.3, 0.5]])
    labels = np.array([0, 1, 2])
    y = labels if name.startswith("sparse") else np.eye(3)[labels]
    each = [loss.value(y[i : i + 1], p[i : i + 1]) for i in range(3)]
    assert loss.value(y, p) == pytest.approx(sum(each) / 3, rel=1e-14)


def test_sparse_and_categorical_agree():
    p = a([[0.6, 0.3, 0.1], [0.5, 0.25, 0.25], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    labels = np.array([2, 0, 1, 2])
    sparse = get_loss("sparse_categorical_crossentropy")
    assert sparse.value(labels, p) == get_loss("categorical_crossentropy").value(
        np.eye(3)[labels], p
    )
    assert sparse.value(labels, p) == sparse.value(labels[:, None], p)


# --------------------------------------------------------------------------- gradients

HAND_GRADIENTS = [
    # MSE: 2 (p - t) / 3 = 2 * [0.5, -1, 0.25] / 3
    ("mse", a([[1], [2], [3]]), a([[1.5], [1], [3.25]]), a([[1 / 3], [-2 / 3], [1 / 6]])),
    # MAE: sign(p - t) / 3
    ("mae", a([[1], [2], [3]]), a([[1.5], [1], [3.25]]), a([[1 / 3], [-1 / 3], [1 / 3]])),
    # BCE: (p - t) / (p (1 - p)) / 2: t=1, p=0.9 -> -1/0.9/2; t=0, p=0.2 -> 1/0.8/2
    ("binary_crossentropy", a([[1], [0]]), a([[0.9], [0.2]]), a([[-0.5555555555555556], [0.625]])),
    # CCE: -t / p / 2
    (
        "categorical_crossentropy",
        a([[1, 0, 0], [0, 1, 0]]),
        a([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]),
        a([[-0.7142857142857143, 0, 0], [0, -0.625, 0]]),
    ),
    (
        "sparse_categorical_crossentropy",
        np.array([0, 1]),
        a([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]),
        a([[-0.7142857142857143, 0, 0], [0, -0.625, 0]]),
    ),
]


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "expected"),
    HAND_GRADIENTS,
    ids=["mse", "mae", "binary_crossentropy", "categorical_crossentropy", "sparse"],
)
def test_gradient_by_hand(name, y_true, y_pred, expected):
    grad = get_loss(name).gradient(y_true, y_pred)
    assert grad.shape == y_pred.shape
    np.testing.assert_allclose(grad, expected, rtol=1e-14, atol=0)


# A valid (y_true, y_pred) per loss, with predictions away from MAE's kinks (|p - t| >= 0.1)
# and away from the clipping bounds.
_P3 = a([[0.6, 0.3, 0.1], [0.15, 0.5, 0.35], [0.2, 0.3, 0.5], [0.25, 0.45, 0.3]])
GRADIENT_CASES = {
    "mae": (a([[0.3, -1.2], [2.0, 0.5], [-0.7, 1.1]]), a([[0.9, -0.4], [1.1, 0.2], [0.4, 1.8]])),
    "mse": (a([[0.3, -1.2], [2.0, 0.5], [-0.7, 1.1]]), a([[0.9, -0.4], [1.1, 0.2], [0.4, 1.8]])),
    "binary_crossentropy": (a([[1], [0], [1], [0]]), a([[0.8], [0.3], [0.45], [0.9]])),
    "categorical_crossentropy": (np.eye(3)[[0, 2, 1, 1]], _P3),
    "sparse_categorical_crossentropy": (np.array([0, 2, 1, 1]), _P3),
}


def test_gradient_cases_cover_the_registry():
    assert set(GRADIENT_CASES) == set(LOSSES)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_central_differences(name):
    loss = get_loss(name)
    y_true, y_pred = GRADIENT_CASES[name]
    analytic = loss.gradient(y_true, y_pred)
    assert analytic.shape == y_pred.shape
    numeric = numerical_gradient(lambda p: loss.value(y_true, p), y_pred)
    assert relative_error(analytic, numeric) < 1e-7


def test_bce_gradient_is_finite_where_clipped():
    # The derivative of the clipped loss: zero where the clip is active, never inf or nan.
    grad = get_loss("binary_crossentropy").gradient(
        a([[1], [0], [1], [0]]), a([[0], [1], [1], [0]])
    )
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad, np.zeros((4, 1)))


@pytest.mark.parametrize(
    ("name", "y_true"),
    [
        ("categorical_crossentropy", a([[0, 1], [1, 0]])),
        ("sparse_categorical_crossentropy", np.array([1, 0])),
    ],
)
def test_cross_entropy_gradient_is_finite_where_clipped(name, y_true):
    # The true class of the first sample has p = 0, of the second p = 1: both clipped.
    grad = get_loss(name).gradient(y_true, a([[1, 0], [1, 0]]))
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad, np.zeros((2, 2)))


# --------------------------------------------------------------------------- bad input

BAD_INPUTS = [
    # (loss, y_true, y_pred, words the message must contain)
    ("mse", a([[1], [2]]), a([[1], [2], [3]]), "does not match"),
    ("mse", a([1, 2, 3]), a([[1], [2], [3]]), "does not match"),
    ("mae", a([[1, 2]]), a([[1], [2]]), "does not match"),
    ("mse", a([1, 2, 3]), a([1, 2, 3]), r"shape \(n, k\)"),
    ("mse", np.zeros((0, 1)), np.zeros((0, 1)), "empty"),
    ("binary_crossentropy", a([[1], [0.5]]), a([[0.9], [0.2]]), "only 0 and 1"),
    ("binary_crossentropy", a([[1], [2]]), a([[0.9], [0.2]]), "only 0 and 1"),
    ("binary_crossentropy", a([[1, 0]]), a([[0.9, 0.1]]), "one output"),
    ("binary_crossentropy", a([[1], [0]]), a([[0.9], [0.2], [0.3]]), "does not match"),
    ("categorical_crossentropy", a([[1, 1, 0]]), a([[0.5, 0.4, 0.1]]), "one-hot"),
    ("categorical_crossentropy", a([[0.5, 0.5, 0]]), a([[0.5, 0.4, 0.1]]), "one-hot"),
    ("categorical_crossentropy", a([[0, 0, 0]]), a([[0.5, 0.4, 0.1]]), "one-hot"),
    ("categorical_crossentropy", np.array([0, 1]), a([[0.5, 0.5], [0.5, 0.5]]), "does not match"),
    ("categorical_crossentropy", a([[1]]), a([[1.0]]), "at least two outputs"),
    ("sparse_categorical_crossentropy", np.array([0, 3]), a([[0.5, 0.4, 0.1]] * 2), r"\[0, 2\]"),
    ("sparse_categorical_crossentropy", np.array([-1, 0]), a([[0.5, 0.4, 0.1]] * 2), r"\[0, 2\]"),
    ("sparse_categorical_crossentropy", a([0.5, 1]), a([[0.5, 0.4, 0.1]] * 2), "whole numbers"),
    ("sparse_categorical_crossentropy", np.eye(3)[[0, 1]], a([[0.5, 0.4, 0.1]] * 2), r"\(n, 1\)"),
    ("sparse_categorical_crossentropy", np.array([0, 1, 2]), a([[0.5, 0.4, 0.1]] * 2), "3 labels"),
    ("sparse_categorical_crossentropy", np.array([0]), a([[1.0]]), "k >= 2"),
    ("sparse_categorical_crossentropy", np.array([0]), a([0.5, 0.5]), r"shape \(n, k\)"),
]


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "words"),
    BAD_INPUTS,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD_INPUTS)],
)
@pytest.mark.parametrize("method", ["value", "gradient"])
def test_bad_input_raises_value_error_saying_what_is_wrong(method, name, y_true, y_pred, words):
    with pytest.raises(ValueError, match=words) as info:
        getattr(get_loss(name), method)(y_true, y_pred)
    assert name in str(info.value)


def test_bad_inputs_cover_every_loss():
    assert {case[0] for case in BAD_INPUTS} == KERAS_NAMES

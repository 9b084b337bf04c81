"""Seeded toy datasets (데이터셋) for regression, binary and multi-class classification."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import losses
from .losses import get_task

#: The tasks (과제), from the losses' table: regression, binary, multiclass.
TASKS = tuple(losses.TASKS)

# Inclusive ranges of the user-tunable parameters.
LIMITS = {"n_samples": (1, 100_000), "noise": (0.0, 2.0), "n_classes": (3, 5)}
DEFAULT_N_CLASSES = 3

# Generator constants (features stay roughly inside [-1.5, 1.5] at the default noise).
LINEAR_SLOPE = 2.0  # a in y = a*x + b + noise*N(0, 1), x ~ U(-1, 1)
LINEAR_INTERCEPT = -1.0  # b
SINE_FREQUENCY = math.pi  # y = sin(SINE_FREQUENCY * x) + noise*N(0, 1), x ~ U(-1, 1)
BLOBS_CENTER = 0.6  # the two blobs sit at (-0.6, -0.6) and (0.6, 0.6)
BLOBS_STD = 0.2  # intrinsic blob spread, before the noise jitter
MOONS_SCALE = 0.75  # the classic moons, centred and shrunk to x in [-1.125, 1.125]
CIRCLES_RADII = (1.0, 0.5)  # outer circle = class 0, inner circle = class 1
XOR_MARGIN = 0.1  # |x_i| ~ U(0.1, 1): a clean gap along the axes at noise 0
SPIRAL_TURNS = 1.5  # turns per arm of the two-arm spiral
SPIRAL_K_TURNS = 0.75  # turns per arm of the k-arm spiral
SPIRAL_INNER_RADIUS = 0.1  # arms run from r = 0.1 to r = 1.0
MULTIBLOBS_RADIUS = 0.85  # class centres evenly spaced on this circle
MULTIBLOBS_STD = 0.15
# Classification datasets add Gaussian jitter of std noise * CLASS_NOISE_SCALE to the features,
# so the full noise range [0, 2] goes from clean (0) to badly overlapping (2, std 0.5).
# Regression datasets add noise * N(0, 1) to y (the features x stay in [-1, 1]).
CLASS_NOISE_SCALE = 0.25


def allowed_losses(task: str) -> tuple[str, ...]:
    """Losses that make sense for a task (과제): regression, binary or multiclass."""
    return get_task(task).losses


@dataclass(frozen=True, eq=False)
class Dataset:
    """A generated dataset: features X (n, d) and targets y, with its task and losses."""

    name: str
    task: str
    X: np.ndarray
    y: np.ndarray
    n_classes: int  # 1 for regression, 2 for binary
    default_loss: str
    allowed_losses: tuple[str, ...]
    #: Custom data with `standardize`: what each feature column had subtracted and was divided by
    #: (X = (raw - shift) / scale); None when X is as given or generated.
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        """Number of rows (표본 수)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns (특성 수)."""
        return int(self.X.shape[1])


@dataclass(frozen=True)
class DatasetSpec:
    """Registry entry: how to generate one named dataset and what it is for."""

    name: str
    task: str
    description: str
    generate: Callable[..., tuple[np.ndarray, np.ndarray]]  # (rng, n_samples, noise, n_classes)
    default_noise: float
    has_classes: bool = False  # True when the n_classes parameter is accepted
    # Hidden layer widths the classes need: no straight boundary does better than chance on them
    # (the page adds these to a model without hidden layers, and says why). Empty: a line will do.
    hidden_hint: tuple[int, ...] = ()

    @property
    def n_features(self) -> int:
        return 1 if self.task == "regression" else 2

    @property
    def default_loss(self) -> str:
        return get_task(self.task).default_loss

    @property
    def allowed_losses(self) -> tuple[str, ...]:
        return get_task(self.task).losses


# --------------------------------------------------------------------------- helpers


def _class_counts(n: int, k: int) -> np.ndarray:
    """Balanced class sizes: n // k each, the first n % k classes get one more."""
    counts = np.full(k, n // k, dtype=np.int64)
    counts[: n % k] += 1
    return counts


def _class_labels(n: int, k: int) -> np.ndarray:
    """Sorted int64 labels 0..k-1 with balanced counts (shuffled later)."""
    return np.repeat(np.arange(k, dtype=np.int64), _class_counts(n, k))


def _finish_classification(
    rng: np.random.Generator, X: np.ndarray, labels: np.ndarray, noise: float, multiclass: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian jitter of std noise * CLASS_NOISE_SCALE, shuffle rows, shape the labels."""
    X = X + (noise * CLASS_NOISE_SCALE) * rng.standard_normal(X.shape)
    perm = rng.permutation(X.shape[0])
    X = np.ascontiguousarray(X[perm], dtype=np.float64)
    labels = labels[perm]
    if multiclass:
        return X, labels.astype(np.int64)
    return X, labels.astype(np.float64).reshape(-1, 1)


def _spiral_points(
    rng: np.random.Generator, labels: np.ndarray, k: int, turns: float
) -> np.ndarray:
    """Points on k interleaved spiral arms, arm c rotated by 2*pi*c/k."""
    t = rng.random(labels.shape[0])
    r = SPIRAL_INNER_RADIUS + (1.0 - SPIRAL_INNER_RADIUS) * t
    theta = 2.0 * math.pi * (turns * t + labels / k)
    return np.column_stack((r * np.cos(theta), r * np.sin(theta)))


# --------------------------------------------------------------------------- generators


def _gen_linear(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """회귀 regression: y = a*x + b + noise*N(0, 1) with x ~ U(-1, 1)."""
    x = rng.uniform(-1.0, 1.0, size=n)
    y = LINEAR_SLOPE * x + LINEAR_INTERCEPT + noise * rng.standard_normal(n)
    return x.reshape(-1, 1), y.reshape(-1, 1)


def _gen_sine(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """회귀 regression: y = sin(pi*x) + noise*N(0, 1) with x ~ U(-1, 1)."""
    x = rng.uniform(-1.0, 1.0, size=n)
    y = np.sin(SINE_FREQUENCY * x) + noise * rng.standard_normal(n)
    return x.reshape(-1, 1), y.reshape(-1, 1)


def _gen_blobs(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """이진 분류 binary: two Gaussian blobs on the diagonal."""
    labels = _class_labels(n, 2)
    centers = np.array([[-BLOBS_CENTER, -BLOBS_CENTER], [BLOBS_CENTER, BLOBS_CENTER]])
    X = centers[labels] + BLOBS_STD * rng.standard_normal((n, 2))
    return _finish_classification(rng, X, labels, noise, multiclass=False)


def _gen_moons(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """이진 분류 binary: two interleaving half circles."""
    labels = _class_labels(n, 2)
    t = rng.uniform(0.0, math.pi, size=n)
    outer = labels == 0
    x0 = np.where(outer, np.cos(t), 1.0 - np.cos(t))
    x1 = np.where(outer, np.sin(t), 0.5 - np.sin(t))
    X = MOONS_SCALE * np.column_stack((x0 - 0.5, x1 - 0.25))
    return _finish_classification(rng, X, labels, noise, multiclass=False)


def _gen_circles(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """이진 분류 binary: a small circle inside a large one."""
    labels = _class_labels(n, 2)
    theta = rng.uniform(0.0, 2.0 * math.pi, size=n)
    r = np.asarray(CIRCLES_RADII)[labels]
    X = np.column_stack((r * np.cos(theta), r * np.sin(theta)))
    return _finish_classification(rng, X, labels, noise, multiclass=False)


def _gen_xor(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """이진 분류 binary: XOR quadrants, class 1 where the two coordinates differ in sign."""
    labels = _class_labels(n, 2)
    mag = rng.uniform(XOR_MARGIN, 1.0, size=(n, 2))
    s0 = rng.choice(np.array([-1.0, 1.0]), size=n)
    s1 = np.where(labels == 1, -s0, s0)
    X = mag * np.column_stack((s0, s1))
    return _finish_classification(rng, X, labels, noise, multiclass=False)


def _gen_spiral(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """이진 분류 binary: two interleaved spirals."""
    labels = _class_labels(n, 2)
    X = _spiral_points(rng, labels, 2, SPIRAL_TURNS)
    return _finish_classification(rng, X, labels, noise, multiclass=False)


def _gen_multiblobs(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """다중 분류 multi-class: n_classes Gaussian blobs on a circle."""
    labels = _class_labels(n, n_classes)
    angles = math.pi / 2 + 2.0 * math.pi * np.arange(n_classes) / n_classes
    centers = MULTIBLOBS_RADIUS * np.column_stack((np.cos(angles), np.sin(angles)))
    X = centers[labels] + MULTIBLOBS_STD * rng.standard_normal((n, 2))
    return _finish_classification(rng, X, labels, noise, multiclass=True)


def _gen_spiral_k(rng: np.random.Generator, n: int, noise: float, n_classes: int):
    """다중 분류 multi-class: a spiral with n_classes arms."""
    labels = _class_labels(n, n_classes)
    X = _spiral_points(rng, labels, n_classes, SPIRAL_K_TURNS)
    return _finish_classification(rng, X, labels, noise, multiclass=True)


# --------------------------------------------------------------------------- registry


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("linear", "regression", "Straight line y = 2x - 1 plus Gaussian noise "
                    "(선형 회귀).", _gen_linear, default_noise=0.2),
        DatasetSpec("sine", "regression", "Sine wave y = sin(pi x) plus Gaussian noise "
                    "(비선형 회귀).", _gen_sine, default_noise=0.1),
        DatasetSpec("blobs", "binary", "Two Gaussian blobs, linearly separable (이진 분류).",
                    _gen_blobs, default_noise=0.6),
        DatasetSpec("moons", "binary", "Two interleaving half moons (이진 분류).", _gen_moons,
                    default_noise=0.4),
        DatasetSpec("circles", "binary", "A small circle inside a large one (이진 분류).",
                    _gen_circles, default_noise=0.3, hidden_hint=(8,)),
        DatasetSpec("xor", "binary", "XOR quadrants: opposite corners share a class (이진 분류).",
                    _gen_xor, default_noise=0.4, hidden_hint=(8,)),
        DatasetSpec("spiral", "binary", "Two interleaved spirals (이진 분류).", _gen_spiral,
                    default_noise=0.2, hidden_hint=(16, 16)),
        DatasetSpec("multiblobs", "multiclass", "3 to 5 Gaussian blobs on a circle (다중 분류).",
                    _gen_multiblobs, default_noise=0.4, has_classes=True),
        DatasetSpec("spiral_k", "multiclass", "A spiral with 3 to 5 arms (다중 분류).",
                    _gen_spiral_k, default_noise=0.15, has_classes=True, hidden_hint=(8,)),
    )
}


# --------------------------------------------------------------------------- validation


def _is_int(value: object) -> bool:
    """True for Python / NumPy integers, False for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_int_range(param: str, value: object) -> int:
    """Return value as int if it is an integer inside LIMITS[param], else raise ValueError."""
    lo, hi = LIMITS[param]
    if not _is_int(value) or not lo <= value <= hi:
        raise ValueError(f"{param} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _check_noise(value: object) -> float:
    """Return noise as float if it is a finite number in LIMITS['noise'], else raise."""
    lo, hi = LIMITS["noise"]
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
        and lo <= value <= hi
    )
    if not ok:
        raise ValueError(f"noise must be a finite number in [{lo}, {hi}], got {value!r}")
    return float(value)


def _check_seed(value: object) -> int:
    """Return seed as int if it is a non-negative integer, else raise ValueError."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"seed must be a non-negative integer (>= 0), got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- public entry


def make_dataset(
    name: str,
    n_samples: int = 200,
    noise: float | None = None,
    seed: int = 0,
    n_classes: int | None = None,
) -> Dataset:
    """Generate the named dataset, seeded with np.random.default_rng(seed); raises ValueError."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    spec = DATASETS[name]
    n = _check_int_range("n_samples", n_samples)
    noise_value = spec.default_noise if noise is None else _check_noise(noise)
    seed_value = _check_seed(seed)
    if spec.has_classes:
        k = DEFAULT_N_CLASSES if n_classes is None else _check_int_range("n_classes", n_classes)
    elif n_classes is not None:
        with_classes = ", ".join(s.name for s in DATASETS.values() if s.has_classes)
        raise ValueError(
            f"n_classes is only accepted by multi-class datasets ({with_classes}); "
            f"dataset {name!r} does not take it, got n_classes={n_classes!r}"
        )
    else:
        k = 1 if spec.task == "regression" else 2
    rng = np.random.default_rng(seed_value)
    X, y = spec.generate(rng, n, noise_value, k)
    return Dataset(
        name=name,
        task=spec.task,
        X=X,
        y=y,
        n_classes=k,
        default_loss=spec.default_loss,
        allowed_losses=spec.allowed_losses,
    )


# --------------------------------------------------------------------------- custom data

#: Bounds of a user's own data set (app/core/schemas.py says them to the client).
CUSTOM_MAX_ROWS = 2000
CUSTOM_MAX_ABS = 1e6


def standardize(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X - mean) / sd per column (population sd), and the mean and the divisor used.

    A constant column is only centred (divisor 1): it carries nothing to scale, and dividing
    by zero would make it NaN.
    """
    shift = X.mean(axis=0)
    sd = X.std(axis=0)
    scale = np.where(sd > 0, sd, 1.0)
    return (X - shift) / scale, shift, scale


def custom_dataset(task: str, X: object, y: object, standardize_x: bool = True) -> Dataset:
    """A user's own points as a Dataset: X (n, 1 or 2), y as the task's losses read it.

    The values are assumed valid (the schema checks every bound). With `standardize_x` each
    feature column gets mean 0 and sd 1 (`standardize`); regression targets are never rescaled.
    """
    spec = get_task(task)
    X = np.array(X, dtype=np.float64).reshape(len(X), -1)  # type: ignore[arg-type]
    shift = scale = None
    if standardize_x:
        X, shift, scale = standardize(X)
    labels = np.asarray(y)
    if task == "multiclass":
        y_arr, k = labels.astype(np.int64), int(labels.max()) + 1
    else:
        y_arr, k = labels.astype(np.float64).reshape(-1, 1), 1 if task == "regression" else 2
    return Dataset(name="custom", task=task, X=np.ascontiguousarray(X), y=y_arr, n_classes=k,
                   default_loss=spec.default_loss, allowed_losses=spec.losses,
                   shift=shift, scale=scale)

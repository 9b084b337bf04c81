"""Gradient descent (경사하강법): SGD, mini-batch and full batch are one loop, one batch size apart.

Each iteration (이터레이션) is the source material's four steps on one batch: forward pass
(순전파), loss (손실 계산), backward pass (역전파), update `w <- w - lr * dL/dw`. One pass over
the shuffled data is an epoch (에폭): ceil(n / batch_size) iterations. The trainer is a generator
that yields one `Step` per iteration; it owns no thread, no clock and no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .losses import Loss
from .model import MLP, Evaluator
from .problem import Problem

__all__ = ["DEFAULT_RUNS", "UPDATE_RULES", "RunSpec", "Step", "compare", "start_runs", "train"]

#: How far above its start (times max(initial loss, 1)) a full-data loss may climb before the
#: run is declared diverged.
DIVERGENCE_FACTOR = 1e4

STATUSES = ("running", "completed", "target_reached", "early_stopped", "diverged")


@dataclass(frozen=True, slots=True)
class Step:
    """One iteration: the batch it used, the update it made and where it left the weights."""

    iteration: int  #: 1-based, over the whole run
    epoch: int  #: 1-based
    batch_size: int  #: size of the batch just used (the last batch of an epoch may be smaller)
    batch_loss: float | None  #: loss on that batch, before the update (None if not finite)
    loss: float | None  #: loss on all training data, after the update (None if not finite)
    params: np.ndarray  #: flat parameters after the update (the last finite ones if diverged)
    grad: np.ndarray | None  #: the batch gradient that made the update (None if not finite)
    grad_norm: float | None  #: its Euclidean norm
    status: str  #: "running" on every step but the last, which carries the outcome
    prev_params: np.ndarray  #: flat parameters before the update
    batch: np.ndarray  #: indices of the samples in the batch
    lr: float  #: the learning rate of the update


# -- update rules: read params and grads, write params -------------------------------------------
class SGD:
    """Plain gradient descent: w <- w - lr * dL/dw."""

    name = "sgd"

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        params -= self.lr * grads


class Momentum:
    """Momentum (모멘텀): v <- mu * v - lr * dL/dw; w <- w + v."""

    name = "momentum"

    def __init__(self, lr: float, mu: float = 0.9) -> None:
        self.lr, self.mu = lr, mu
        self.v: np.ndarray | None = None

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        if self.v is None:
            self.v = np.zeros_like(params)
        self.v *= self.mu
        self.v -= self.lr * grads
        params += self.v


class Adam:
    """Adam: per-weight step sizes from running means of the gradient and its square."""

    name = "adam"

    def __init__(
        self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m += (1.0 - self.beta1) * (grads - self.m)
        self.v += (1.0 - self.beta2) * (grads * grads - self.v)
        m_hat = self.m / (1.0 - self.beta1**self.t)
        v_hat = self.v / (1.0 - self.beta2**self.t)
        params -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


#: Update rules (옵티마이저) by name.
UPDATE_RULES: dict[str, type] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


# -- helpers ---------------------------------------------------------------------------------
def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _check_int(name: str, value, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


class Criterion:
    """The training criterion (학습 기준): after each update, is the run still going, and if not,
    why: "diverged", "target_reached", "early_stopped" or "completed"."""

    def __init__(
        self, initial: float, epochs: int, target_loss: float | None, patience: int | None
    ) -> None:
        self.limit = DIVERGENCE_FACTOR * max(initial, 1.0) if math.isfinite(initial) else math.inf
        self.epochs, self.target_loss, self.patience = epochs, target_loss, patience
        self.best, self.stale = initial, 0

    def status(self, value: float, finite: bool, epoch: int, epoch_end: bool) -> str:
        """The status after an update that left the full-data loss at `value`."""
        if not (finite and math.isfinite(value)) or value > self.limit:
            return "diverged"
        if self.target_loss is not None and value <= self.target_loss:
            return "target_reached"
        if not epoch_end:
            return "running"
        if self.patience is not None:
            if value < self.best:
                self.best, self.stale = value, 0
            else:
                self.stale += 1
                if self.stale >= self.patience:
                    return "early_stopped"
        return "completed" if epoch == self.epochs else "running"


# -- the trainer -----------------------------------------------------------------------------
def train(
    X: np.ndarray,
    y: np.ndarray,
    model: MLP,
    loss: Loss | str,
    lr: float = 0.1,
    batch_size: int | None = None,
    epochs: int = 5,
    seed: int = 0,
    target_loss: float | None = None,
    patience: int | None = None,
    update: str = "sgd",
) -> Iterator[Step]:
    """Yield one Step per iteration until the training criterion (학습 기준) is met.

    batch_size 1 is SGD, B is mini-batch, None (or >= n) is full batch. The run ends when all
    epochs are done ("completed"), when the full-data loss reaches `target_loss`
    ("target_reached"), after `patience` epochs without improvement ("early_stopped"), or when
    the loss or the weights blow up ("diverged"). The model passed in is not modified.
    """
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    _check_int("batch_size", batch_size, 1, allow_none=True)
    _check_int("epochs", epochs, 1)
    _check_int("seed", seed, 0)
    _check_int("patience", patience, 1, allow_none=True)
    if target_loss is not None and (
        isinstance(target_loss, bool)
        or not isinstance(target_loss, int | float)
        or not math.isfinite(target_loss)
        or target_loss < 0
    ):
        raise ValueError(f"target_loss must be a finite number >= 0 or None, got {target_loss!r}")
    if update not in UPDATE_RULES:
        raise ValueError(f"unknown update rule {update!r}; known: {', '.join(UPDATE_RULES)}")
    problem = Problem(model, loss, X, y)
    return _train(problem, float(lr), batch_size, epochs, seed, target_loss, patience, update)


def _train(
    problem: Problem,
    lr: float,
    batch_size: int | None,
    epochs: int,
    seed: int,
    target_loss: float | None,
    patience: int | None,
    update: str,
) -> Iterator[Step]:
    model, lossf, n, X, t = problem.model, problem.loss, problem.n, problem.X, problem.t
    full = batch_size is None or batch_size >= n
    B = n if full else batch_size
    rule = UPDATE_RULES[update](lr)
    rng = np.random.default_rng(seed)
    theta, grad = model.theta, model.grad
    evaluate = Evaluator(model, X)
    with np.errstate(all="ignore"):
        criterion = Criterion(lossf.mean(t, evaluate()), epochs, target_loss, patience)
    iteration = 0
    everyone = np.arange(n)
    everyone.flags.writeable = False  # every full-batch Step shares it as its `batch`
    for epoch in range(1, epochs + 1):
        # Shuffle every epoch with the run's own seeded RNG (full batch needs no shuffle).
        order = everyone if full else rng.permutation(n)
        for start in range(0, n, B):
            idx = order[start : start + B]
            xb, tb = problem.batch(None if full else idx)
            prev = theta.copy()
            with np.errstate(all="ignore"):
                batch_loss = model.loss_and_grad(lossf, xb, tb)  # forward, loss, backward
                g = grad.copy()
                rule.update(theta, grad)  # w <- w - lr * dL/dw (or momentum, Adam)
                value = lossf.mean(t, evaluate())
            iteration += 1
            g_norm = math.sqrt(g @ g)
            grad_ok = math.isfinite(g_norm)
            finite = bool(np.isfinite(theta).all())
            status = criterion.status(value, finite, epoch, start + B >= n)
            yield Step(
                iteration=iteration,
                epoch=epoch,
                batch_size=len(idx),
                batch_loss=_finite(batch_loss),
                loss=_finite(value),
                params=theta.copy() if finite and math.isfinite(value) else prev,
                grad=g if grad_ok else None,
                grad_norm=g_norm if grad_ok else None,
                status=status,
                prev_params=prev,
                batch=idx,
                lr=lr,
            )
            if status != "running":
                return


# -- several runs side by side ---------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """One contestant of a comparison: a name, a batch size and optionally its own lr / rule."""

    name: str
    batch_size: int | None
    lr: float | None = None
    update: str = "sgd"


DEFAULT_RUNS: tuple[RunSpec, ...] = (
    RunSpec("SGD", 1),
    RunSpec("Mini-batch", 32),
    RunSpec("Full batch", None),
)


def repeat_seed(seed: int, repeat: int) -> int:
    """The shuffling seed of a run's `repeat`: `seed` itself for repeat 0 (a single run is
    unchanged), else one drawn from (seed, repeat), so no two repeats share their batches."""
    if repeat == 0:
        return seed
    return int(np.random.SeedSequence([seed, repeat]).generate_state(1)[0])


def start_runs(
    X: np.ndarray,
    y: np.ndarray,
    model: MLP,
    loss: Loss | str,
    runs: Sequence[RunSpec] = DEFAULT_RUNS,
    lr: float = 0.1,
    epochs: int = 5,
    seed: int = 0,
    target_loss: float | None = None,
    patience: int | None = None,
    repeat: int = 0,
) -> dict[str, Iterator[Step]]:
    """One trainer per run, all from the same initial parameters on the same data; `repeat`
    r > 0 shuffles with `repeat_seed(seed, r)` (full batch does not shuffle: the same run)."""
    if not runs:
        raise ValueError("runs must name at least one run")
    names = [r.name for r in runs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"run names must be unique; repeated: {', '.join(duplicates)}")
    return {
        r.name: train(
            X, y, model, loss,
            lr=lr if r.lr is None else r.lr,
            batch_size=r.batch_size,
            epochs=epochs,
            seed=repeat_seed(seed, repeat),
            target_loss=target_loss,
            patience=patience,
            update=r.update,
        )
        for r in runs
    }


def compare(
    X: np.ndarray, y: np.ndarray, model: MLP, loss: Loss | str, **options: Any
) -> Iterator[tuple[str, Step]]:
    """Advance every run one iteration in turn; yield (run name, Step) until all have ended.

    `options` are those of `start_runs`: runs, lr, epochs, seed, target_loss, patience.
    """
    trainers = start_runs(X, y, model, loss, **options)
    while trainers:
        for name in list(trainers):
            step = next(trainers[name], None)
            if step is None:
                del trainers[name]
                continue
            yield name, step
            if step.status != "running":
                del trainers[name]

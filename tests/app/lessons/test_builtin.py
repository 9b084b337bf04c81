"""The built-in lesson "How a network learns" (issue 15): each step shows on the engine what its
text says and its question expects, recomputed from the step's own config."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.export.compute import run_race
from app.lessons import load_lessons

LESSON = load_lessons(Settings())["how-a-network-learns"]
STEPS = {step.title.en.split(".")[0]: step for step in LESSON.steps}
SECONDS = 60  # each effect shows within a minute at the step's speed (iterations per second)


def race(key: str, **changes):
    config = STEPS[key].config.model_copy(update=changes)
    return run_race(TrainConfig.model_validate(config.model_dump()))


def losses(run) -> np.ndarray:
    return np.array([p["loss"] for p in run.points], dtype=float)


def answer(key: str) -> str:
    question = STEPS[key].question
    return question.choices[question.answer].en


def test_the_lesson_follows_the_note_in_order_and_every_step_asks_a_question():
    assert list(STEPS) == ["1", "2a", "2b", "2c", "2d", "3", "4", "5", "6", "7a", "7b"]
    assert all(step.question is not None and step.question.answer is not None
               for step in LESSON.steps)


@pytest.mark.parametrize("key", ["1", "2a", "2b", "2c", "2d", "3", "4", "6", "7a", "7b"])
def test_each_step_ends_within_a_minute_at_its_speed(key):
    config = STEPS[key].config
    finished = race(key)
    longest = max(len(run.points) for run in finished.runs.values())
    assert longest / config.speed <= SECONDS, (key, longest, config.speed)


def test_1_one_step_of_the_loop_lowers_the_loss():
    run = race("1").runs["Full batch"]
    assert answer("1") == "Go down"
    assert run.points[0]["loss"] < race("1").initial_loss


def fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares line (w, b) through the points."""
    return np.linalg.lstsq(np.c_[X, np.ones_like(X)], y, rcond=None)[0]


def the_outlier(X: np.ndarray, y: np.ndarray) -> int:
    """The one point without which the others lie close to a line; it lies far off that line."""
    def spread(i: int) -> float:  # the others' largest distance from their own line
        others_X, others_y = np.delete(X, i), np.delete(y, i)
        return float(np.abs(others_y - np.polyval(fit(others_X, others_y), others_X)).max())

    k = min(range(len(X)), key=spread)
    others = np.delete(np.arange(len(X)), k)
    gap = abs(y[k] - np.polyval(fit(X[others], y[others]), X[k]))
    assert gap > 20 * spread(k), (gap, spread(k))  # one clear outlier, the rest near a line
    return k


def test_2_the_outlier_pulls_the_mse_line_more_than_the_mae_line():
    mse, mae = race("2a"), race("2b")
    assert (mse.config.loss, mae.config.loss) == ("mse", "mae") and mse.config.custom
    assert mse.config.data == mae.config.data and mse.config.seed == mae.config.seed
    assert mse.config.data.standardize is False  # the text: x used as given
    X, y = mse.data.X[:, 0], mse.data.y[:, 0]
    assert X.tolist() == [row[0] for row in mse.config.data.X]  # as given, not rescaled
    k = the_outlier(X, y)
    assert "12 points: 11 lie close" in STEPS["2a"].text.en and len(X) == 12
    base = np.polyval(fit(np.delete(X, k), np.delete(y, k)), X[k])  # the others' line, at its x
    gap = base - y[k]

    def pull(result) -> float:  # how far the trained line moved from `base` toward the outlier
        w, b = result.runs["Full batch"].param_rows[-1]
        return float((base - (w * X[k] + b)) / gap)  # 0: not at all, 1: all the way

    assert answer("2a").startswith("Yes") and answer("2b") == "Less"
    # MSE ends on the least-squares line through all 12 points: a fifth of the way to the outlier
    assert pull(mse) == pytest.approx((base - np.polyval(fit(X, y), X[k])) / gap, abs=0.01)
    assert pull(mse) > 0.15
    assert abs(pull(mae)) < pull(mse) / 4  # MAE barely moves
    slope = fit(np.delete(X, k), np.delete(y, k))[0]
    w_mse, _ = mse.runs["Full batch"].param_rows[-1]
    w_mae, _ = mae.runs["Full batch"].param_rows[-1]
    assert abs(w_mae - slope) < abs(w_mse - slope) / 4  # MAE's slope stays near the others'


def test_2c_binary_crossentropy_goes_from_a_coin_flip_toward_zero():
    result = race("2c")
    assert result.config.loss == "binary_crossentropy"
    assert abs(result.initial_loss - np.log(2)) < 0.1
    assert losses(result.runs["Full batch"])[-1] < 0.1


def test_2d_sparse_and_one_hot_crossentropy_give_the_same_curves():
    one_hot = race("2d")
    sparse = race("2d", loss="sparse_categorical_crossentropy")
    assert one_hot.config.loss == "categorical_crossentropy" and answer("2d") == "Exactly the same"
    for name in one_hot.runs:
        assert np.array_equal(losses(one_hot.runs[name]), losses(sparse.runs[name]))


def test_3_only_the_learning_rate_past_2_over_lambda_max_diverges():
    result = race("3")
    limit = result.surface_message()["lr_limit"]
    statuses = {name: run.status for name, run in result.runs.items()}
    assert statuses == {"lr 0.02": "completed", "lr 0.5": "completed", "lr 1.2": "diverged"}
    lrs = {run.name: run.lr for run in result.config.runs}
    assert lrs["lr 0.5"] < limit < lrs["lr 1.2"]
    assert f"{limit:.2f}" in STEPS["3"].text.en  # the text quotes the limit
    small, right = losses(result.runs["lr 0.02"]), losses(result.runs["lr 0.5"])
    assert small[-1] > 3 * right[-1]  # too small is still far from the bottom
    assert answer("3").startswith("Too big")


def test_4_sgd_zig_zags_most_and_full_batch_glides():
    result = race("4")
    rises = {name: int(np.sum(np.diff(losses(run)) > 0)) for name, run in result.runs.items()}
    assert rises["Full batch"] == 0 < rises["Mini-batch"] < rises["SGD"]
    share = {name: rises[name] / len(run.points) for name, run in result.runs.items()}
    assert share["SGD"] > share["Mini-batch"]  # per update too, not only by count
    assert answer("4") == "SGD"


def test_5_at_equal_samples_the_small_batch_is_lowest_but_the_noisiest():
    result = race("5")
    at_100 = {name: next(p["loss"] for p in run.points if p["samples"] >= 100)
              for name, run in result.runs.items()}
    assert at_100["B=1"] < at_100["B=10"] < at_100["B=100"]
    rises = {name: int(np.sum(np.diff(losses(run)) > 0)) for name, run in result.runs.items()}
    assert rises["B=1"] > rises["B=10"] > rises["B=100"] == 0
    assert result.config.pacing == "samples" and answer("5") == "B=1"


def test_6_a_thousand_samples_in_batches_of_a_hundred_for_five_epochs_is_fifty_iterations():
    result = race("6")
    (run,) = result.runs.values()
    assert (result.config.n_samples, run.batch_size, result.config.epochs) == (1000, 100, 5)
    assert run.iterations_per_epoch == 10 and run.total_iterations == 50
    assert len(run.points) == 50 and run.status == "completed"
    assert [p["epoch"] for p in run.points[9::10]] == [1, 2, 3, 4, 5]
    assert answer("6") == "50"


def test_7a_patience_stops_the_noisy_runs_early_and_not_the_full_batch():
    result = race("7a")
    for name in ("SGD", "Mini-batch"):
        run = result.runs[name]
        assert run.status == "early_stopped" and len(run.points) < run.total_iterations / 5
    full = result.runs["Full batch"]
    assert full.status == "completed" and len(full.points) == full.total_iterations
    assert answer("7a") == "SGD and mini-batch"


def test_7b_every_run_reaches_the_target_and_sgd_sees_the_fewest_samples():
    result = race("7b")
    target = result.config.target_loss
    seen = {}
    for name, run in result.runs.items():
        assert run.status == "target_reached" and run.points[-1]["loss"] <= target
        seen[name] = run.points[-1]["samples"]
    assert seen["SGD"] < seen["Mini-batch"] < seen["Full batch"]
    assert answer("7b") == "SGD"

"""A race: one comparison's runs, advanced on demand and turned into the socket's JSON messages.

Everything here is synchronous and owns no clock: the session decides when to advance which run.
The engine does the maths; this module only reads its Steps and says them in JSON terms
(lists of floats, `None` for what is not finite).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.history import thin
from app.core.repeats import median_repeat, spread
from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.live import surfaces
from engine import Dataset, Problem, Schedule, Step, make_dataset, model_for
from engine.datasets import custom_dataset
from engine.descent import RunSpec, start_runs
from engine.inspector import (
    Inspection,
    Prediction,
    inspect_step,
    line_ends,
    line_values,
    predict,
)
from engine.projection import Residuals
from engine.surface import Surface, exact_surface, projected_surface

SURFACE_GRID = 51
PROJECTED_GRID = 31
#: A kept point's dict, without its parameters (8 bytes each): what the history bound counts.
#: Past `Settings.max_points_per_session` points or `max_history_mb` bytes, the older half of
#: each run is thinned to every other point, and the timeline and late joiners say so.
POINT_BYTES = 400
DEFAULT_LIMITS = Settings()
#: A projected surface starts on a random slice (there are no paths yet) and moves to the plane
#: of the paths (PCA) once the leading run has made this many iterations; the plane is fitted
#: again each time that count has grown AUTO_FIT_GROWTH-fold and once more when the race ends,
#: so the paths keep filling the view as they grow (a teacher's "random" choice stops this).
#: A refit is the costliest thing a session does (a new 31 x 31 surface, every point moved):
#: 4-fold rather than doubling makes a 300-iteration race's refits 4 (8, 32, 128, the end)
#: instead of 7, about a third of a 100-session server's CPU (issue 17).
AUTO_FIT_FIRST = 8
AUTO_FIT_GROWTH = 4
#: Points whose loss climbed past this many times the start's, or that lie further from the
#: start than FIT_DISTANCE_FACTOR times its length (at least 1), are left out of the fit (still
#: drawn): a run on its way to diverging would stretch the plane until the others are a dot.
#: (A clipped loss, as in cross-entropy, can stay small while the weights blow up.)
FIT_LOSS_FACTOR = 10.0
FIT_DISTANCE_FACTOR = 100.0


class TooManyIterations(ValueError):
    """A run longer than the server allows (`DESCENT_MAX_ITERATIONS_PER_RUN`)."""

    code = "too_many_iterations"

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def _clean(values: Any) -> Any:
    """A NumPy array as JSON-safe Python floats: entries that are not finite become None."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:  # every point's parameters: the sum is finite only if each entry is
        out = arr.tolist()  # (or it overflowed: then the check below), 3x faster than NumPy's
        if math.isfinite(sum(out)):
            return out
    if np.all(np.isfinite(arr)):
        return arr.tolist()
    out = arr.astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


@dataclass
class Run:
    """One contestant's live state."""

    name: str
    batch_size: int | None
    lr: float
    update: str
    color: int
    trainer: Any
    schedule: Schedule  #: the run's arithmetic: iterations per epoch, total, samples seen
    repeat: int = 0  #: which of the run's repeats this is (0: the one a single run would be)
    last: Step | None = None
    status: str = "running"
    samples: int = 0
    points: list[dict[str, Any]] = field(default_factory=list)  # without "params"
    param_rows: list[np.ndarray] = field(default_factory=list)  # each point's parameters

    def history(self) -> list[dict[str, Any]]:
        """The points kept so far, each with its parameters, as the frames carried them."""
        return [{**p, "params": _clean(row)} for p, row in zip(self.points, self.param_rows,
                                                                 strict=True)]

    @property
    def key(self) -> tuple[str, int]:
        """The run and repeat: what the pacer gives its credit to."""
        return self.name, self.repeat

    def thin(self) -> None:
        """Keep every other point of the older half."""
        self.points, self.param_rows = thin(self.points), thin(self.param_rows)

    @property
    def going(self) -> bool:
        return self.status == "running"

    @property
    def iterations_per_epoch(self) -> int:
        return self.schedule.iterations_per_epoch

    @property
    def total_iterations(self) -> int:
        return self.schedule.total_iterations


def check_iterations(runs: Iterable[Run], epochs: int, limit: int, repeats: int = 1) -> None:
    """Refuse a race one of whose runs would take more than `limit` iterations (all its
    repeats together)."""
    for run in runs:
        check_run(run.name, run.iterations_per_epoch, epochs, repeats, limit)


def check_run(name: str, per_epoch: int, epochs: int, repeats: int, limit: int) -> int:
    """A run's iterations over all its repeats; TooManyIterations past `limit`."""
    total = per_epoch * epochs * repeats
    if total > limit:
        times = f" x {repeats} repeats" if repeats > 1 else ""
        fewer = "repeats, " if repeats > 1 else ""
        raise TooManyIterations(
            f"run {name!r} would take {total:,} iterations ({epochs} epochs x {per_epoch:,} per "
            f"epoch{times}); this server allows at most {limit:,} per run "
            f"(DESCENT_MAX_ITERATIONS_PER_RUN): lower {fewer}epochs or n_samples, or use a "
            "bigger batch", limit)
    return total


def dataset_for(config: TrainConfig) -> Dataset:
    """The config's data: a user's own points (`data`, standardized if asked) or a generated set."""
    if config.data is not None:
        return custom_dataset(config.data.task, config.data.X, config.data.y,
                              config.data.standardize)
    return make_dataset(config.dataset, n_samples=config.rows, noise=config.noise,
                        seed=config.seed, n_classes=config.n_classes)


class Race:
    """The runs of one comparison, their shared problem and the surface they are drawn on."""

    def __init__(self, config: TrainConfig, generation: int, limits: Settings = DEFAULT_LIMITS,
                 keep_all: bool = False) -> None:
        """Build the comparison; `limits` are the server's caps (TooManyIterations past them).

        `keep_all` keeps every point (a headless run, bounded by its own caps); otherwise the
        history is thinned past the session's bounds.
        """
        self.config = config
        self.generation = generation
        self.lesson: dict[str, Any] | None = None  # the lesson step shown ({id, step}), if any
        self.thinned = False
        self.data = dataset_for(config)
        self.model = model_for(self.data.task, self.data.n_features, self.data.n_classes,
                               config.hidden, config.activation, config.seed)
        self.problem = Problem(self.model, config.loss, self.data.X, self.data.y)
        self.n = self.data.n_samples
        self.line_x = line_ends(self.problem)  # the model is w·x + b: its line's ends
        specs = [RunSpec(r.name, r.batch_size, r.lr, r.update) for r in config.runs]
        trainers = [start_runs(
            self.data.X, self.data.y, self.model, config.loss, specs,
            lr=config.lr, epochs=config.epochs, seed=config.seed,
            target_loss=config.target_loss, patience=config.patience, repeat=repeat,
        ) for repeat in range(config.repeats)]
        #: Each run's repeats (config.repeats of them; one unless asked), and repeat 0 by name:
        #: the one the step panel opens up and a single run is.
        self.repeats: dict[str, list[Run]] = {}
        for color, r in enumerate(config.runs):
            self.repeats[r.name] = [Run(
                name=r.name, batch_size=r.batch_size, lr=config.lr if r.lr is None else r.lr,
                update=r.update, color=color, trainer=trainers[repeat][r.name],
                schedule=self.problem.schedule(r.batch_size, config.epochs), repeat=repeat,
            ) for repeat in range(config.repeats)]
        self.runs: dict[str, Run] = {name: each[0] for name, each in self.repeats.items()}
        self.all: list[Run] = [run for each in self.repeats.values() for run in each]
        check_iterations(self.runs.values(), config.epochs, limits.max_iterations_per_run,
                         config.repeats)
        self.residuals = Residuals()
        point_bytes = 8 * self.model.n_params + POINT_BYTES
        self.max_kept = None if keep_all else max(2, min(
            limits.max_points_per_session, limits.max_history_mb * 2**20 // point_bytes))
        self.kept = 0
        self.start = self.model.get_params()
        self.initial_loss = self.problem.loss_at(self.start)
        self.plane = "pca"  # projected: the plane asked for ("pca" follows the paths, or "random")
        self.fitted_at = 0  # the leading run's iteration when the plane was last fitted to them
        self.plane_lock = threading.Lock()
        self._base_digest: bytes | None = None
        self.surface = self._make_surface()

    # -- the surface -----------------------------------------------------------------------
    def _make_surface(self) -> Surface:
        if self.model.n_params == 2:
            return surfaces.shared(self._digest("exact"), lambda: exact_surface(
                self.model, self.config.loss, self.data.X, self.data.y, grid=SURFACE_GRID,
                start=self.start))
        return self._projected("random", None)

    def _projected(self, method: str, fit: dict[str, np.ndarray] | None) -> Surface:
        """The projected surface through the start: a random slice, or the plane of `fit`."""
        paths = [part for name, p in (fit or {}).items() for part in (name, p)]
        return surfaces.shared(self._digest(method, *paths), lambda: projected_surface(
            self.model, self.config.loss, self.data.X, self.data.y, paths=fit,
            grid=PROJECTED_GRID, method=method, seed=self.config.seed, center=self.start))

    def _digest(self, *parts: Any) -> bytes:
        """What this race's surfaces depend on, and `parts` (see app/live/surfaces.py)."""
        if self._base_digest is None:  # the data, the model and its start: once per race
            model = self.model
            self._base_digest = surfaces.digest(
                model.layer_sizes, model.activation, model.output, self.config.loss,
                self.config.seed, self.data.X, self.data.y, self.start)
        return surfaces.digest(self._base_digest, *parts)

    @property
    def exact(self) -> bool:
        return self.surface.kind == "exact"

    def leading_iteration(self) -> int:
        """The iteration of the run furthest along (0 before the first step)."""
        return max((run.last.iteration for run in self.all if run.last), default=0)

    def refit_due(self) -> bool:
        """Whether the plane should be fitted to the paths again now (see AUTO_FIT_FIRST)."""
        if self.exact or self.plane != "pca":
            return False
        lead = self.leading_iteration()
        if lead <= self.fitted_at:
            return False
        return lead >= self._fit_due() or self.finished

    def _fit_due(self) -> int:
        """The leading iteration of the next refit (its points are the fit's, whenever the
        pacer gets to it: races of one config then fit the same points, and share the plane)."""
        return max(AUTO_FIT_FIRST, AUTO_FIT_GROWTH * self.fitted_at)

    # -- advancing -------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return not any(run.going for run in self.all)

    def run_of(self, key: tuple[str, int]) -> Run:
        """The run and repeat `key` names (Run.key)."""
        return self.repeats[key[0]][key[1]]

    def going(self) -> list[Run]:
        """Every run and repeat still going."""
        return [run for run in self.all if run.going]

    def advance(self, run: Run, with_params: bool = True) -> dict[str, Any] | None:
        """One iteration of `run`; its point (or None if the run had already ended), with its
        parameters as frames carry them unless `with_params` is False (a headless run: they
        are kept as an array, and written out once, in the document)."""
        if not run.going:
            return None
        step = next(run.trainer, None)
        if step is None:  # cannot happen: the last Step carries a final status
            run.status = "completed"
            return None
        run.last = step
        run.status = step.status
        run.samples = run.schedule.samples_seen(step.iteration)
        kept = self.point(run, step)
        run.points.append(kept)
        run.param_rows.append(step.params)
        self.kept += 1
        if self.max_kept is not None and self.kept > self.max_kept:
            for each in self.all:
                each.thin()
            self.kept = sum(len(each.points) for each in self.all)
            self.thinned = True
        return {**kept, "params": _clean(step.params)} if with_params else kept

    def stop(self) -> None:
        """End every run still going, with status "stopped"."""
        for run in self.all:
            if run.going:
                run.status = "stopped"
                run.trainer.close()

    def point(self, run: Run, step: Step) -> dict[str, Any]:
        """A Step as a frame's point, without its parameters (the run keeps them as an array)."""
        xy, residual = self.surface.project(step.params)
        point = {
            "iteration": step.iteration,
            "epoch": step.epoch,
            "batch_size": step.batch_size,
            "samples": run.samples,
            "batch_loss": step.batch_loss,
            "loss": step.loss,
            "xy": _clean(xy),
            "status": step.status,
        }
        if self.config.repeats > 1:
            point["repeat"] = run.repeat
        if self.line_x is not None:
            point["line"] = [_finite(v) for v in line_values(step.params, self.line_x)]
        if not self.exact:
            share = float(residual)
            point["residual"] = share
            self.residuals.add(share)
        return point

    # -- messages --------------------------------------------------------------------------
    def started_message(self) -> dict[str, Any]:
        task = self.data.task
        y = self.data.y[:, 0] if self.data.y.ndim == 2 else self.data.y
        lesson = {"lesson": self.lesson} if self.lesson else {}  # viewers show the step's text
        return {
            **lesson,
            "type": "started",
            "generation": self.generation,
            "config": self.config.model_dump(),
            "model": {
                "layer_sizes": self.model.layer_sizes,
                "n_params": self.model.n_params,
                "param_names": self.model.param_names(),
                "activation": self.model.activation,
                "output": self.model.output,
                "line": None if self.line_x is None else {"x": _clean(self.line_x)},
            },
            "dataset": {
                "name": self.data.name,
                "task": task,
                "n_samples": self.n,
                "n_features": self.data.n_features,
                "n_classes": self.data.n_classes,
                "X": _clean(self.data.X),
                "y": y.tolist(),
                # custom data, standardized: X = (raw - shift) / scale, per feature
                "shift": None if self.data.shift is None else _clean(self.data.shift),
                "scale": None if self.data.scale is None else _clean(self.data.scale),
            },
            "initial_loss": self.initial_loss if math.isfinite(self.initial_loss) else None,
            "runs": [
                {
                    "name": run.name,
                    "batch_size": run.batch_size,
                    "effective_batch_size": run.schedule.effective_batch_size,
                    "last_batch_size": run.schedule.last_batch_size,
                    "lr": run.lr,
                    "update": run.update,
                    "color": run.color,
                    "iterations_per_epoch": run.iterations_per_epoch,
                    "total_iterations": run.total_iterations,
                }
                for run in self.runs.values()
            ],
        }

    def surface_message(self) -> dict[str, Any]:
        s = self.surface
        start_xy, _ = s.project(self.start)
        lr_limit = 2.0 / s.lambda_max if s.lambda_max else None
        return {
            "type": "surface",
            "generation": self.generation,
            "kind": s.kind,
            "method": s.method,
            "x": _clean(s.x),
            "y": _clean(s.y),
            "z": _clean(s.z),
            "labels": list(s.labels),
            "start": _clean(start_xy),
            "start_loss": self.initial_loss if math.isfinite(self.initial_loss) else None,
            "minimum": None if s.marked_minimum is None else _clean(s.marked_minimum),
            "minimum_loss": None if s.marked_minimum is None else s.minimum_loss,
            "lambda_max": s.lambda_max,
            "lr_limit": lr_limit,
            "residual": self.residual_summary(),
            "plane": None if self.exact else self.plane,
        }

    def residual_summary(self) -> dict[str, float] | None:
        """Mean and max residual share over every point drawn so far (projected only)."""
        return None if self.exact else self.residuals.summary()

    def reproject(self, method: str, auto: bool = False) -> dict[str, Any] | None:
        """A new projected plane (PCA of the paths so far, or the random slice) and every point
        on it; `auto` is the race's own refit, None if a teacher's choice made it moot."""
        with self.plane_lock:  # the pacer's refit and a teacher's choice, one after the other
            if self.exact:
                raise ValueError(
                    "this surface is exact (two parameters): there is nothing to project")
            if auto and not self.refit_due():
                return None
            if not auto:
                self.plane = method
            return self._reproject(method, self._fit_due() if auto and not self.finished else None)

    def _reproject(self, method: str, upto: int | None = None) -> dict[str, Any]:
        """The plane of the points up to iteration `upto` (all if None), every point on it."""
        fit = self._fit_paths(upto)
        if method == "pca":  # (also when it fails: not again every tick)
            self.fitted_at = self.leading_iteration() if upto is None else upto
            if not fit:
                raise ValueError("the PCA plane needs the paths: start the runs first")
        self.surface = self._projected(method, fit if method == "pca" else None)
        self.residuals = Residuals()
        coords: dict[str, dict] = {}
        for run in self.all:
            if not run.points:
                continue
            rows = np.array(run.param_rows)
            ok = np.all(np.isfinite(rows), axis=1)
            xy, shares = np.full((len(rows), 2), np.nan), np.full(len(rows), np.nan)
            if ok.any():
                xy[ok], shares[ok] = self.surface.project(rows[ok])
            for point, where, share in zip(run.points, _clean(xy), _clean(shares), strict=True):
                point["xy"], point["residual"] = where, share
                if share is not None:
                    self.residuals.add(share)
            path = {"xy": _clean(xy), "residual": _clean(shares),
                    "iterations": [p["iteration"] for p in run.points]}
            if run.repeat == 0:
                coords[run.name] = path
            elif run.name in coords:  # the run's other repeats, beside repeat 0's own entry
                coords[run.name].setdefault("repeats", []).append({**path, "repeat": run.repeat})
        message = self.surface_message()
        message["paths"] = coords
        return message

    def _fit_paths(self, upto: int | None = None) -> dict[str, np.ndarray]:
        """Each run's points the plane is fitted to (up to iteration `upto`): finite, and not
        on the way to diverging."""
        limit = FIT_LOSS_FACTOR * self.initial_loss if math.isfinite(self.initial_loss) else 0
        far = FIT_DISTANCE_FACTOR * max(float(np.linalg.norm(self.start)), 1.0)
        fit = {}
        for run in self.all:
            name = run.name if run.repeat == 0 else f"{run.name} #{run.repeat}"
            rows = [row for point, row in zip(run.points, run.param_rows, strict=True)
                    if (upto is None or point["iteration"] <= upto)
                    and point["loss"] is not None and point["loss"] <= limit  # not NaN either
                    and np.all(np.abs(row - self.start) < far)]  # nor inf
            if rows:
                fit[name] = np.array(rows)
        return fit

    def frame_message(self, points: dict[str, list[dict[str, Any]]], t: float) -> dict[str, Any]:
        return {"type": "frame", "generation": self.generation, "t": t, "runs": points}

    def history_message(self) -> dict[str, Any]:
        """Every point kept so far, as one frame (marked when the history was thinned)."""
        message = self.frame_message(
            self.histories(), time.time())
        if self.thinned:
            message["thinned"] = True
        return message

    def histories(self) -> dict[str, list[dict[str, Any]]]:
        """Each run's points kept so far (with parameters), its repeats one after the other."""
        out = {name: [p for run in each for p in run.history()]
               for name, each in self.repeats.items()}
        return {name: points for name, points in out.items() if points}

    def done_message(self) -> dict[str, Any]:
        runs = {}
        for name, each in self.repeats.items():
            runs[name] = outcome(each[0])
            if len(each) > 1:  # every repeat's outcome, and the spread of their final losses
                losses = [run.last.loss if run.last else None for run in each]
                runs[name]["repeats"] = [outcome(run) for run in each]
                runs[name].update(spread(losses), median_repeat=median_repeat(losses))
        return {"type": "done", "generation": self.generation, "runs": runs,
                "residual": self.residual_summary()}

    def detail_message(
        self, run: Run, inspected: bool = False, batch_surface: bool = False
    ) -> dict[str, Any] | None:
        """The latest iteration of `run`, opened up: forward, loss, backward, update."""
        step = run.last
        if step is None:
            return None
        seen = inspect_step(self.problem, step, self.surface, predicted=inspected,
                            batch_surface=inspected and batch_surface)
        msg: dict[str, Any] = {
            "type": "detail",
            "generation": self.generation,
            "run": run.name,
            "iteration": step.iteration,
            "epoch": step.epoch,
            "status": step.status,
            "batch_size": step.batch_size,
            "lr": step.lr,
            "update": run.update,
            "forward": {
                "x": _clean(seen.x),
                "y_hat": _clean(seen.y_hat),
                "t": _targets(seen.t),
                "losses": _clean(seen.losses),
                "indices": seen.indices.tolist(),
                "line": seen.line,
            },
            "batch_loss": step.batch_loss,
            "loss": step.loss,
            "loss_before": _finite(seen.loss_before),
            "grad": None if step.grad is None else _clean(step.grad),
            "grad_norm": step.grad_norm,
            "full_grad": _clean(seen.full_grad),
            "full_grad_norm": _clean(seen.full_grad_norm),
            "residual_summary": self.residual_summary(),
            "params_before": _clean(step.prev_params),
            "params": _clean(step.params),
            "param_names": self.model.param_names() if self.model.n_params <= 12 else None,
        }
        msg.update(_arrows(seen))
        if seen.prediction is not None:
            msg["prediction"] = _prediction(seen.prediction)
        if seen.batch_z is not None:
            msg["batch_surface"] = {"z": _clean(seen.batch_z), "iteration": step.iteration}
        return msg

    def prediction(self, params: np.ndarray) -> dict[str, Any]:
        """What the model at `params` predicts over the data's range, as the data view draws it."""
        return _prediction(predict(self.problem, params))


def outcome(run: Run) -> dict[str, Any]:
    """How a run (one repeat) ended: status, iterations, epochs and its final full-data loss."""
    return {
        "status": run.status,
        "iterations": run.last.iteration if run.last else 0,
        "epochs": run.last.epoch if run.last else 0,
        "loss": run.last.loss if run.last else None,
    }


def _targets(t: np.ndarray) -> list[Any]:
    """The shown samples' targets as the loss reads them: a value, a one-hot row or a class index."""
    if t.dtype.kind in "iu":
        return t.tolist()  # class indices (sparse_categorical_crossentropy)
    return _clean(t[:, 0] if t.ndim == 2 and t.shape[1] == 1 else t)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _arrows(seen: Inspection) -> dict[str, Any]:
    """The step's gradients on the drawn plane, from where it began (none if not finite)."""
    if seen.at_xy is None:
        return {}
    return {"grad_xy": _clean(seen.grad_xy), "full_grad_xy": _clean(seen.full_grad_xy),
            "angle": seen.angle, "at_xy": _clean(seen.at_xy)}


def _prediction(p: Prediction) -> dict[str, Any]:
    """The model's line or probability grid, as the data view draws it."""
    if p.kind == "line":
        return {"kind": "line", "x": _clean(p.x), "y": _clean(p.y)}
    out = {"kind": "grid", "x": _clean(p.x), "y": _clean(p.y), "z": _clean(p.z)}
    if p.label is None:
        return {**out, "classes": 2}
    return {**out, "label": p.label.tolist(), "classes": p.classes}

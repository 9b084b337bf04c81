"""Exports of a comparison, computed: a config in, the JSON export's document out.

Runs are bit-reproducible from their config (every random draw is seeded), so an export
recomputes the comparison on the server and cuts each run at the iteration it had reached on the
teacher's screen. The JSON export has the shape of `POST /api/runs` plus a format marker::

    {"format": "descent-playground/1", "config": {...}, "started": {...}, "surface": {...},
     "runs": {"SGD": [point, ...], ...}, "done": {...}}

app/export/formats.py writes it as CSV or JSON, app/export/report.py as an HTML report, and
app/export/validate.py checks such a file before the page replays it. A replay asks for the
step panel of an iteration with `detail_at`: the run recomputed up to it and opened up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.schemas import MAX_RUNS, Int, TrainConfig, echo, first_error
from app.core.settings import Settings
from app.export.lrmap import LrMap, check_shape
from app.live.race import DEFAULT_LIMITS, Race, check_run
from engine.losses import get_task
from engine.problem import iterations_per_epoch

FORMAT = "descent-playground/1"


class ExportError(ValueError):
    """An export that cannot be made or a file that is not an export; the message says why."""


class ExportRequest(BaseModel):
    """The body of `POST /api/export/{fmt}`: a config and, optionally, where to cut each run."""

    model_config = ConfigDict(extra="forbid")

    config: TrainConfig = Field(default_factory=TrainConfig)
    iterations: Annotated[dict[str, Int(0, 10**9)], Field(max_length=MAX_RUNS)] | None = None
    lang: Literal["en", "ko"] = "en"  # the page's language: the HTML report's (CSV, JSON: none)
    lr_map: LrMap | None = None  # the learning-rate map of this config, if the page has one


def parse_request(body: Any) -> ExportRequest:
    """A validated export request, or ExportError naming the first problem."""
    if not isinstance(body, dict):
        raise ExportError('the body must be a JSON object: {"config": {...}, "iterations": {...}}')
    try:
        request = ExportRequest.model_validate(body)
    except ValidationError as exc:
        raise ExportError(first_error(exc)[1]) from None
    if request.lr_map is not None:
        try:
            check_shape(request.lr_map)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
    names = [run.name for run in request.config.runs]
    unknown = sorted(set(request.iterations or {}) - set(names))
    if unknown:
        shown = ", ".join(name if len(name) <= 40 else name[:37] + "..." for name in unknown)
        raise ExportError(f"iterations names unknown runs: {shown}; "
                          f"the runs are: {', '.join(names)}")
    return request


def count_params(sizes: list[int]) -> int:
    """Weights and biases of an MLP with these layer sizes (as engine.MLP counts them)."""
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def n_params(config: TrainConfig) -> int:
    """The model's number of parameters, from the config alone."""
    n_out = get_task(config.task).n_outputs(config.n_classes or 3)
    return count_params([config.n_features, *config.hidden, n_out])


def plan(config: TrainConfig, iterations: Mapping[str, int] | None = None,
         limits: Settings = DEFAULT_LIMITS) -> dict[str, int]:
    """Per run, the last iteration to compute (the requested cut, at most the whole run), in
    each of its repeats.

    Arithmetic on the config only (nothing is built, so a refusal costs nothing): raises
    TooManyIterations or ExportError naming the cap when the work is too much.
    """
    wanted = iterations or {}
    cuts = {}
    for run in config.runs:
        per_epoch = iterations_per_epoch(config.rows, run.batch_size)
        check_run(run.name, per_epoch, config.epochs, config.repeats,
                  limits.max_iterations_per_run)
        total = per_epoch * config.epochs
        cuts[run.name] = min(wanted.get(run.name, total), total)
    planned = sum(cuts.values()) * config.repeats  # every repeat is computed and sent
    if planned > limits.max_headless_iterations:
        repeats = f" ({config.repeats} repeats of each)" if config.repeats > 1 else ""
        raise ExportError(
            f"this needs up to {planned:,} iterations over all runs{repeats}; one headless run "
            f"or export may compute at most {limits.max_headless_iterations:,} "
            "(DESCENT_MAX_HEADLESS_ITERATIONS): lower epochs or n_samples, use bigger batches, "
            f"{'use fewer repeats, ' if repeats else ''}or cut the runs earlier"
        )
    params = n_params(config)
    values = planned * (params + 8)
    if values > limits.max_headless_values:
        raise ExportError(
            f"this would hold {values:,} numbers ({planned:,} points x "
            f"({params} parameters + 8)); at most {limits.max_headless_values:,} "
            "(DESCENT_MAX_HEADLESS_VALUES): use a smaller model, fewer iterations, or cut the "
            "runs earlier"
        )
    return cuts


def run_race(config: TrainConfig, iterations: Mapping[str, int] | None = None,
             limits: Settings = DEFAULT_LIMITS) -> Race:
    """The comparison's race, each run advanced to `iterations[name]` (default: to its end).

    `limits` are the server's caps on the work and the size of the result, checked before
    anything is built.
    """
    cuts = plan(config, iterations, limits)
    race = Race(config, generation=1, limits=limits, keep_all=True)
    for run in race.all:
        while len(run.points) < cuts[run.name] and race.advance(run, False) is not None:
            pass
    return race


def document(race: Race) -> dict[str, Any]:
    """The race as the JSON export (runs cut before their end stopped, as after Stop)."""
    race.stop()
    if race.refit_due():  # the plane of the paths, as the page ends up showing it
        with contextlib.suppress(ValueError):  # paths that never left the start: random slice
            race.reproject("pca", auto=True)
    return {
        "format": FORMAT,
        "config": race.config.model_dump(),
        "started": race.started_message(),
        "surface": race.surface_message(),
        # each run's repeats one after the other, each point marked with its repeat
        "runs": {name: [p for run in each for p in run.history()]
                 for name, each in race.repeats.items()},
        "done": race.done_message(),
    }


def compute(config: TrainConfig, iterations: Mapping[str, int] | None = None,
            limits: Settings = DEFAULT_LIMITS) -> dict[str, Any]:
    """The comparison as the JSON export, each run cut at `iterations[name]` (default: all)."""
    return document(run_race(config, iterations, limits))


def compute_report(config: TrainConfig, iterations: Mapping[str, int] | None = None,
                   limits: Settings = DEFAULT_LIMITS) -> dict[str, Any]:
    """The JSON export plus what the HTML report shows of each run's final state: its last
    iteration opened up (`details`, None before the first) and its final model (`models`)."""
    race = run_race(config, iterations, limits)
    result = document(race)
    result["details"] = {name: race.detail_message(run, inspected=True)
                         for name, run in race.runs.items()}
    result["models"] = {name: race.prediction(run.last.params if run.last else race.start)
                        for name, run in race.runs.items()}
    return result


class DetailRequest(BaseModel):
    """The body of `POST /api/runs/detail`: one iteration of one run of a config, opened up."""

    model_config = ConfigDict(extra="forbid")

    config: TrainConfig
    run: Annotated[str, Field(min_length=1, max_length=40)]
    iteration: Int(1, 10**9)

    def cuts(self) -> dict[str, int]:
        """Where to cut each run: this one at its iteration, the others before their first."""
        return {run.name: self.iteration if run.name == self.run else 0
                for run in self.config.runs}


def parse_detail_request(body: Any) -> DetailRequest:
    """A validated detail request, or ExportError naming the first problem."""
    if not isinstance(body, dict):
        raise ExportError('the body must be a JSON object: {"config": {...}, "run": "...", '
                          '"iteration": 1}')
    try:
        request = DetailRequest.model_validate(body)
    except ValidationError as exc:
        raise ExportError(first_error(exc)[1]) from None
    names = [run.name for run in request.config.runs]
    if request.run not in names:
        raise ExportError(f"run {echo(request.run, 40)} is not one of the config's runs: "
                          f"{', '.join(names)}")
    return request


def detail_at(request: DetailRequest, limits: Settings = DEFAULT_LIMITS) -> dict[str, Any]:
    """Iteration `request.iteration` of the run (or its last, if it ended before), recomputed
    from the config and opened up as the socket's `detail` message: what a replay shows."""
    race = run_race(request.config, request.cuts(), limits)
    detail = race.detail_message(race.runs[request.run], inspected=True)
    assert detail is not None  # the cut is at least one iteration, and every run has one
    return detail

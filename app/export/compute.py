"""Exports of a comparison, computed: a config in, the JSON export's document out.

Runs are bit-reproducible from their config (every random draw is seeded), so an export
recomputes the comparison on the server and cuts each run at the iteration it had reached on the
teacher's screen. The JSON export has the shape of `POST /api/runs` plus a format marker::

    {"format": "descent-playground/1", "config": {...}, "started": {...}, "surface": {...},
     "runs": {"SGD": [point, ...], ...}, "done": {...}}

app/export/formats.py writes it as CSV or JSON, app/export/report.py as an HTML report, and
app/export/validate.py checks such a file before the page replays it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.schemas import MAX_RUNS, Int, TrainConfig, first_error
from app.core.settings import Settings
from app.live.race import DEFAULT_LIMITS, Race, TooManyIterations
from engine.datasets import DATASETS
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


def parse_request(body: Any) -> ExportRequest:
    """A validated export request, or ExportError naming the first problem."""
    if not isinstance(body, dict):
        raise ExportError('the body must be a JSON object: {"config": {...}, "iterations": {...}}')
    try:
        request = ExportRequest.model_validate(body)
    except ValidationError as exc:
        raise ExportError(first_error(exc)[1]) from None
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
    spec = DATASETS[config.dataset]
    n_out = get_task(spec.task).n_outputs(config.n_classes or 3)
    return count_params([spec.n_features, *config.hidden, n_out])


def plan(config: TrainConfig, iterations: Mapping[str, int] | None = None,
         limits: Settings = DEFAULT_LIMITS) -> dict[str, int]:
    """Per run, the last iteration to compute (the requested cut, at most the whole run).

    Arithmetic on the config only (nothing is built, so a refusal costs nothing): raises
    TooManyIterations or ExportError naming the cap when the work is too much.
    """
    wanted = iterations or {}
    cuts = {}
    for run in config.runs:
        per_epoch = iterations_per_epoch(config.n_samples, run.batch_size)
        total = per_epoch * config.epochs
        if total > limits.max_iterations_per_run:
            raise TooManyIterations(
                f"run {run.name!r} would take {total:,} iterations ({config.epochs} epochs x "
                f"{per_epoch:,} per epoch); this server allows at most "
                f"{limits.max_iterations_per_run:,} per run (DESCENT_MAX_ITERATIONS_PER_RUN): "
                "lower epochs or n_samples, or use a bigger batch", limits.max_iterations_per_run)
        cuts[run.name] = min(wanted.get(run.name, total), total)
    planned = sum(cuts.values())
    if planned > limits.max_headless_iterations:
        raise ExportError(
            f"this needs up to {planned:,} iterations over all runs; one headless run or export "
            f"may compute at most {limits.max_headless_iterations:,} "
            "(DESCENT_MAX_HEADLESS_ITERATIONS): lower epochs or n_samples, use bigger batches, "
            "or cut the runs earlier"
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


def compute(config: TrainConfig, iterations: Mapping[str, int] | None = None,
            limits: Settings = DEFAULT_LIMITS) -> dict[str, Any]:
    """The comparison as the JSON export, each run cut at `iterations[name]` (default: all).

    `limits` are the server's caps on the work and the size of the result, checked before
    anything is built.
    """
    cuts = plan(config, iterations, limits)
    race = Race(config, generation=1, limits=limits, keep_all=True)
    for name, run in race.runs.items():
        while len(run.points) < cuts[name] and race.advance(run) is not None:
            pass
    race.stop()  # runs cut before their end: status "stopped", as after Stop on the page
    if race.refit_due():  # the plane of the paths, as the page ends up showing it
        with contextlib.suppress(ValueError):  # paths that never left the start: random slice
            race.reproject("pca", auto=True)
    return {
        "format": FORMAT,
        "config": config.model_dump(),
        "started": race.started_message(),
        "surface": race.surface_message(),
        "runs": {name: run.history() for name, run in race.runs.items()},
        "done": race.done_message(),
    }

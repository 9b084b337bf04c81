"""Checking a file before the page replays it: the JSON export's every field, bounded."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.schemas import (
    MAX_HIDDEN_LAYERS,
    MAX_LR,
    MAX_REPEATS,
    MAX_RUNS,
    MAX_SAMPLES,
    MAX_WIDTH,
    TrainConfig,
    echo,
    first_error,
)
from app.core.settings import Settings
from app.export.compute import FORMAT, count_params
from app.export.lrmap import LrMap, check_shape
from app.live.race import DEFAULT_LIMITS, PROJECTED_GRID, SURFACE_GRID
from engine.datasets import LIMITS
from engine.descent import UPDATE_RULES
from engine.losses import TASKS

# Every field the page reads, with its type and size bounded: numbers finite and strict (a
# string or a boolean is not a number), text where text belongs, lists no longer than the server
# ever makes them. Parsed and checked by pydantic in one pass (in Rust), in a worker thread.
MAX_GRID = max(SURFACE_GRID, PROJECTED_GRID)  # points per axis of a surface this server draws
# The largest model: 2 inputs, 4 hidden layers of 16, 5 classes (949 parameters).
MAX_PARAMS = count_params([2, *[MAX_WIDTH] * MAX_HIDDEN_LAYERS, LIMITS["n_classes"][1]])
MAX_POINTS = 1_000_000  # per run; the byte cap on uploads comes first (~100 bytes a point)
STATUSES = ("running", "completed", "diverged", "target_reached", "early_stopped", "stopped")

Num = Annotated[float, Field(strict=True)]  # finite: the models refuse inf and nan
Count = Annotated[int, Field(strict=True, ge=0, le=10**9)]
Text = Annotated[str, Field(max_length=200)]
RunName = Annotated[str, Field(min_length=1, max_length=40)]
Pair = Annotated[list[Num | None], Field(min_length=2, max_length=2)]
Status = Literal[STATUSES]  # type: ignore[valid-type]


class _Saved(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class SavedLine(_Saved):
    x: Pair  # the x at the ends of the line w·x + b; each point's `line` holds ŷ there


class SavedModel(_Saved):
    layer_sizes: Annotated[list[Count], Field(min_length=2, max_length=MAX_HIDDEN_LAYERS + 2)]
    n_params: Annotated[int, Field(strict=True, ge=1, le=MAX_PARAMS)]
    param_names: Annotated[list[Text], Field(max_length=MAX_PARAMS)]
    activation: Text
    output: Text
    line: SavedLine | None = None  # the model w·x + b only (files before it have none)


class SavedDataset(_Saved):
    name: Text
    task: Literal[tuple(TASKS)]  # type: ignore[valid-type]
    n_samples: Annotated[int, Field(strict=True, ge=1, le=MAX_SAMPLES)]
    n_features: Annotated[int, Field(strict=True, ge=1, le=2)]
    n_classes: Annotated[int, Field(strict=True, ge=1, le=LIMITS["n_classes"][1])]
    X: Annotated[list[Annotated[list[Num], Field(min_length=1, max_length=2)]],
                 Field(max_length=MAX_SAMPLES)]
    y: Annotated[list[Num], Field(max_length=MAX_SAMPLES)]
    # custom data, standardized: what each feature had subtracted and was divided by
    shift: Annotated[list[Num], Field(min_length=1, max_length=2)] | None = None
    scale: Annotated[list[Num], Field(min_length=1, max_length=2)] | None = None


class SavedRunInfo(_Saved):
    name: RunName
    batch_size: Annotated[int, Field(strict=True, ge=1)] | None
    effective_batch_size: Count
    lr: Annotated[float, Field(strict=True, gt=0, le=MAX_LR)]
    update: Literal[tuple(UPDATE_RULES)]  # type: ignore[valid-type]
    color: Annotated[int, Field(strict=True, ge=0, lt=MAX_RUNS)]
    iterations_per_epoch: Count
    total_iterations: Count
    last_batch_size: Count | None = None  # files saved before it have none


class SavedStarted(_Saved):
    type: Literal["started"]
    generation: Count
    config: TrainConfig
    model: SavedModel
    dataset: SavedDataset
    initial_loss: Num | None
    runs: Annotated[list[SavedRunInfo], Field(min_length=1, max_length=MAX_RUNS)]


class SavedResidual(_Saved):
    mean: Num | None  # null when a diverging run's residual share was not a number
    max: Num | None


class SavedSurface(_Saved):
    type: Literal["surface"]
    generation: Count
    kind: Literal["exact", "projected"]
    method: Text
    x: Annotated[list[Num | None], Field(min_length=2, max_length=MAX_GRID)]
    y: Annotated[list[Num | None], Field(min_length=2, max_length=MAX_GRID)]
    z: Annotated[list[Annotated[list[Num | None], Field(max_length=MAX_GRID)]],
                 Field(max_length=MAX_GRID)]
    labels: Annotated[list[Text], Field(min_length=2, max_length=2)]
    start: Pair
    start_loss: Num | None
    minimum: Pair | None
    minimum_loss: Num | None
    lambda_max: Num | None
    lr_limit: Num | None
    residual: SavedResidual | None
    plane: Literal["pca", "random"] | None = None  # projected: the plane asked for


class SavedPoint(_Saved):
    iteration: Annotated[int, Field(strict=True, ge=1, le=10**9)]
    epoch: Count
    batch_size: Count
    samples: Annotated[int, Field(strict=True, ge=0, le=10**15)]
    batch_loss: Num | None
    loss: Num | None
    xy: Pair
    params: Annotated[list[Num | None], Field(max_length=MAX_PARAMS)]
    status: Status
    residual: Num | None = None  # projected surfaces only
    line: Pair | None = None  # the model w·x + b only: ŷ at started.model.line.x
    repeat: Annotated[int, Field(strict=True, ge=0, lt=MAX_REPEATS)] | None = None  # repeats > 1


class SavedOutcome(_Saved):
    status: Status
    iterations: Count
    epochs: Count
    loss: Num | None


class SavedRunOutcome(SavedOutcome):
    """A run's outcome; with repeats also each repeat's and their final losses' spread."""

    repeats: Annotated[list[SavedOutcome], Field(max_length=MAX_REPEATS)] | None = None
    loss_median: Num | None = None
    loss_min: Num | None = None
    loss_max: Num | None = None
    median_repeat: Annotated[int, Field(strict=True, ge=0, lt=MAX_REPEATS)] | None = None


class SavedDone(_Saved):
    type: Literal["done"]
    generation: Count
    runs: Annotated[dict[RunName, SavedRunOutcome], Field(max_length=MAX_RUNS)]
    residual: SavedResidual | None


class SavedExport(_Saved):
    """A JSON export, as `compute` makes it: what "Load a saved run" replays."""

    format: Literal[FORMAT]  # type: ignore[valid-type]
    config: TrainConfig
    started: SavedStarted
    surface: SavedSurface
    runs: Annotated[dict[RunName, Annotated[list[SavedPoint], Field(max_length=MAX_POINTS)]],
                    Field(min_length=1, max_length=MAX_RUNS)]
    done: SavedDone
    lr_map: LrMap | None = None  # the learning-rate map of the config, when one was computed


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_together(saved: SavedExport, limits: Settings) -> None:
    """What no one field says: the sections agree with the config and with each other."""
    names = [run.name for run in saved.config.runs]
    _expect([run.name for run in saved.started.runs] == names,
            f"started.runs must list the config's runs, in order: {', '.join(names)}")
    _expect(list(saved.runs) == names,
            f"runs must map each run of the config to its points: {', '.join(names)}")
    _expect(sorted(saved.done.runs) == sorted(names), "done.runs must hold every run of the config")
    surface = saved.surface
    _expect(len(surface.z) == len(surface.y), "surface.z must have one row per surface.y value")
    for i, row in enumerate(surface.z):
        _expect(len(row) == len(surface.x), f"surface.z.{i} must hold {len(surface.x)} numbers, "
                "one per surface.x value")
    if saved.lr_map is not None:
        check_shape(saved.lr_map)
    n_params = saved.started.model.n_params
    total = sum(len(points) for points in saved.runs.values())
    _expect(total <= limits.max_headless_iterations,
            f"the file holds {total:,} points; this server replays at most "
            f"{limits.max_headless_iterations:,} (DESCENT_MAX_HEADLESS_ITERATIONS)")
    repeats = saved.config.repeats
    for name, points in saved.runs.items():
        expected = (0, 0)  # (repeat, iteration) of the point before: repeats one after the other
        for i, point in enumerate(points):
            repeat = point.repeat or 0
            _expect((point.repeat is None) == (repeats == 1) and repeat < repeats,
                    f"runs.{name}.{i}.repeat must be " + (
                        f"an integer in [0, {repeats - 1}] (config.repeats)" if repeats > 1
                        else "absent (config.repeats is 1)"))
            if repeat == expected[0] + 1 and point.iteration == 1:
                expected = (repeat, 0)  # the next repeat begins
            _expect(repeat == expected[0] and point.iteration == expected[1] + 1,
                    f"runs.{name}.{i}.iteration must be {expected[1] + 1} of repeat "
                    f"{expected[0]} (every iteration of each repeat, in order)"
                    if repeats > 1 else
                    f"runs.{name}.{i}.iteration must be {i + 1} (every iteration, in order)")
            expected = (repeat, point.iteration)
            _expect(len(point.params) == n_params,
                    f"runs.{name}.{i}.params must hold {n_params} numbers "
                    "(started.model.n_params)")


def _refusal(exc: ValidationError) -> ValueError:
    """The first problem of a file, in one plain sentence naming the field."""
    error = exc.errors(include_url=False)[0]
    if error["type"] == "json_invalid":
        return ValueError(f"the file is not valid JSON: {error['msg'].removeprefix('Invalid JSON: ')}")
    if error["type"] == "model_type" and not error["loc"]:
        return ValueError("an export must be a JSON object")
    if error["type"] == "literal_error" and error["loc"] == ("format",):
        return ValueError(f"not a Descent Playground export: format must be {FORMAT!r}, "
                          f"got {echo(error.get('input'), 40)}")
    return ValueError(first_error(exc)[1])


def load_export(data: Any, limits: Settings = DEFAULT_LIMITS) -> SavedExport:
    """`data` (parsed JSON) as an export the page can replay; else ValueError saying why."""
    return _checked(SavedExport.model_validate, data, limits)


def parse_upload(body: bytes, limits: Settings = DEFAULT_LIMITS) -> SavedExport:
    """An uploaded file's bytes as a checked export (ValueError if it is not one)."""
    body = body.removeprefix(codecs.BOM_UTF8)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    return _checked(SavedExport.model_validate_json, body, limits)


def _checked(validate: Callable[[Any], SavedExport], data: Any, limits: Settings) -> SavedExport:
    """`validate(data)`, each field and then the sections together; ValueError saying why."""
    try:
        saved = validate(data)
    except ValidationError as exc:
        raise _refusal(exc) from None
    _check_together(saved, limits)
    return saved

"""Exports of a comparison: CSV, JSON (what the live socket sent) and a standalone HTML report.

Runs are bit-reproducible from their config (every random draw is seeded), so an export
recomputes the comparison on the server and cuts each run at the iteration it had reached on the
teacher's screen. The JSON export has the shape of `POST /api/runs` plus a format marker::

    {"format": "descent-playground/1", "config": {...}, "started": {...}, "surface": {...},
     "runs": {"SGD": [point, ...], ...}, "done": {...}}

`load_export` checks that shape before the page replays a file.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, Literal

import orjson
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.race import DEFAULT_LIMITS, PROJECTED_GRID, SURFACE_GRID, Race, TooManyIterations
from app.schemas import (
    MAX_HIDDEN_LAYERS,
    MAX_LR,
    MAX_RUNS,
    MAX_SAMPLES,
    MAX_WIDTH,
    Int,
    TrainConfig,
    echo,
    first_error,
)
from app.settings import Settings
from engine.datasets import DATASETS, LIMITS
from engine.descent import iterations_per_epoch
from engine.losses import TASKS, get_task

FORMAT = "descent-playground/1"
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "html": "text/html; charset=utf-8"}
#: Okabe-Ito, colour-blind safe; the page's run colours, in the same order.
RUN_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7")
SURFACE_SCALE = [[0, "#ffffff"], [0.35, "#e9edf2"], [0.7, "#c5ced8"], [1, "#8b97a5"]]
INK = "#1f2933"
PLOTS_PX = 620  # height of the surface and loss plots in the report
TABLE_ROW_PX = 26
CSV_COLUMNS = ("run", "iteration", "epoch", "batch_size", "samples", "batch_loss", "loss",
               "status", "x", "y")
ENCODE_NUMBERS = 50_000  # numbers per orjson call (~2 ms of GIL each)



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


# -- computing ---------------------------------------------------------------------------------
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
    return {
        "format": FORMAT,
        "config": config.model_dump(),
        "started": race.started_message(),
        "surface": race.surface_message(),
        "runs": {name: run.history() for name, run in race.runs.items()},
        "done": race.done_message(),
    }


# -- rendering ---------------------------------------------------------------------------------
def filename(config: TrainConfig, fmt: str) -> str:
    """The download's file name: descent-<dataset>-seed<seed>.<fmt>."""
    return f"descent-{config.dataset}-seed{config.seed}.{fmt}"


def json_chunks(result: Mapping[str, Any]) -> Iterator[bytes]:
    """Strict, compact JSON (never NaN or Infinity: orjson writes them as null), as the socket
    sends it, in pieces. A slice of points at a time: one orjson call holds the GIL throughout,
    and over a whole 60 MB answer it would stall the event loop for ~100 ms."""
    yield b"{"
    for i, (key, value) in enumerate(result.items()):
        yield (b"," if i else b"") + orjson.dumps(key) + b":"
        if key != "runs":
            yield orjson.dumps(value)
            continue
        yield b"{"
        for j, (name, points) in enumerate(value.items()):
            yield (b"," if j else b"") + orjson.dumps(name) + b":["
            size = len(points[0]["params"]) + 10 if points else 1
            step = max(1, ENCODE_NUMBERS // size)
            for k in range(0, len(points), step):
                yield (b"," if k else b"") + orjson.dumps(points[k:k + step])[1:-1]
            yield b"]"
        yield b"}"
    yield b"}"


def json_bytes(result: Mapping[str, Any]) -> bytes:
    """`json_chunks` joined."""
    return b"".join(json_chunks(result))


def to_json(result: Mapping[str, Any]) -> str:
    """`json_bytes` as text."""
    return json_bytes(result).decode()


def _cell(value: Any) -> Any:
    return "" if value is None else value


def to_csv(result: Mapping[str, Any]) -> str:
    """One row per iteration per run; UTF-8 with a BOM so spreadsheets read Korean names."""
    names = result["started"]["model"]["param_names"]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"param_{name}" for name in names)])
    for run, points in result["runs"].items():
        for p in points:
            x, y = p["xy"]
            row = [run, p["iteration"], p["epoch"], p["batch_size"], p["samples"],
                   p["batch_loss"], p["loss"], p["status"], x, y, *p["params"]]
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _run_color(run: Mapping[str, Any]) -> str:
    return RUN_COLORS[run["color"] % len(RUN_COLORS)]


def _surface_traces(result: Mapping[str, Any]) -> list[go.BaseTraceType]:
    """The loss surface as a contour, each run's path from the start, start and minimum."""
    s = result["surface"]
    traces: list[go.BaseTraceType] = [go.Contour(
        x=s["x"], y=s["y"], z=s["z"], colorscale=SURFACE_SCALE, ncontours=24,
        contours={"coloring": "heatmap", "showlines": True},
        line={"color": "rgba(82,96,109,0.35)", "width": 0.6},
        colorbar={"title": {"text": "loss"}, "x": 0.455, "y": 0.79, "len": 0.42, "thickness": 12},
        name="loss surface", showlegend=False,
    )]
    for run in result["started"]["runs"]:
        points = result["runs"][run["name"]]
        traces.append(go.Scatter(
            x=[s["start"][0]] + [p["xy"][0] for p in points],
            y=[s["start"][1]] + [p["xy"][1] for p in points],
            mode="lines+markers", name=run["name"], legendgroup=run["name"],
            line={"color": _run_color(run), "width": 2}, marker={"size": 4},
        ))
    traces.append(go.Scatter(
        x=[s["start"][0]], y=[s["start"][1]], mode="markers", name="start",
        marker={"symbol": "circle", "size": 13, "color": INK, "line": {"color": "#fff", "width": 2}},
    ))
    if s["minimum"] is not None:
        traces.append(go.Scatter(
            x=[s["minimum"][0]], y=[s["minimum"][1]], mode="markers", name="minimum",
            marker={"symbol": "x-thin", "size": 18, "line": {"color": INK, "width": 3.5}},
        ))
    return traces


def _loss_traces(result: Mapping[str, Any]) -> list[go.Scatter]:
    """Per run: the batch loss thin and see-through, the full-data loss bold; x in epochs."""
    traces = []
    start_loss = result["started"]["initial_loss"]
    for run in result["started"]["runs"]:
        points = result["runs"][run["name"]]
        per_epoch = run["iterations_per_epoch"] or 1
        epochs = [p["iteration"] / per_epoch for p in points]
        color, name = _run_color(run), run["name"]
        traces.append(go.Scatter(
            x=epochs, y=[p["batch_loss"] for p in points], mode="lines",
            name=f"{name} (batch loss)", legendgroup=name, showlegend=False,
            line={"color": color, "width": 1}, opacity=0.4,
        ))
        traces.append(go.Scatter(
            x=[0.0, *epochs], y=[start_loss] + [p["loss"] for p in points], mode="lines",
            name=f"{name} (loss)", legendgroup=name, showlegend=False,
            line={"color": color, "width": 3.5},
        ))
    return traces


def _text(value: Any) -> str:
    """A config value as table text: strings plain, null as a dash, lists as JSON."""
    if value is None:
        return "–"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _config_rows(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(setting, value) rows: every config field, then each run's settings and outcome."""
    config, done = result["config"], result["done"]["runs"]
    rows = [(key, _text(value)) for key, value in config.items() if key != "runs"]
    for run in result["started"]["runs"]:
        outcome = done[run["name"]]
        batch = "full" if run["batch_size"] is None else run["batch_size"]
        loss = "n/a" if outcome["loss"] is None else f"{outcome['loss']:.6g}"
        rows.append((f"run: {run['name']}",
                     f"batch {batch}, lr {run['lr']:g}, update {run['update']}: "
                     f"{outcome['status']} after {outcome['iterations']} iterations, loss {loss}"))
    return rows


def report_figure(result: Mapping[str, Any]) -> go.Figure:
    """The report: surface with paths (top left), loss curves (top right), config table."""
    config, surface = result["config"], result["surface"]
    rows = _config_rows(result)
    table_px = TABLE_ROW_PX * (len(rows) + 2)
    kind = "exact" if surface["kind"] == "exact" else "a 2-D slice; paths projected onto it"
    fig = make_subplots(
        rows=2, cols=2, row_heights=[PLOTS_PX, table_px], vertical_spacing=0.06,
        horizontal_spacing=0.1,
        specs=[[{"type": "xy"}, {"type": "xy"}], [{"type": "table", "colspan": 2}, None]],
        subplot_titles=(f"loss surface ({kind})", "loss: thin = batch, bold = full data", ""),
    )
    for trace in _surface_traces(result):
        fig.add_trace(trace, row=1, col=1)
    for trace in _loss_traces(result):
        fig.add_trace(trace, row=1, col=2)
    fig.add_trace(go.Table(
        header={"values": ["setting", "value"], "align": "left", "fill_color": "#e9edf2"},
        cells={"values": [[r[0] for r in rows], [r[1] for r in rows]], "align": "left"},
        columnwidth=[1, 4], cells_height=TABLE_ROW_PX,
    ), row=2, col=1)
    fig.update_xaxes(title_text=surface["labels"][0], row=1, col=1)
    fig.update_yaxes(title_text=surface["labels"][1], row=1, col=1)
    fig.update_xaxes(title_text="epoch", rangemode="tozero", row=1, col=2)
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=2)
    fig.update_layout(
        title={"text": f"Descent Playground: {config['dataset']}, seed {config['seed']}"},
        height=PLOTS_PX + table_px + 200, template="plotly_white", font={"color": INK},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return fig


def to_html(result: Mapping[str, Any]) -> str:
    """A standalone report that opens offline: plotly.js is inlined."""
    config = result["config"]
    page = pio.to_html(report_figure(result), include_plotlyjs=True, full_html=True)
    title = html.escape(f"Descent Playground: {config['dataset']}, seed {config['seed']}")
    return page.replace("<head>", f"<head><title>{title}</title>", 1)


RENDERERS = {"csv": to_csv, "json": to_json, "html": to_html}


def export(fmt: str, request: ExportRequest,
           limits: Settings = DEFAULT_LIMITS) -> Iterable[bytes]:
    """The export in format `fmt` ("csv", "json" or "html"), as pieces of UTF-8."""
    result = compute(request.config, request.iterations, limits)
    return json_chunks(result) if fmt == "json" else [RENDERERS[fmt](result).encode()]


# -- checking a file before the page replays it ------------------------------------------------
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


class SavedRunInfo(_Saved):
    name: RunName
    batch_size: Annotated[int, Field(strict=True, ge=1)] | None
    effective_batch_size: Count
    lr: Annotated[float, Field(strict=True, gt=0, le=MAX_LR)]
    update: Literal["sgd", "momentum", "adam"]
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


class SavedOutcome(_Saved):
    status: Status
    iterations: Count
    epochs: Count
    loss: Num | None


class SavedDone(_Saved):
    type: Literal["done"]
    generation: Count
    runs: Annotated[dict[RunName, SavedOutcome], Field(max_length=MAX_RUNS)]
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
    n_params = saved.started.model.n_params
    total = sum(len(points) for points in saved.runs.values())
    _expect(total <= limits.max_headless_iterations,
            f"the file holds {total:,} points; this server replays at most "
            f"{limits.max_headless_iterations:,} (DESCENT_MAX_HEADLESS_ITERATIONS)")
    for name, points in saved.runs.items():
        for i, point in enumerate(points):
            _expect(point.iteration == i + 1,
                    f"runs.{name}.{i}.iteration must be {i + 1} (every iteration, in order)")
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
    try:
        saved = SavedExport.model_validate(data)
    except ValidationError as exc:
        raise _refusal(exc) from None
    _check_together(saved, limits)
    return saved


def parse_upload(body: bytes, limits: Settings = DEFAULT_LIMITS) -> SavedExport:
    """An uploaded file's bytes as a checked export (ValueError if it is not one)."""
    body = body.removeprefix(codecs.BOM_UTF8)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    try:
        saved = SavedExport.model_validate_json(body)
    except ValidationError as exc:
        raise _refusal(exc) from None
    _check_together(saved, limits)
    return saved

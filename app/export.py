"""Exports of a comparison: CSV, JSON (what the live socket sent) and a standalone HTML report.

Runs are bit-reproducible from their config (every random draw is seeded), so an export
recomputes the comparison on the server and cuts each run at the iteration it had reached on the
teacher's screen. The JSON export has the shape of `POST /api/runs` plus a format marker::

    {"format": "descent-playground/1", "config": {...}, "started": {...}, "surface": {...},
     "runs": {"SGD": [point, ...], ...}, "done": {...}}

`load_export` checks that shape before the page replays a file.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Mapping
from typing import Annotated, Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.race import DEFAULT_LIMITS, Race
from app.schemas import TrainConfig, first_error
from app.settings import Settings

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
_POINT_KEYS = ("iteration", "epoch", "batch_size", "samples", "batch_loss", "loss", "xy",
               "params", "status")
_SECTIONS = ("config", "started", "surface", "runs", "done")



class ExportError(ValueError):
    """An export that cannot be made or a file that is not an export; the message says why."""


class ExportRequest(BaseModel):
    """The body of `POST /api/export/{fmt}`: a config and, optionally, where to cut each run."""

    model_config = ConfigDict(extra="forbid")

    config: TrainConfig = Field(default_factory=TrainConfig)
    iterations: dict[str, Annotated[int, Field(ge=0)]] | None = None


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
        raise ExportError(f"iterations names unknown runs: {', '.join(unknown)}; "
                          f"the runs are: {', '.join(names)}")
    return request


# -- computing ---------------------------------------------------------------------------------
def _cuts(race: Race, iterations: Mapping[str, int] | None) -> dict[str, int]:
    """Per run, the last iteration to compute: the requested cut, at most the whole run."""
    wanted = iterations or {}
    return {name: min(wanted.get(name, run.total_iterations), run.total_iterations)
            for name, run in race.runs.items()}


def _check_work(race: Race, cuts: Mapping[str, int], limits: Settings) -> None:
    planned = sum(cuts.values())
    if planned > limits.max_headless_iterations:
        raise ExportError(
            f"this needs up to {planned:,} iterations over all runs; one headless run or export "
            f"may compute at most {limits.max_headless_iterations:,} "
            "(DESCENT_MAX_HEADLESS_ITERATIONS): lower epochs or n_samples, use bigger batches, "
            "or cut the runs earlier"
        )
    values = planned * (race.model.n_params + 8)
    if values > limits.max_headless_values:
        raise ExportError(
            f"this would hold {values:,} numbers ({planned:,} points x "
            f"({race.model.n_params} parameters + 8)); at most {limits.max_headless_values:,} "
            "(DESCENT_MAX_HEADLESS_VALUES): use a smaller model, fewer iterations, or cut the "
            "runs earlier"
        )


def compute(config: TrainConfig, iterations: Mapping[str, int] | None = None,
            limits: Settings = DEFAULT_LIMITS) -> dict[str, Any]:
    """The comparison as the JSON export, each run cut at `iterations[name]` (default: all).

    `limits` are the server's caps on the work and the size of the result.
    """
    race = Race(config, generation=1, limits=limits, keep_all=True)
    cuts = _cuts(race, iterations)
    _check_work(race, cuts, limits)
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


def to_json(result: Mapping[str, Any]) -> str:
    """Strict, compact JSON (never NaN or Infinity), as the socket sends it."""
    return json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


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


def export(fmt: str, request: ExportRequest, limits: Settings = DEFAULT_LIMITS) -> str:
    """The export in format `fmt` ("csv", "json" or "html")."""
    return RENDERERS[fmt](compute(request.config, request.iterations, limits))


# -- checking a file before the page replays it ------------------------------------------------
def _number_or_none(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_numbers(values: Any, where: str, length: int | None = None) -> None:
    _expect(isinstance(values, list), f"{where} must be a list")
    _expect(length is None or len(values) == length, f"{where} must hold {length} numbers")
    _expect(all(_number_or_none(v) for v in values), f"{where} must hold numbers or null")


def _check_config(data: Mapping[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.model_validate(data["config"])
    except ValidationError as exc:
        raise ValueError(first_error(exc, "config.")[1]) from None


def _check_started(started: Any, names: list[str]) -> int:
    """The `started` section; returns the model's number of parameters."""
    _expect(isinstance(started, dict) and started.get("type") == "started",
            'started must be the "started" message')
    runs = started.get("runs")
    _expect(isinstance(runs, list) and [r.get("name") if isinstance(r, dict) else None
                                        for r in runs] == names,
            "started.runs must list the config's runs, in order")
    model = started.get("model")
    _expect(isinstance(model, dict) and isinstance(model.get("n_params"), int),
            "started.model.n_params must be an integer")
    return model["n_params"]


def _check_surface(surface: Any) -> None:
    _expect(isinstance(surface, dict) and surface.get("type") == "surface",
            'surface must be the "surface" message')
    _check_numbers(surface.get("x"), "surface.x")
    _check_numbers(surface.get("y"), "surface.y")
    z = surface.get("z")
    _expect(isinstance(z, list) and len(z) == len(surface["y"]),
            "surface.z must have one row per surface.y value")
    for i, row in enumerate(z):
        _check_numbers(row, f"surface.z[{i}]", len(surface["x"]))
    _check_numbers(surface.get("start"), "surface.start", 2)


def _check_point(point: Any, where: str, iteration: int, n_params: int) -> None:
    _expect(isinstance(point, dict), f"{where} must be an object")
    missing = [key for key in _POINT_KEYS if key not in point]
    _expect(not missing, f"{where} lacks {', '.join(missing)}")
    _expect(point["iteration"] == iteration,
            f"{where}.iteration must be {iteration} (every iteration, in order)")
    _expect(_number_or_none(point["loss"]) and _number_or_none(point["batch_loss"]),
            f"{where}: loss and batch_loss must be numbers or null")
    _check_numbers(point["xy"], f"{where}.xy", 2)
    _check_numbers(point["params"], f"{where}.params", n_params)
    _expect(isinstance(point["status"], str), f"{where}.status must be text")


def _check_runs(runs: Any, names: list[str], n_params: int) -> None:
    _expect(isinstance(runs, dict) and list(runs) == names,
            f"runs must map each run of the config to its points: {', '.join(names)}")
    for name, points in runs.items():
        _expect(isinstance(points, list), f"runs[{name!r}] must be a list of points")
        for i, point in enumerate(points):
            _check_point(point, f"runs[{name!r}][{i}]", i + 1, n_params)


def _check_done(done: Any, names: list[str]) -> None:
    _expect(isinstance(done, dict) and done.get("type") == "done", 'done must be the "done" message')
    _expect(isinstance(done.get("runs"), dict) and sorted(done["runs"]) == sorted(names),
            "done.runs must hold every run of the config")


def load_export(data: Any) -> dict[str, Any]:
    """`data` if it is a JSON export the page can replay; else ValueError saying what is wrong."""
    _expect(isinstance(data, dict), "an export must be a JSON object")
    _expect(data.get("format") == FORMAT,
            f"not a Descent Playground export: format must be {FORMAT!r}, "
            f"got {repr(data.get('format'))[:40]}")
    missing = [key for key in _SECTIONS if key not in data]
    _expect(not missing, f"the export lacks {', '.join(missing)}")
    config = _check_config(data)
    names = [run.name for run in config.runs]
    n_params = _check_started(data["started"], names)
    _check_surface(data["surface"])
    _check_runs(data["runs"], names, n_params)
    _check_done(data["done"], names)
    return data


def parse_upload(body: bytes) -> dict[str, Any]:
    """An uploaded file's bytes as a checked export (ValueError if it is not one)."""
    try:
        data = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the file is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError("the file is nested too deeply to be an export") from None
    return load_export(data)


def _reject_constant(name: str) -> None:
    raise ValueError(f"the file holds {name}, which JSON exports never contain")

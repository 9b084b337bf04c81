"""An export as a standalone HTML report: surface with paths, loss curves, config table."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from app.core.colors import RUN_COLORS

SURFACE_SCALE = [[0, "#ffffff"], [0.35, "#e9edf2"], [0.7, "#c5ced8"], [1, "#8b97a5"]]
INK = "#1f2933"
PLOTS_PX = 620  # height of the surface and loss plots in the report
TABLE_ROW_PX = 26


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
    """A config value as table text for people: strings plain, null as a dash, lists [8, 8]."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(map(_text, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


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

"""An export as a standalone HTML report a teacher can hand out, in the page's language.

The date, the config and the runs with the page's own labels (app/export/labels.py), the loss
surface with the paths and the loss curves, the data view with each run's final model, and the
step panel at each run's last iteration. plotly.js is inlined once: the file opens offline.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from app.core.colors import RUN_COLORS
from app.core.repeats import band
from app.export.labels import Labels
from app.export.lrmap import table_html

SURFACE_SCALE = [[0, "#ffffff"], [0.35, "#e9edf2"], [0.7, "#c5ced8"], [1, "#8b97a5"]]
INK = "#1f2933"
FONT = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", "Malgun Gothic", '
        '"Apple SD Gothic Neo", sans-serif')
PLOTS_PX = 560  # height of the surface and loss plots
DATA_PX = 380  # height of one row of the data view
DATA_COLS = 3  # data-view plots per row (classification: one per run)
# The data view's colours, as static/js/common.js and dataview.js draw them.
CLASS_COLORS = ["#3B4CC0", "#B40426", "#2E7D32", "#6A3D9A", "#8C6D1F"]
CLASS_SYMBOLS = ["circle", "diamond", "square", "triangle-up", "cross"]
PROBABILITY_SCALE = [[0, "#c9d3f5"], [0.5, "#ffffff"], [1, "#f5c6cc"]]
SHOW_SAMPLES = 2  # the step panel's forward samples and parameters, as static/js/steppanel.js
SHOW_PARAMS = 3
MINUS = "\u2212"

# What only the report says (the page never shows it); every other word is the page's.
REPORT_WORDS = {
    "en": {
        "report.title": "Descent Playground: {dataset} · seed {seed}",
        "report.exported": "Exported",
        "report.settings": "Settings",
        "report.runs": "Runs",
        "report.update": "Update rule",
        "report.result": "Result",
        "report.plots": "Loss surface and loss",
        "report.data": "Data + final model of each run",
        "report.steps": "One step, opened up: the last iteration of each run",
        "report.no_step": "This run made no iteration.",
        "report.full_batch": "{n} (all data)",
        "map.title": "Learning-rate map",
        "map.table": "Final loss of one run per learning rate (rows) and {batch} (columns), "
                     "each from the same start",
        "map.limit": "2/λ_max = {v}: full batch converges below this learning rate and "
                     "diverges above it.",
        "update.sgd": "SGD",
        "update.momentum": "momentum",
        "update.adam": "Adam",
    },
    "ko": {
        "report.title": "Descent Playground: {dataset} · 시드 {seed}",
        "report.exported": "내보낸 시각",
        "report.settings": "설정",
        "report.runs": "실행",
        "report.update": "갱신 방법",
        "report.result": "결과",
        "report.plots": "손실 곡면과 손실",
        "report.data": "데이터 + 실행별 최종 모델",
        "report.steps": "한 단계 자세히 보기: 실행마다 마지막 이터레이션",
        "report.no_step": "이 실행은 이터레이션을 하지 않았습니다.",
        "report.full_batch": "{n} (전체 데이터)",
        "map.title": "학습률 지도",
        "map.table": "학습률(행)과 {batch}(열)마다 같은 시작점에서 한 번 학습한 최종 손실",
        "map.limit": "2/λ_max = {v}: 전체 배치는 이보다 작은 학습률에서 수렴하고 큰 학습률에서 "
                     "발산합니다.",
        "update.sgd": "SGD",
        "update.momentum": "모멘텀",
        "update.adam": "Adam",
    },
}

STYLE = """
body { font-family: FONT; color: INK; margin: 24px auto; max-width: 1240px; padding: 0 16px;
       line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.25em; margin: 28px 0 8px;
  border-bottom: 1px solid #d3d9e0; padding-bottom: 4px; } h3 { font-size: 1.05em; margin: 0 0 6px; }
.meta { color: #52606d; margin: 0; }
table { border-collapse: collapse; margin: 4px 0 12px; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #e4e7eb;
  vertical-align: top; }
td.num, th.num { font-variant-numeric: tabular-nums; }
caption { text-align: left; color: #52606d; padding-bottom: 4px; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px;
  margin-right: 6px; vertical-align: -0.1em; }
.steps { display: grid; gap: 14px;
  grid-template-columns: repeat(auto-fill, minmax(min(370px, 100%), 1fr)); }
.step { border: 1px solid #d3d9e0; border-radius: 6px; padding: 10px 12px; }
.step ol { margin: 0; padding-left: 1.4em; }
.step li { margin: 6px 0; } .phase-name { font-weight: 600; }
.ln { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em;
  white-space: pre-wrap; } .note { color: #52606d; font-size: 0.88em; }
.step table { margin: 2px 0; }
.step th, .step td { padding: 1px 10px 1px 0; font-size: 0.92em; } .step td { white-space: nowrap; }
@media screen { /* on a phone the plots scroll sideways instead of shrinking past reading */
  #plots, #data-view { overflow-x: auto; } .plotly-graph-div { min-width: 840px; } }
@media print { .steps { display: block; } .step { break-inside: avoid; margin-bottom: 10px; } }
""".replace("FONT", FONT).replace("INK", INK)


def fmt(v: Any, sig: int = 4) -> str:
    """A number as the page writes it (static/js/common.js `fmt`): `sig` significant digits,
    exponent form outside [1e-4, 1e5), "—" when not a finite number, U+2212 minus."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    if 1e-4 <= abs(v) < 1e5:
        text = f"{v:#.{sig}g}"
        if "e" in text:  # JS: Number(toPrecision) -> 12350, not 1.235e+4
            text = _shortest(float(text))
        text = text.rstrip(".")
    else:
        mantissa, exponent = f"{v:.{sig - 1}e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", MINUS)


def _shortest(v: float) -> str:
    return str(int(v)) if v.is_integer() else repr(v)


def fmt_p(v: Any, sig: int = 4) -> str:
    """Like fmt, in parentheses when negative (for "w − lr × (−0.83)")."""
    text = fmt(v, sig)
    return f"({text})" if isinstance(v, int | float) and v < 0 else text


def fmt_int(v: int) -> str:
    return f"{v:,}"


def plain(v: float) -> str:
    """A setting as it was typed: 0.2, 30, 1e-05 (up to 10 significant digits)."""
    return f"{v:.10g}".replace("-", MINUS)


def _vec(v: Any, sig: int = 3) -> str:
    if not isinstance(v, list):
        return fmt(v, sig)
    if len(v) == 1:
        return fmt(v[0], sig)
    return "(" + ", ".join(fmt(x, sig) for x in v) + ")"


def _scalar(v: Any) -> Any:
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def _run_color(run: Mapping[str, Any]) -> str:
    return RUN_COLORS[run["color"] % len(RUN_COLORS)]


def _esc(text: Any) -> str:
    return html.escape(str(text))


# -- the plots -----------------------------------------------------------------------------------

def _surface_traces(result: Mapping[str, Any], t: Labels) -> list[go.BaseTraceType]:
    """The loss surface as a contour, each run's path from the start, start and minimum."""
    s = result["surface"]
    traces: list[go.BaseTraceType] = [go.Contour(
        x=s["x"], y=s["y"], z=s["z"], colorscale=SURFACE_SCALE, ncontours=24,
        contours={"coloring": "heatmap", "showlines": True},
        line={"color": "rgba(82,96,109,0.35)", "width": 0.6},
        colorbar={"title": {"text": t("surface.loss")}, "x": 0.455, "len": 0.9, "thickness": 12},
        name=t("surface.title"), showlegend=False,
    )]
    for run in result["started"]["runs"]:
        repeats = _repeats(result["runs"][run["name"]])
        name = t.value("run.", run["name"])
        bold = result["done"]["runs"][run["name"]].get("median_repeat", 0)
        for r, points in enumerate(repeats):  # repeats: each faint, the median one bold
            traces.append(go.Scatter(
                x=[s["start"][0]] + [p["xy"][0] for p in points],
                y=[s["start"][1]] + [p["xy"][1] for p in points],
                mode="lines+markers" if r == bold else "lines", name=name,
                legendgroup=run["name"], showlegend=r == bold, opacity=1 if r == bold else 0.35,
                line={"color": _run_color(run), "width": 2 if r == bold else 1},
                marker={"size": 4},
            ))
    traces.append(go.Scatter(
        x=[s["start"][0]], y=[s["start"][1]], mode="markers", name=t("surface.start"),
        marker={"symbol": "circle", "size": 13, "color": INK, "line": {"color": "#fff", "width": 2}},
    ))
    if s["minimum"] is not None:  # as the page names it: the least-squares minimum, or a slice's
        exact = s.get("kind") == "exact" and s.get("lambda_max")
        traces.append(go.Scatter(
            x=[s["minimum"][0]], y=[s["minimum"][1]], mode="markers",
            name=t("surface.minimum" if exact else "surface.lowest"),
            marker={"symbol": "x-thin", "size": 18, "line": {"color": INK, "width": 3.5}},
        ))
    return traces


def _loss_traces(result: Mapping[str, Any], t: Labels) -> list[go.Scatter]:
    """Per run: the batch loss thin and see-through, the full-data loss bold; x in epochs."""
    traces = []
    start_loss = result["started"]["initial_loss"]
    for run in result["started"]["runs"]:
        points = result["runs"][run["name"]]
        per_epoch = run["iterations_per_epoch"] or 1
        color, name = _run_color(run), t.value("run.", run["name"])
        if len(repeats := _repeats(points)) > 1:
            traces += _band_traces(repeats, per_epoch, start_loss, color, name)
            continue
        epochs = [p["iteration"] / per_epoch for p in points]
        traces.append(go.Scatter(
            x=epochs, y=[p["batch_loss"] for p in points], mode="lines",
            name=f"{name} ({t('loss.batch')})", legendgroup=run["name"], showlegend=False,
            line={"color": color, "width": 1}, opacity=0.4,
        ))
        traces.append(go.Scatter(
            x=[0.0, *epochs], y=[start_loss] + [p["loss"] for p in points], mode="lines",
            name=f"{name} ({t('loss.full')})", legendgroup=run["name"], showlegend=False,
            line={"color": color, "width": 3.5},
        ))
    return traces


def _repeats(points: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """A run's points split by repeat (one list without repeats)."""
    out: list[list[Mapping[str, Any]]] = []
    for p in points:
        r = p.get("repeat", 0)
        out += [[] for _ in range(r + 1 - len(out))]
        out[r].append(p)
    return out


def _band_traces(repeats: list[list[Mapping[str, Any]]], per_epoch: int, start_loss: Any,
                 color: str, name: str) -> list[go.Scatter]:
    """A run's repeats as the page draws them: the band from the least to the largest full-data
    loss at each iteration, and the median line in bold."""
    med, low, high = band([[start_loss] + [p["loss"] for p in points] for points in repeats])
    epochs = [k / per_epoch for k in range(len(med))]
    keep = [k for k in range(len(med)) if low[k] is not None and high[k] is not None]
    return [
        go.Scatter(x=[epochs[k] for k in keep] + [epochs[k] for k in reversed(keep)],
                   y=[high[k] for k in keep] + [low[k] for k in reversed(keep)], mode="lines",
                   fill="toself", fillcolor=color, opacity=0.2, line={"width": 0},
                   hoverinfo="skip", showlegend=False, legendgroup=name),
        go.Scatter(x=epochs, y=med, mode="lines", name=name, legendgroup=name,
                   showlegend=False, line={"color": color, "width": 3.5}),
    ]


def _surface_caption(result: Mapping[str, Any], t: Labels) -> str:
    surface, model = result["surface"], result["started"]["model"]
    if surface["kind"] == "exact":
        return t("surface.exact", a=surface["labels"][0], b=surface["labels"][1])
    method = t("surface.m.pca" if surface["method"].startswith("PCA") else "surface.m.random")
    return t("surface.projected_pending", n=model["n_params"], m=method)


def plots_figure(result: Mapping[str, Any], t: Labels) -> go.Figure:
    """The loss surface with the paths (left) and the loss curves (right)."""
    surface = result["surface"]
    key = "rep.key" if result["config"].get("repeats", 1) > 1 else "loss.key"
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        t("surface.title"), f"{t('loss.title')}: {t(key)}"))
    for trace in _surface_traces(result, t):
        fig.add_trace(trace, row=1, col=1)
    for trace in _loss_traces(result, t):
        fig.add_trace(trace, row=1, col=2)
    fig.update_xaxes(title_text=t.value("axis.", surface["labels"][0]), row=1, col=1)
    fig.update_yaxes(title_text=t.value("axis.", surface["labels"][1]), row=1, col=1)
    fig.update_xaxes(title_text=t("loss.x.epochs"), rangemode="tozero", row=1, col=2)
    fig.update_yaxes(title_text=t("loss.y"), rangemode="tozero", row=1, col=2)
    fig.update_layout(
        height=PLOTS_PX, template="plotly_white", font={"color": INK, "family": FONT},
        margin={"t": 70, "b": 60, "l": 60, "r": 20},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0},
    )
    return fig


def _class_traces(dataset: Mapping[str, Any], t: Labels, legend: bool) -> list[go.Scatter]:
    X, y = dataset["X"], dataset["y"]
    traces = []
    for c in range(max(2, dataset["n_classes"])):
        members = [row for row, label in zip(X, y, strict=True) if round(label) == c]
        traces.append(go.Scatter(
            x=[r[0] for r in members], y=[r[1] for r in members], mode="markers",
            name=t("data.class", k=c), legendgroup=f"class{c}", showlegend=legend,
            marker={"color": CLASS_COLORS[c % len(CLASS_COLORS)], "size": 7,
                    "symbol": CLASS_SYMBOLS[c % len(CLASS_SYMBOLS)],
                    "line": {"color": "#fff", "width": 1}},
        ))
    return traces


def _model_traces(model: Mapping[str, Any], color: str) -> list[go.BaseTraceType]:
    """A classifier's final model as the page draws it: p(class 1) with its 0.5 boundary in the
    run's colour, or the predicted class of each cell, tinted."""
    if model["classes"] <= 2:
        return [
            go.Heatmap(x=model["x"], y=model["y"], z=model["z"], zmin=0, zmax=1,
                       colorscale=PROBABILITY_SCALE, showscale=False, zsmooth="best",
                       hoverinfo="skip", showlegend=False),
            go.Contour(x=model["x"], y=model["y"], z=model["z"], showscale=False,
                       contours={"coloring": "none", "start": 0.5, "end": 0.5, "size": 1},
                       line={"color": color, "width": 3.5}, hoverinfo="skip", showlegend=False),
        ]
    k = model["classes"]
    stops = []
    for c in range(k):
        col = CLASS_COLORS[c % len(CLASS_COLORS)]
        stops += [[c / k, col], [(c + 1) / k, col]]
    return [go.Heatmap(x=model["x"], y=model["y"], z=model["label"], zmin=-0.5, zmax=k - 0.5,
                       colorscale=stops, showscale=False, opacity=0.28, hoverinfo="skip",
                       showlegend=False)]


def _iteration_of(result: Mapping[str, Any], name: str) -> int:
    return result["done"]["runs"][name]["iterations"]


def data_figure(result: Mapping[str, Any], t: Labels) -> go.Figure:
    """The data with each run's final model: every run's line over the points (regression), or
    one plot per run with its decision boundary (classification)."""
    dataset, runs = result["started"]["dataset"], result["started"]["runs"]
    if dataset["task"] == "regression":
        fig = go.Figure([go.Scatter(
            x=[r[0] for r in dataset["X"]], y=dataset["y"], mode="markers", name=t("data.data"),
            marker={"color": "rgba(31,41,51,0.55)", "size": 7})])
        for run in runs:
            model = result["models"][run["name"]]
            it = t("data.at", i=fmt_int(_iteration_of(result, run["name"])))
            fig.add_trace(go.Scatter(x=model["x"], y=model["y"], mode="lines",
                                     name=f"{t.value('run.', run['name'])} · {it}",
                                     line={"color": _run_color(run), "width": 4}))
        fig.update_xaxes(title_text="x")
        fig.update_yaxes(title_text="y")
        height = DATA_PX + 60
    else:
        cols = min(len(runs), DATA_COLS)
        rows = math.ceil(len(runs) / cols)
        titles = [f"{t.value('run.', r['name'])} · "
                  f"{t('data.at', i=fmt_int(_iteration_of(result, r['name'])))}" for r in runs]
        fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                            horizontal_spacing=0.06, vertical_spacing=0.12 / rows)
        for i, run in enumerate(runs):
            row, col = i // cols + 1, i % cols + 1
            for trace in _model_traces(result["models"][run["name"]], _run_color(run)):
                fig.add_trace(trace, row=row, col=col)
            for trace in _class_traces(dataset, t, legend=i == 0):
                fig.add_trace(trace, row=row, col=col)
            axis = "" if i == 0 else str(i + 1)
            fig.update_yaxes(scaleanchor=f"x{axis}", scaleratio=1, constrain="domain",
                             title_text="x₂", row=row, col=col)
            fig.update_xaxes(constrain="domain", title_text="x₁", row=row, col=col)
        height = DATA_PX * rows + 80
    fig.update_layout(
        height=height, template="plotly_white", font={"color": INK, "family": FONT},
        margin={"t": 90, "b": 50, "l": 50, "r": 20},
        # the legend 60 px above the plots, clear of their titles
        legend={"orientation": "h", "yanchor": "top", "x": 0, "y": 1 + 60 / (height - 140)},
    )
    return fig


# -- the tables and the step panel -----------------------------------------------------------------

def _config_rows(config: Mapping[str, Any], t: Labels) -> list[tuple[str, str]]:
    """(label, value) rows of the config, with the page's labels and words."""
    off = t("ctl.none_ph")
    rows = [(t("ctl.dataset"), t.value("ds.", config["dataset"]))]
    if config.get("data"):  # a user's own points: their count, and whether they were scaled
        data = config["data"]
        rows.append((t("ctl.samples"), fmt_int(len(data["X"]))))
        if data["standardize"]:
            rows.append((t("ctl.dataset"), t("cd.std")))
    else:
        rows += [(t("ctl.samples"), fmt_int(config["n_samples"])),
                 (t("ctl.noise"), plain(config["noise"]))]
    if config.get("n_classes") is not None:
        rows.append((t("ctl.classes"), str(config["n_classes"])))
    hidden = config["hidden"]
    rows += [
        (t("ctl.hidden"), ", ".join(map(str, hidden)) if hidden else t("ctl.hidden_ph")),
        (t("ctl.activation"), t.value("act.", config["activation"])),
        (t("ctl.loss"), t.value("loss.", config["loss"])),
        (t("ctl.lr"), plain(config["lr"])),
        (t("ctl.epochs"), fmt_int(config["epochs"])),
        (t("ctl.seed"), str(config["seed"])),
        (t("ctl.target"), off if config["target_loss"] is None else plain(config["target_loss"])),
        (t("ctl.patience"), off if config["patience"] is None else str(config["patience"])),
        (t("ctl.repeats"), str(config.get("repeats", 1))),
        (t("ctl.speed"), t("ctl.speed_max") if not config["speed"]
         else f"{plain(config['speed'])} {t('ctl.speed_unit')}"),
        (t("ctl.pacing"), t.value("pacing.", config["pacing"])),
    ]
    return rows


def _heading(text: str) -> str:
    return text[:1].upper() + text[1:]


def _runs_table(result: Mapping[str, Any], t: Labels) -> str:
    """One row per run: colour and name, batch size, learning rate, update rule, outcome."""
    heads = [t("data.run"), t("ctl.batch"), t("ctl.lr"), t("report.update"), t("report.result"),
             t("cnt.iteration"), t("cnt.epoch"), t("cnt.loss")]
    rows = []
    for run in result["started"]["runs"]:
        out = result["done"]["runs"][run["name"]]
        batch = (t("report.full_batch", n=fmt_int(run["effective_batch_size"]))
                 if run["batch_size"] is None else fmt_int(run["batch_size"]))
        swatch = f'<span class="swatch" style="background:{_run_color(run)}"></span>'
        cells = [swatch + _esc(t.value("run.", run["name"])), _esc(batch), plain(run["lr"]),
                 _esc(t.value("update.", run["update"])), _esc(t.value("status.", out["status"])),
                 fmt_int(out["iterations"]), fmt_int(out["epochs"]), fmt(out["loss"])]
        if "repeats" in out:  # and the spread of the repeats' final losses
            cells[-1] += "<br>" + _esc(t("rep.spread", m=fmt(out["loss_median"], 3),
                                         lo=fmt(out["loss_min"], 3),
                                         hi=fmt(out["loss_max"], 3)).rstrip(" ·"))
        rows.append("<tr>" + "".join(
            f'<td class="num">{c}</td>' if i >= 5 else f"<td>{c}</td>"
            for i, c in enumerate(cells)) + "</tr>")
    head = "".join(f"<th>{_esc(_heading(h))}</th>" for h in heads)
    return f'<table class="runs"><tr>{head}</tr>{"".join(rows)}</table>'


def _line(text: str, cls: str = "") -> str:
    return f'<div class="ln{" " + cls if cls else ""}">{_esc(text)}</div>'


def _note(text: str) -> str:
    return f'<div class="note">{_esc(text)}</div>'


def _phase(n: int, key: str, t: Labels, parts: Sequence[str]) -> str:
    return (f'<li value="{n}"><span class="phase-name">{_esc(t(f"step.{key}"))}</span>'
            f'{"".join(parts)}</li>')


def step_html(d: Mapping[str, Any], names: Sequence[str], loss_name: str, t: Labels) -> str:
    """The step panel of one iteration, as static/js/steppanel.js writes it: forward, loss,
    backward, update, with the numbers of the `detail` message `d`."""
    f = d["forward"]
    xs, y_hat, targets = f["x"], f["y_hat"], f["t"]
    k = min(SHOW_SAMPLES, len(xs))
    before, after, g, gf = d["params_before"], d["params"], d["grad"] or [], d["full_grad"] or []
    pn = [names[j] if j < len(names) else f"θ{j + 1}" for j in range(len(after))]
    forward = []
    if f["line"]:
        w, b = before[0], before[1]
        forward.append(_line("ŷ = w·x + b", "formula"))
        forward += [_line(f"{fmt(w, 3)} × {fmt_p(_scalar(xs[j]), 3)} + {fmt_p(b, 3)} = "
                          f"{fmt(_scalar(y_hat[j]), 3)}   (t = {fmt(_scalar(targets[j]), 3)})")
                    for j in range(k)]
    else:
        forward += [_line(f"x = {_vec(xs[j], 2)} → ŷ = {_vec(y_hat[j], 2)}   "
                          f"(t = {_vec(targets[j], 2)})") for j in range(k)]
    forward.append(_note(t("step.first", k=k, n=d["batch_size"])))
    short_loss = t.value("loss.", loss_name).split(" ")[0]
    loss = [_line(f"L_B = {fmt(d['batch_loss'])}   "
                  f"({t('step.batch_of', n=d['batch_size'], loss=short_loss)})", "strong"),
            _note(f"{t('step.full')}: L = {fmt(d['loss'])}")]
    m = min(len(pn), 2 if f["line"] else SHOW_PARAMS)
    grads = "".join(f"<tr><td>∂L/∂{_esc(pn[j])}</td><td class='num'>{fmt(_at(g, j), 3)}</td>"
                    f"<td class='num'>{fmt(_at(gf, j), 3)}</td></tr>" for j in range(m))
    backward = [f"<table><tr><th></th><th>{_esc(t('step.grad_batch'))}</th>"
                f"<th>{_esc(t('step.grad_full'))}</th></tr>{grads}</table>"]
    extra = []
    if _finite(d.get("grad_norm")):
        extra.append(t("step.norm", v=fmt(d["grad_norm"], 3)))
    if _finite(d.get("full_grad_norm")):
        extra.append(f"‖∇L‖ = {fmt(d['full_grad_norm'], 3)}")
    if len(pn) > m:
        extra.append(t("step.params_first", k=m, n=len(pn)))
    if _finite(d.get("angle")):
        extra.append(t("step.angle", deg=f"{d['angle']:.1f}"))
    if extra:
        backward.append(_note(" · ".join(extra)))
    rule = d["update"] if d["update"] in ("momentum", "adam") else "sgd"
    update = [_line(t(f"step.rule.{rule}"), "formula")]
    for j in range(m):
        if rule == "sgd":
            update.append(_line(f"{pn[j]} = {fmt(before[j], 3)} − {fmt(d['lr'], 3)} × "
                                f"{fmt_p(_at(g, j), 3)} = {fmt(after[j], 3)}", "strong"))
        else:
            update.append(_line(f"{pn[j]}: {fmt(before[j], 3)} → {fmt(after[j], 3)}", "strong"))
    phases = [_phase(1, "forward", t, forward), _phase(2, "loss", t, loss),
              _phase(3, "backward", t, backward), _phase(4, "update", t, update)]
    return f"<ol>{''.join(phases)}</ol>"


def _at(values: Sequence[Any], j: int) -> Any:
    return values[j] if j < len(values) else None


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _steps(result: Mapping[str, Any], t: Labels) -> str:
    """Each run's step panel at its last iteration."""
    names = result["started"]["model"]["param_names"]
    loss_name = result["config"]["loss"]
    cards = []
    for run in result["started"]["runs"]:
        d = result["details"].get(run["name"])
        name = t.value("run.", run["name"])
        swatch = f'<span class="swatch" style="background:{_run_color(run)}"></span>'
        if d is None:
            cards.append(f'<article class="step"><h3>{swatch}{_esc(name)}</h3>'
                         f'{_note(t("report.no_step"))}</article>')
            continue
        sub = t("step.sub", run=name, i=fmt_int(d["iteration"]), e=d["epoch"])
        cards.append(f'<article class="step" data-run="{_esc(run["name"])}"><h3>{swatch}'
                     f'{_esc(sub)}</h3>{step_html(d, names, loss_name, t)}</article>')
    return f'<div class="steps">{"".join(cards)}</div>'


def _figure_html(fig: go.Figure, div_id: str, with_plotly: bool) -> str:
    return pio.to_html(fig, include_plotlyjs=with_plotly, full_html=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def to_html(result: Mapping[str, Any], lang: str = "en", now: datetime | None = None) -> str:
    """A standalone report in `lang` ("en" or "ko") that opens offline: plotly.js is inlined.

    `result` is `compute_report`'s: the JSON export with each run's last `details` and final
    `models`; `now` (UTC) is the date it states.
    """
    t = Labels(lang, REPORT_WORDS)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    config = result["config"]
    title = t("report.title", dataset=t.value("ds.", config["dataset"]), seed=config["seed"])
    settings = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>"
                       for k, v in _config_rows(config, t))
    stamp = f"{now:%Y-%m-%d %H:%M} UTC"
    return "".join([
        f'<!DOCTYPE html>\n<html lang="{t.lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{_esc(title)}</h1>",
        f'<p class="meta">{_esc(t("report.exported"))}: <time datetime="'
        f'{now:%Y-%m-%dT%H:%M:%SZ}">{stamp}</time></p></header><main>',
        f'<section id="settings"><h2>{_esc(t("report.settings"))}</h2>',
        f'<table class="config">{settings}</table>',
        f'<h3>{_esc(t("report.runs"))}</h3>{_runs_table(result, t)}</section>',
        f'<section id="plots"><h2>{_esc(t("report.plots"))}</h2>',
        f'<p class="meta">{_esc(_surface_caption(result, t))}</p>',
        _figure_html(plots_figure(result, t), "plots-figure", True), "</section>",
        f'<section id="data-view"><h2>{_esc(t("report.data"))}</h2>',
        _figure_html(data_figure(result, t), "data-figure", False), "</section>",
        f'<section id="step-panel"><h2>{_esc(t("report.steps"))}</h2>{_steps(result, t)}',
        "</section>", _map_section(result, t), "</main></body></html>\n",
    ])


def _map_section(result: Mapping[str, Any], t: Labels) -> str:
    """The learning-rate map the page computed for this config, as a table (if there is one)."""
    if not result.get("lr_map"):
        return ""
    return (f'<section id="lr-map"><h2>{_esc(t("map.title"))}</h2>'
            f'{table_html(result["lr_map"], t, _esc, fmt, plain)}</section>')
